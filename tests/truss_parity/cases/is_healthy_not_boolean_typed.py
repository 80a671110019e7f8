"""truss: test_framework.py::test_raises_is_healthy_not_boolean_typed. A return type other than `bool`."""
# parity: truss rejects

import truss_chains as chains


class Probe(chains.ChainletBase):
    def is_healthy(self) -> str:  # E@8:29: CSC211
        return "not ready"

    async def run_remote(self) -> str:
        return ""
