"""truss: test_framework.py::test_raises_is_healthy_multiple_args. A parameter after `self`."""
# parity: truss rejects

import truss_chains as chains


class Probe(chains.ChainletBase):
    def is_healthy(self, hi) -> bool:  # E@8:26: CSC211
        return True

    async def run_remote(self) -> str:
        return ""
