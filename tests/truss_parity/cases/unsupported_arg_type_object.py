"""truss: test_framework.py::test_raises_unsupported_arg_type_object. A parameter typed `object`."""
# parity: truss rejects

import truss_chains as chains


class Sink(chains.ChainletBase):
    def run_remote(self, value: object) -> None:  # E@8:33: CSC206
        return
