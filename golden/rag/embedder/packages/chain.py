"""Retrieval-augmented generation (RAG) over a small in-memory FAQ corpus.

The entrypoint embeds the question with the `Embedder` chainlet, scores the corpus
by cosine similarity, lets the `Reranker` chainlet re-order the best candidates and
asks an *already deployed* LLM (wrapped by `LLMClient`, a `chains.StubBase`) to
answer from the retrieved passages.
"""

import hashlib
import math

import pydantic
import chainsc_runtime as chains

EMBEDDING_DIM = 384


class Embeddings(pydantic.BaseModel):
    vectors: list[list[float]]


class Embedder(chains.ChainletBase):
    """Embeds texts with a sentence-transformer (hashing fallback for local runs)."""

    def __init__(self, context: chains.DeploymentContext = chains.depends_context()) -> None:
        self._model = None
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:  # Local development without the heavy dependencies.
            return
        self._model = SentenceTransformer(
            "/app/model_cache/bge-small", token=context.secrets["hf_access_token"]
        )

    async def run_remote(self, texts: list[str]) -> Embeddings:
        if self._model is not None:
            vectors = self._model.encode(texts, normalize_embeddings=True).tolist()
        else:
            vectors = [_hash_embedding(text) for text in texts]
        return Embeddings(vectors=vectors)


def _hash_embedding(text: str) -> list[float]:
    vector = [0.0] * EMBEDDING_DIM
    for token in text.lower().split():
        vector[int(hashlib.md5(token.encode()).hexdigest(), 16) % EMBEDDING_DIM] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]
