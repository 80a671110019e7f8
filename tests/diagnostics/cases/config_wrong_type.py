"""Each configuration field has a type; the value must match it."""

import truss_chains as chains
from truss.base import truss_config


@chains.mark_entrypoint
class Transcriber(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            pip_requirements="openai-whisper",  # E: CSC403
            apt_requirements=["ffmpeg", 7],  # E: CSC403
            base_image=chains.BasetenImage.PY311,
        ),
        compute=chains.Compute(cpu_count="4"),  # E: CSC403
        assets=chains.Assets(
            cached=[truss_config.ModelRepo(revision="main", use_volume=False)],  # E: CSC403
        ),
        options=chains.ChainletOptions(enable_debug_logs="yes"),  # E: CSC403
        name=42,  # E: CSC403
    )

    def run_remote(self, audio_url: str) -> str:
        return audio_url
