"""truss: test_framework.py::test_raises_is_healthy_not_type_annotated. No return annotation."""
# parity: truss rejects

import truss_chains as chains


class Probe(chains.ChainletBase):
    def is_healthy(self):  # E@8:9: CSC211
        return True

    async def run_remote(self) -> str:
        return ""
