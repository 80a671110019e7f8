"""Chainlets under `if`/`else` are chosen by a test chainsc can decide: a module constant."""

import os

import truss_chains as chains

ON_GPU = os.environ.get("ON_GPU") == "1"

if ON_GPU:  # E@9:4: CSC114

    class Embedder(chains.ChainletBase):
        remote_config = chains.RemoteConfig(compute=chains.Compute(gpu="T4"))

        def run_remote(self, text: str) -> list[float]:
            return [1.0]

else:

    class Embedder(chains.ChainletBase):
        def run_remote(self, text: str) -> list[float]:
            return [0.0]


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    def __init__(self, embedder: Embedder = chains.depends(Embedder)) -> None:
        self._embedder = embedder

    def run_remote(self, query: str) -> list[float]:
        return self._embedder.run_remote(query)
