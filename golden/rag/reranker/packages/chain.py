"""Retrieval-augmented generation (RAG) over a small in-memory FAQ corpus.

The entrypoint embeds the question with the `Embedder` chainlet, scores the corpus
by cosine similarity, lets the `Reranker` chainlet re-order the best candidates and
asks an *already deployed* LLM (wrapped by `LLMClient`, a `chains.StubBase`) to
answer from the retrieved passages.
"""

import pydantic
import chainsc_runtime as chains


class Passage(pydantic.BaseModel):
    doc_id: int
    text: str
    score: float = 0.0


class Reranker(chains.ChainletBase):
    """Cross-encoder that re-scores (query, passage) pairs."""

    async def run_remote(self, query: str, passages: list[Passage]) -> list[Passage]:
        query_terms = set(query.lower().split())
        for passage in passages:
            passage.score += 0.1 * len(query_terms & set(passage.text.lower().split()))
        return sorted(passages, key=lambda p: p.score, reverse=True)
