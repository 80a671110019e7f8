"""truss: test_framework.py::test_raises_yield_no_iterator. `yield`, but a return type that is no iterator."""
# parity: truss rejects

import truss_chains as chains


class Streamer(chains.ChainletBase):
    async def run_remote(self) -> str:  # E@8:35: CSC209
        yield "123"
