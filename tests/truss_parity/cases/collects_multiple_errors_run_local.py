"""truss: test_framework.py::test_collects_multiple_errors_run_local. The same, built in `run_local`.

Building a Chainlet by hand is what `run_local` is for: no error for that.
"""
# parity: truss rejects

import truss_chains as chains


class Muddle(chains.ChainletBase):
    # E@13:24: CSC311
    # E@13:33: CSC305
    def __init__(self, context, helper):
        self.helper = helper

    # E@19:9: CSC201
    # E@19:9: CSC205
    # E@19:30: CSC206
    def run_remote(argument: object): ...


if __name__ == "__main__":
    with chains.run_local():
        Muddle()
