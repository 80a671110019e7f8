"""`__init__` is a method: it takes the instance first, as `self`."""

import truss_chains as chains


class Tokenizer(chains.ChainletBase):
    def __init__(this) -> None:  # E@7:18: CSC316
        this.vocabulary = {}

    def run_remote(self, text: str) -> list[str]:
        return text.split()


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    def __init__(*, tokenizer: Tokenizer = chains.depends(Tokenizer)) -> None:  # E@16:9: CSC316
        pass

    def run_remote(self, query: str) -> str:
        return query
