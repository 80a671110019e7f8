"""truss: framework.py::_validate_context_arg. The context under another name than `context`."""
# parity: truss rejects
# parity: extra

import truss_chains as chains


class Secrets(chains.ChainletBase):
    def __init__(self, ctx: chains.DeploymentContext = chains.depends_context()):  # E@9:24: CSC312
        self.ctx = ctx

    def run_remote(self) -> str:
        return "secret"
