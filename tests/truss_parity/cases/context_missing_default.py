"""truss: test_framework.py::test_raises_context_missing_default. `context` without `depends_context()`."""
# parity: truss rejects

import truss_chains as chains


class Settings(chains.ChainletBase):
    def __init__(self, context=None):  # E@8:32: CSC305
        self.context = context

    def run_remote(self) -> str:
        return "set"
