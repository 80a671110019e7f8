"""truss: test_framework.py::test_raises_init_in_function. A helper function builds a Chainlet."""
# parity: truss rejects

import truss_chains as chains


class Cache(chains.ChainletBase):
    def run_remote(self) -> str:
        return "hit"


def make_cache():
    return Cache()  # E@13:12: CSC314


@chains.mark_entrypoint
class Frontend(chains.ChainletBase):
    def __init__(self):
        make_cache()

    def run_remote(self) -> str:
        return "served"
