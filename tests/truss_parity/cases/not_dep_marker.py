"""truss: test_framework.py::test_raises_not_dep_marker. A Chainlet class as default, without `depends`."""
# parity: truss rejects

import truss_chains as chains


class Parser(chains.ChainletBase):
    def run_remote(self) -> str:
        return "parsed"


@chains.mark_entrypoint
class Compiler(chains.ChainletBase):
    def __init__(self, parser=Parser):  # E@14:24: CSC305
        self.parser = parser

    def run_remote(self) -> str:
        return "compiled"
