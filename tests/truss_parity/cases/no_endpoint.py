"""truss: test_framework.py::test_raises_no_endpoint. A misspelled endpoint: no `run_remote`."""
# parity: truss rejects

import truss_chains as chains


class Worker(chains.ChainletBase):  # E@7:7: CSC109
    def rum_remote(self) -> str:
        return "done"
