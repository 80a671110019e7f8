# chainsc: --entrypoint=Summariser
# E@1:1: CSC104
"""`--entrypoint Summariser` is misspelled: the Chainlet is `Summarizer`."""

import truss_chains as chains


class Splitter(chains.ChainletBase):
    def run_remote(self, text: str) -> list[str]:
        return text.split(".")


class Summarizer(chains.ChainletBase):
    def __init__(self, splitter: Splitter = chains.depends(Splitter)) -> None:
        self._splitter = splitter

    def run_remote(self, text: str) -> str:
        return self._splitter.run_remote(text)[0]
