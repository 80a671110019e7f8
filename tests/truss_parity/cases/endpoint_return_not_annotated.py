"""truss: test_framework.py::test_raises_endpoint_return_not_annotated. No return annotation."""
# parity: truss rejects

import truss_chains as chains


class Ping(chains.ChainletBase):
    def run_remote(self):  # E@8:9: CSC205
        return
