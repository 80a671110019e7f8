"""Enum members in configuration must exist."""

import truss_chains as chains
from truss.base import truss_config


class Captioner(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(base_image=chains.BasetenImage.PY312),  # E: CSC409
    )

    def run_remote(self, image_url: str) -> str:
        return image_url


@chains.mark_entrypoint
class Gallery(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(gpu=truss_config.Accelerator.A10),  # E: CSC409
    )

    def __init__(self, captioner: Captioner = chains.depends(Captioner)) -> None:
        self._captioner = captioner

    def run_remote(self, image_url: str) -> str:
        return image_url
