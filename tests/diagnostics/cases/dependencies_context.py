"""Truss passes the deployment context to the last `__init__` parameter, `context`, typed `DeploymentContext`."""

import truss_chains as chains


class Store(chains.ChainletBase):
    def run_remote(self, key: str) -> str:
        return key


class Cache(chains.ChainletBase):
    def __init__(
        self,
        context: chains.DeploymentContext = chains.depends_context(),  # E@14:9: CSC311
        store: Store = chains.depends(Store),
    ) -> None:
        self._store = store

    def run_remote(self, key: str) -> str:
        return key


class Index(chains.ChainletBase):
    def __init__(self, ctx=chains.depends_context()) -> None:  # E@24:24: CSC312
        self._secrets = ctx.secrets

    def run_remote(self, key: str) -> str:
        return key


class Ranker(chains.ChainletBase):
    def __init__(self, context: dict = chains.depends_context()) -> None:  # E@32:33: CSC313
        self._secrets = context["secrets"]

    def run_remote(self, key: str) -> str:
        return key


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    def __init__(
        self,
        cache: Cache = chains.depends(Cache),
        index: Index = chains.depends(Index),
        ranker: Ranker = chains.depends(Ranker),
        context=None,  # E@46:17: CSC305
    ) -> None:
        self._cache = cache

    def run_remote(self, query: str) -> str:
        return query
