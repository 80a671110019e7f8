"""truss: test_framework.py::test_raises_endpoint_return_not_supported. A return typed `object`."""
# parity: truss rejects

import truss_chains as chains


class Maker(chains.ChainletBase):
    def run_remote(self) -> object:  # E@8:29: CSC206
        return object()
