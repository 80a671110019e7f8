"""Embeds passages and ranks them against a query; the types live in a namespace package."""

import math

import shared_types.embeddings

import truss_chains as chains

DIMENSIONS = 8


class Embedder(chains.ChainletBase):
    def run_remote(self, text: str) -> shared_types.embeddings.Embedding:
        vector = [0.0] * DIMENSIONS
        for word in text.lower().split():
            vector[sum(map(ord, word)) % DIMENSIONS] += 1.0
        norm = math.sqrt(sum(value * value for value in vector)) or 1.0
        return [value / norm for value in vector]


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    def __init__(self, embedder: Embedder = chains.depends(Embedder)) -> None:
        self._embedder = embedder

    def run_remote(
        self, query: str, passages: list[shared_types.embeddings.Passage]
    ) -> list[shared_types.embeddings.ScoredPassage]:
        target = self._embedder.run_remote(query)
        scored = []
        for passage in passages:
            vector = self._embedder.run_remote(passage.text)
            score = sum(a * b for a, b in zip(target, vector))
            scored.append(shared_types.embeddings.ScoredPassage(passage_id=passage.passage_id, score=score))
        return sorted(scored, key=lambda item: -item.score)
