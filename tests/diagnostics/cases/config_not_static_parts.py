"""Every part of a `remote_config` that is not static is reported, in one run."""

import os

import truss_chains as chains

REGION = os.environ["REGION"]  # E@7:10: CSC401


@chains.mark_entrypoint
class Summarizer(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            pip_requirements=["transformers", os.environ["TORCH_SPEC"]],  # E@14:47: CSC401
        ),
        compute=chains.Compute(cpu_count=os.cpu_count()),  # E@16:42: CSC401
        # A name is followed to its value: reported where that is not static.
        options=chains.ChainletOptions(env_variables={"REGION": REGION}),
        name="summarizer-gpu" if os.environ.get("GPU") else "summarizer",  # E@19:34: CSC401
    )

    def run_remote(self, text: str) -> str:
        return text
