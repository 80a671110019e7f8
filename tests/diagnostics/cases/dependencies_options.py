"""`depends(X, retries=, timeout_sec=, use_binary=, concurrency_limit=)` values are checked."""

import truss_chains as chains


class Fetcher(chains.ChainletBase):
    def run_remote(self, url: str) -> bytes:
        return b""


class Parser(chains.ChainletBase):
    def run_remote(self, html: bytes) -> str:
        return html.decode()


class Ranker(chains.ChainletBase):
    def run_remote(self, text: str) -> float:
        return 0.0


@chains.mark_entrypoint
class Crawler(chains.ChainletBase):
    def __init__(
        self,
        fetcher=chains.depends(Fetcher, retries=-1, timeout_sec=0),  # E: CSC309, CSC309
        parser=chains.depends(Parser, concurrency_limit=0, timeout=30),  # E: CSC309, CSC402
        ranker=chains.depends(Ranker, use_binary="yes"),  # E: CSC403
    ) -> None:
        self._fetcher = fetcher

    def run_remote(self, url: str) -> str:
        return url
