"""A deprecated spelling Truss still takes works, with a warning that shows the current one;
those Truss 0.18.36 refuses (a plain-string `base_image`, `ModelRepo` without `use_volume`) are errors."""

import truss_chains as chains
from truss.base import truss_config


@chains.mark_entrypoint
class Llm(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            base_image="python:3.11-slim",  # E: CSC403
            pip_requirements_file=chains.make_abs_path_here("requirements.txt"),  # W: CSC450
        ),
        assets=chains.Assets(
            cached=[truss_config.ModelRepo(repo_id="meta-llama/Llama-3.1-8B")],  # E: CSC403
            secret_keys=["hf_access_token"],
        ),
    )

    def run_remote(self, prompt: str) -> str:
        return prompt
