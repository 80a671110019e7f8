"""truss: test_framework.py::test_collects_multiple_errors. Several mistakes in one Chainlet, all reported."""
# parity: truss rejects

import truss_chains as chains


class Muddle(chains.ChainletBase):
    # E@10:24: CSC311
    # E@10:33: CSC305
    def __init__(self, context, helper):
        self.helper = helper

    # E@16:9: CSC201
    # E@16:9: CSC205
    # E@16:30: CSC206
    def run_remote(argument: object): ...
