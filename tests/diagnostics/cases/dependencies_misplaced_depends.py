"""`depends(...)` / `depends_context()` only work as `__init__` parameter defaults."""

import truss_chains as chains


class Retriever(chains.ChainletBase):
    def run_remote(self, query: str) -> list[str]:
        return [query]


RETRIEVER = chains.depends(Retriever)  # E: CSC304


@chains.mark_entrypoint
class Generator(chains.ChainletBase):
    def __init__(self, retriever: Retriever = chains.depends(Retriever)) -> None:
        self._retriever = retriever
        self._context = chains.depends_context()  # E: CSC304

    def run_remote(self, query: str) -> str:
        retriever = chains.depends(Retriever)  # E: CSC304
        return " ".join(retriever.run_remote(query))
