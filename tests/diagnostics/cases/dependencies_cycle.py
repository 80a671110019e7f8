"""Chainlets must form a directed acyclic graph."""

import truss_chains as chains


class Ping(chains.ChainletBase):
    def __init__(self, pong=chains.depends(Pong)) -> None:  # E: CSC303
        self._pong = pong

    def run_remote(self, n: int) -> int:
        return n


class Pong(chains.ChainletBase):
    def __init__(self, ping=chains.depends(Ping)) -> None:  # E: CSC308
        self._ping = ping

    def run_remote(self, n: int) -> int:
        return n


@chains.mark_entrypoint
class Crawler(chains.ChainletBase):
    def __init__(
        self,
        crawler=chains.depends(Crawler, retries=3),  # E: CSC308
        ping: Ping = chains.depends(Ping),
    ) -> None:
        self._crawler = crawler

    async def run_remote(self, url: str, depth: int) -> list[str]:
        return [url]
