"""truss: test_framework.py::test_raises_without_depends. An `__init__` parameter with no `depends` default."""
# parity: truss rejects

import truss_chains as chains


class Lookup(chains.ChainletBase):
    def __init__(self, store):  # E@8:24: CSC305
        self.store = store

    def run_remote(self) -> str:
        return self.store.run_remote()
