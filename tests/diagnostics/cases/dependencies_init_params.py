"""Chainlets are constructed by the framework: `__init__` takes only dependencies and the context."""

import truss_chains as chains


class Embedder(chains.ChainletBase):
    def run_remote(self, text: str) -> list[float]:
        return [0.0]


class Reranker(chains.ChainletBase):
    def __init__(self, top_k: int = 5, model_name="bge-small") -> None:  # E: CSC305, CSC305
        self._top_k = top_k

    def run_remote(self, query: str, documents: list[str]) -> list[str]:
        return documents[:5]


class Indexer(chains.ChainletBase):
    def __init__(self, embedder=chains.depends(Embedder), /, *extra, **settings) -> None:  # E: CSC310, CSC310, CSC310
        self._embedder = embedder

    def run_remote(self, text: str) -> int:
        return 1


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    def __init__(
        self,
        embedder: Embedder = chains.depends(Embedder),
        query_embedder: Embedder = chains.depends(Embedder, retries=2),  # E: CSC306
        reranker: Reranker = chains.depends(Reranker),
        indexer: Indexer = chains.depends(Indexer),
        context: chains.DeploymentContext = chains.depends_context(),
    ) -> None:
        self._embedder = embedder

    def run_remote(self, query: str) -> list[str]:
        return [query]
