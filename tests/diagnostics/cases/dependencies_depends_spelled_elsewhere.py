"""Text that spells `chains.depends(...)` is no call of it; a call through an alias is one."""

import truss_chains as chains

needs = chains.depends


class Retriever(chains.ChainletBase):
    """Bound by the Generator with `chains.depends(Retriever)`, spelled `needs(Retriever)`."""

    def run_remote(self, query: str) -> list[str]:
        return [query]


@chains.mark_entrypoint
class Generator(chains.ChainletBase):
    def __init__(self, retriever: Retriever = needs(Retriever)) -> None:
        self._retriever = retriever

    def run_remote(self, query: str) -> str:
        # Not `depends(` of an `__init__` default, however it is written:
        other = chains.depends(Retriever)  # E: CSC304
        return " ".join(self._retriever.run_remote(query)) + str(other)
