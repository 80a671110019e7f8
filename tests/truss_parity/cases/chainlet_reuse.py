"""truss: test_framework.py::test_raises_chainlet_reuse. One Chainlet bound to two parameters."""
# parity: truss rejects

import truss_chains as chains


class Vectorizer(chains.ChainletBase):
    def run_remote(self) -> str:
        return "vector"


@chains.mark_entrypoint
class Indexer(chains.ChainletBase):
    def __init__(
        self,
        first=chains.depends(Vectorizer),
        second=chains.depends(Vectorizer),  # E@17:31: CSC306
    ):
        self.first = first

    def run_remote(self) -> None:
        return
