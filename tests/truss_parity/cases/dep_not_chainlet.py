"""truss: test_framework.py::test_raises_dep_not_chainlet. `depends` given a class that is no Chainlet."""
# parity: truss rejects

import truss_chains as chains


@chains.mark_entrypoint
class Caller(chains.ChainletBase):
    def __init__(self, options=chains.depends(chains.RPCOptions)):  # E@9:47: CSC302
        self.options = options

    def run_remote(self) -> str:
        return "called"
