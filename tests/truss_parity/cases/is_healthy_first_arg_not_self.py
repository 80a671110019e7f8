"""truss: test_framework.py::test_raises_is_healthy_first_arg_not_self. Its first parameter is not `self`."""
# parity: truss rejects

import truss_chains as chains


class Probe(chains.ChainletBase):
    def is_healthy(hi) -> bool:  # E@8:20: CSC211
        return True

    async def run_remote(self) -> str:
        return ""
