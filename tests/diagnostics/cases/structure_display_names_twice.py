"""Two Chainlets deployed under one name: reported at the second `name=`, with a note at the first."""

import truss_chains as chains

SERVICE = "search"


class Dense(chains.ChainletBase):
    remote_config = chains.RemoteConfig(name=SERVICE)

    def run_remote(self, query: str) -> list[str]:
        return [query]


class Sparse(chains.ChainletBase):
    remote_config = chains.RemoteConfig(name="search")  # E@16:46: CSC107

    def run_remote(self, query: str) -> list[str]:
        return [query]


@chains.mark_entrypoint
class Hybrid(chains.ChainletBase):
    def __init__(
        self,
        dense: Dense = chains.depends(Dense),
        sparse: Sparse = chains.depends(Sparse),
    ) -> None:
        self._dense = dense
        self._sparse = sparse

    def run_remote(self, query: str) -> list[str]:
        return self._dense.run_remote(query) + self._sparse.run_remote(query)
