"""truss: test_framework.py::test_raises_init_in_run. A Chainlet built by hand in `run_remote`."""
# parity: truss rejects

import truss_chains as chains


class Scorer(chains.ChainletBase):
    def run_remote(self) -> str:
        return "score"


@chains.mark_entrypoint
class Ranker(chains.ChainletBase):
    def run_remote(self) -> str:
        Scorer()  # E@15:9: CSC314
        return "ranked"
