"""truss: test_framework.py::test_raises_iterator_no_yield. An iterator return type, but no `yield`."""
# parity: truss rejects

from typing import AsyncIterator

import truss_chains as chains


class Streamer(chains.ChainletBase):
    async def run_remote(self) -> AsyncIterator[str]:  # E@10:35: CSC208
        return "123"
