"""Endpoint I/O crosses the network as JSON: every type must serialize."""

from collections.abc import Callable, Iterator

import truss_chains as chains


class Document:
    def __init__(self, text: str) -> None:
        self.text = text


class Indexer(chains.ChainletBase):
    def run_remote(
        self,
        document: Document,  # E: CSC206
        on_done: Callable[[str], None],  # E: CSC206
        tags: set[str],  # E: CSC206
        weights: dict[int, float],  # E: CSC206
        pages: Iterator[str],  # E: CSC206
    ) -> int:
        return len(document.text)


@chains.mark_entrypoint
class Uploader(chains.ChainletBase):
    def __init__(self, indexer: Indexer = chains.depends(Indexer)) -> None:
        self._indexer = indexer

    def run_remote(self, url: str) -> tuple[int, object]:  # E: CSC206
        return 0, None
