"""truss: framework.py::_ChainletInitValidator._validate_self_arg. `__init__` without `self`."""
# parity: truss rejects
# parity: extra

import truss_chains as chains


class Counter(chains.ChainletBase):
    def __init__(this):  # E@9:18: CSC316
        this.count = 0

    def run_remote(self) -> int:
        return 0
