"""Retrieval-augmented generation (RAG) over a small in-memory FAQ corpus.

The entrypoint embeds the question with the `Embedder` chainlet, scores the corpus
by cosine similarity, lets the `Reranker` chainlet re-order the best candidates and
asks an *already deployed* LLM (wrapped by `LLMClient`, a `chains.StubBase`) to
answer from the retrieved passages.
"""

import json

import pydantic
import chainsc_runtime as chains

LLM_PREDICT_URL = "https://model-4q9d7x2w.api.baseten.co/environments/production/predict"
TOP_K = 3

CORPUS: list[str] = [
    "Chains are composed of Chainlets that call each other over HTTP.",
    "Each Chainlet is deployed as its own autoscaling service.",
    "Secrets are configured in the workspace settings and listed per Chainlet.",
]


class Passage(pydantic.BaseModel):
    doc_id: int
    text: str
    score: float = 0.0


class Embeddings(pydantic.BaseModel):
    vectors: list[list[float]]


class RAGResponse(pydantic.BaseModel):
    answer: str
    sources: list[Passage]


class LLMClient(chains.StubBase):
    """Typed client for an LLM truss that was deployed independently of this chain."""

    async def run_remote(self, prompt: str, max_tokens: int = 256) -> str:
        payload = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.1}
        response = await self.predict_async(inputs=payload)
        return response["output"]


from chainsc_generated.clients import Embedder
from chainsc_generated.clients import Reranker


@chains.mark_entrypoint
class RAG(chains.ChainletBase):
    """Answers a question using retrieved passages and a deployed LLM."""

    def __init__(
        self,
        embedder: Embedder = chains.depends(Embedder),
        reranker: Reranker = chains.depends(Reranker, retries=2, timeout_sec=60),
        context: chains.DeploymentContext = chains.depends_context(),
    ) -> None:
        self._embedder = embedder
        self._reranker = reranker
        self._llm = LLMClient.from_url(LLM_PREDICT_URL, context)
        self._corpus = list(CORPUS)
        if context.data_dir and (context.data_dir / "corpus.json").exists():
            self._corpus += json.loads((context.data_dir / "corpus.json").read_text())
        self._doc_vectors: list[list[float]] = []

    async def run_remote(self, question: str, top_k: int = TOP_K) -> RAGResponse:
        if not self._doc_vectors:
            self._doc_vectors = (await self._embedder.run_remote(self._corpus)).vectors
        query_vector = (await self._embedder.run_remote([question])).vectors[0]
        candidates = sorted(
            (
                Passage(doc_id=i, text=t, score=_cosine(query_vector, self._doc_vectors[i]))
                for i, t in enumerate(self._corpus)
            ),
            key=lambda p: p.score,
            reverse=True,
        )
        ranked = await self._reranker.run_remote(question, candidates[: top_k * 2])
        context_block = "\n".join(f"[{p.doc_id}] {p.text}" for p in ranked[:top_k])
        prompt = f"Answer only from these passages:\n{context_block}\n\nQuestion: {question}"
        return RAGResponse(answer=await self._llm.run_remote(prompt), sources=ranked[:top_k])


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))  # Vectors are L2-normalized.
