"""Values Truss's own config models refuse, found before a deploy does."""

import truss_chains as chains
from truss.base import truss_config

LLAMA = truss_config.ModelRepo(
    repo_id="meta-llama/Llama-3.1-8B",
    use_volume=True,
    volume_folder="llama",
)  # E@6:9: CSC415


@chains.mark_entrypoint
class Generator(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            base_image=chains.CustomImage(
                image="nvcr.io/nvidia/pytorch:24.01-py3",
                python_executable_path="python3",  # E@19:40: CSC415
            ),
            truss_server_version_override="latest",  # E@21:43: CSC415
        ),
        assets=chains.Assets(
            cached=[LLAMA],
            weights=[
                truss_config.WeightsSource(
                    source="s3://models/llama@v2",  # E@27:28: CSC415
                    mount_location="weights/llama",  # E@28:36: CSC415
                ),
            ],
        ),
        options=chains.ChainletOptions(health_checks={"restart_threshold_seconds": 600}),
    )

    def run_remote(self, prompt: str) -> str:
        return prompt
