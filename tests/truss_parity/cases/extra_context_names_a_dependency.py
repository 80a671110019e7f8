"""truss: framework.py::_validate_context_arg. `context` names a dependency."""
# parity: truss rejects
# parity: extra

import truss_chains as chains


class Store(chains.ChainletBase):
    def run_remote(self) -> str:
        return "stored"


@chains.mark_entrypoint
class Reader(chains.ChainletBase):
    def __init__(self, context=chains.depends(Store)):  # E@15:24: CSC312
        self.store = context

    def run_remote(self) -> str:
        return "read"
