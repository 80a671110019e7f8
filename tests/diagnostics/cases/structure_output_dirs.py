"""`TextSplitter` and `text-splitter` would both be written to `text_splitter/`."""

import truss_chains as chains


class TextSplitter(chains.ChainletBase):
    def run_remote(self, text: str) -> list[str]:
        return text.split()


@chains.mark_entrypoint
class Indexer(chains.ChainletBase):
    remote_config = chains.RemoteConfig(name="text-splitter")  # E@13:46: CSC108

    def __init__(self, splitter: TextSplitter = chains.depends(TextSplitter)) -> None:
        self._splitter = splitter

    def run_remote(self, text: str) -> int:
        return len(self._splitter.run_remote(text))
