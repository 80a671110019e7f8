"""A dependency must be defined above the Chainlet that uses it."""

import truss_chains as chains


@chains.mark_entrypoint
class Frontend(chains.ChainletBase):
    def __init__(self, backend=chains.depends(Backend)) -> None:  # E: CSC303
        self._backend = backend

    def run_remote(self, query: str) -> str:
        return self._backend.run_remote(query)


class Backend(chains.ChainletBase):
    def run_remote(self, query: str) -> str:
        return query
