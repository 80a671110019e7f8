"""truss: test_framework.py::test_raises_is_healthy_no_arg. `is_healthy` without `self`."""
# parity: truss rejects

import truss_chains as chains


class Probe(chains.ChainletBase):
    async def is_healthy() -> bool:  # E@8:15: CSC211
        return True

    async def run_remote(self) -> str:
        return ""
