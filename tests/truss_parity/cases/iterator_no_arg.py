"""truss: test_framework.py::test_raises_iterator_no_arg. An iterator without its item type."""
# parity: truss rejects

from typing import AsyncIterator

import truss_chains as chains


class Streamer(chains.ChainletBase):
    async def run_remote(self) -> AsyncIterator:  # E@10:35: CSC210
        yield "123"
