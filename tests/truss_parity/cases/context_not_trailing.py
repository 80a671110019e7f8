"""truss: test_framework.py::test_raises_context_not_trailing. `context` before a dependency."""
# parity: truss rejects

import truss_chains as chains


class Fetcher(chains.ChainletBase):
    def run_remote(self) -> str:
        return "fetched"


@chains.mark_entrypoint
class Crawler(chains.ChainletBase):
    def __init__(self, context, fetcher=chains.depends(Fetcher)):  # E@14:24: CSC311
        self.fetcher = fetcher

    def run_remote(self) -> str:
        return self.fetcher.run_remote()
