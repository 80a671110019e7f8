"""A Chainlet needs `run_remote`; a `ModelBase` needs `predict`."""

import truss_chains as chains


class Vectorizer(chains.ModelBase):  # E: CSC109
    def run_remote(self, text: str) -> list[float]:
        return [0.0]


@chains.mark_entrypoint
class Search(chains.ChainletBase):  # E: CSC109
    def __init__(self, vectorizer: Vectorizer = chains.depends(Vectorizer)) -> None:
        self._vectorizer = vectorizer

    def run(self, query: str) -> list[str]:
        return [query]
