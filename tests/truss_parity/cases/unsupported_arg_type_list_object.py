"""truss: test_framework.py::test_raises_unsupported_arg_type_list_object. A parameter typed `list[object]`."""
# parity: truss rejects

import truss_chains as chains


class Counter(chains.ChainletBase):
    def run_remote(self, items: list[object]) -> None:  # E@8:38: CSC206
        return
