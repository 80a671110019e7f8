"""truss: test_framework.py::test_raises_endpoint_no_method. A static `run_remote`."""
# parity: truss rejects

import truss_chains as chains


class Clock(chains.ChainletBase):
    @staticmethod  # E@8:5: CSC201
    def run_remote() -> None:
        return
