"""`is_healthy` is called by the server with no arguments and must return a bool."""

import truss_chains as chains


class Cache(chains.ChainletBase):
    def is_healthy(self, timeout: float = 1.0) -> bool:  # E: CSC211
        return timeout > 0

    def run_remote(self, key: str) -> str:
        return key


class Store(chains.ChainletBase):
    def is_healthy(self) -> str:  # E: CSC211
        return "ok"

    def run_remote(self, key: str) -> str:
        return key


@chains.mark_entrypoint
class Frontend(chains.ChainletBase):
    def __init__(
        self,
        cache: Cache = chains.depends(Cache),
        store: Store = chains.depends(Store),
    ) -> None:
        self._cache = cache
        self._store = store

    async def is_healthy(self):  # E: CSC211
        return True

    def run_remote(self, key: str) -> str:
        return self._cache.run_remote(key)
