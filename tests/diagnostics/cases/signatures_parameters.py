"""Endpoint parameters are sent by name, so each must be listed and typed."""

import truss_chains as chains


class Tagger(chains.ChainletBase):
    def run_remote(self, *texts: str, **options: str) -> list[str]:  # E: CSC202, CSC202
        return list(texts)


class Scorer(chains.ChainletBase):
    def run_remote(self, query: str, document: str, /, boost: float = 1.0) -> float:  # E: CSC203, CSC203
        return boost


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    def __init__(
        self,
        tagger: Tagger = chains.depends(Tagger),
        scorer: Scorer = chains.depends(Scorer),
    ) -> None:
        self._tagger = tagger
        self._scorer = scorer

    async def run_remote(self, query, limit: int = 10):  # E: CSC204, CSC205
        return [query] * limit
