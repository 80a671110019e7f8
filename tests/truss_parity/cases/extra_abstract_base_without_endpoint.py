"""truss: framework.py::validate_and_register_cls. A base Chainlet is validated too: it needs `run_remote`."""
# parity: truss rejects
# parity: extra

import truss_chains as chains


class Base(chains.ChainletBase):  # E@8:7: CSC109
    def __init__(self, context=chains.depends_context()):
        self.context = context


@chains.mark_entrypoint
class Worker(Base):
    def run_remote(self) -> str:
        return "worked"
