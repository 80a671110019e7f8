"""Truss validates every Chainlet class, a base that only others derive from included."""

import truss_chains as chains


class Base(chains.ChainletBase):  # E@6:7: CSC109
    def __init__(self, context: chains.DeploymentContext = chains.depends_context()) -> None:
        self._secrets = context.secrets

    def is_healthy(self, deep: bool) -> bool:  # E@10:26: CSC211
        return True


@chains.mark_entrypoint
class Worker(Base):
    def run_remote(self, text: str) -> str:
        return text
