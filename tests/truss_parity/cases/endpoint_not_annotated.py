"""truss: test_framework.py::test_raises_endpoint_not_annotated. A parameter without annotation."""
# parity: truss rejects

import truss_chains as chains


class Echo(chains.ChainletBase):
    def run_remote(self, message) -> None:  # E@8:26: CSC204
        return
