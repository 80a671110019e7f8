"""`Compute(...)`: resources the platform must be able to provision."""

import truss_chains as chains


class Preprocessor(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(cpu_count=0, memory="4 GB"),  # E: CSC404, CSC405
    )

    def run_remote(self, image_url: str) -> bytes:
        return b""


class Detector(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(gpu="A100-80GB", predict_concurrency=0),  # E: CSC406, CSC408
    )

    def run_remote(self, image: bytes) -> list[str]:
        return []


class Tagger(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(memory="500m"),  # E: CSC405
    )

    def run_remote(self, image: bytes) -> list[str]:
        return []


@chains.mark_entrypoint
class Vision(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(cpu_count=4, gpu_count=2, predict_concurrency="auto"),  # E: CSC407, CSC408
    )

    def __init__(
        self,
        preprocessor: Preprocessor = chains.depends(Preprocessor),
        detector: Detector = chains.depends(Detector),
        tagger: Tagger = chains.depends(Tagger),
    ) -> None:
        self._detector = detector

    def run_remote(self, image_url: str) -> list[str]:
        return []
