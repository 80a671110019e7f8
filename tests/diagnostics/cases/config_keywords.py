"""Configuration constructors take the documented keyword arguments only."""

import truss_chains as chains


class Embedder(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(cpus=4, memory="8Gi"),  # E: CSC402
        docker_image=chains.DockerImage(pip_requirement=["torch"]),  # E: CSC402
    )

    def run_remote(self, text: str) -> list[float]:
        return [0.0]


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        chains.DockerImage(pip_requirements=["faiss-cpu"]),  # E: CSC410
        compute=chains.Compute(2, "4Gi", "T4", 1, 8, "cpu-large", "extra"),  # E: CSC410
        assets=chains.Assets(secret_keys=["hf_access_token"], timeout=30),  # E: CSC402
    )

    def __init__(self, embedder: Embedder = chains.depends(Embedder)) -> None:
        self._embedder = embedder

    def run_remote(self, query: str) -> list[str]:
        return [query]
