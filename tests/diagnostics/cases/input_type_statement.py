"""A PEP 695 `type` statement is Python 3.12 syntax; chains run on 3.11 by default."""

import truss_chains as chains

type Vector = list[float]  # E: CSC002


class Embedder(chains.ChainletBase):
    def run_remote(self, text: str) -> Vector:
        return [0.0]
