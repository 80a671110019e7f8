"""truss: test_framework.py::test_raises_is_healthy_not_a_method. `is_healthy` as a class attribute."""
# parity: truss rejects

import truss_chains as chains


class Probe(chains.ChainletBase):
    is_healthy: int = 3  # E@8:5: CSC211

    async def run_remote(self) -> str:
        return ""
