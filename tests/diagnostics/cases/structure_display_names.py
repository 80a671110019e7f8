"""Display names must be valid and unique: they name the deployed services."""

import truss_chains as chains


class Embedder(chains.ChainletBase):
    remote_config = chains.RemoteConfig(name="text embedder")  # E@7:46: CSC106

    def run_remote(self, text: str) -> list[float]:
        return [float(len(text))]


class Ranker(chains.ChainletBase):
    remote_config = chains.RemoteConfig(name="Retriever")

    def run_remote(self, query: str) -> list[str]:
        return [query]


@chains.mark_entrypoint
class Retriever(chains.ChainletBase):  # E: CSC107
    def __init__(
        self,
        embedder: Embedder = chains.depends(Embedder),
        ranker: Ranker = chains.depends(Ranker),
    ) -> None:
        self._embedder = embedder
        self._ranker = ranker

    def run_remote(self, query: str) -> list[str]:
        return self._ranker.run_remote(query)
