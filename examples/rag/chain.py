"""Retrieval-augmented generation (RAG) over a small in-memory FAQ corpus.

The entrypoint embeds the question with the `Embedder` chainlet, scores the corpus
by cosine similarity, lets the `Reranker` chainlet re-order the best candidates and
asks an *already deployed* LLM (wrapped by `LLMClient`, a `chains.StubBase`) to
answer from the retrieved passages.
"""

import hashlib
import json
import math

import pydantic
import truss_chains as chains
from truss.base import truss_config

LLM_PREDICT_URL = "https://model-4q9d7x2w.api.baseten.co/environments/production/predict"
EMBEDDING_DIM = 384
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


class Embedder(chains.ChainletBase):
    """Embeds texts with a sentence-transformer (hashing fallback for local runs)."""

    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(pip_requirements=["sentence-transformers==3.3.1"]),
        compute=chains.Compute(cpu_count=4, memory="16Gi", gpu="A10G"),
        assets=chains.Assets(
            cached=[
                truss_config.ModelRepo(
                    repo_id="BAAI/bge-small-en-v1.5",
                    revision="5c38ec7c405ec4b44b94cc5a9bb96e735b38267a",
                    use_volume=True,
                    volume_folder="bge-small",
                )
            ],
            secret_keys=["hf_access_token"],
        ),
    )

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


class Reranker(chains.ChainletBase):
    """Cross-encoder that re-scores (query, passage) pairs."""

    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(pip_requirements=["FlagEmbedding==1.3.3"]),
        compute=chains.Compute(
            cpu_count=8, memory="64Gi", gpu=truss_config.Accelerator.H100, gpu_count=2
        ),
        assets=chains.Assets(
            cached=[
                truss_config.ModelRepo(
                    repo_id="BAAI/bge-reranker-v2-m3",
                    revision="953dc6f6f85a1b2dbfca4c34a2796e7dde08d41e",
                    allow_patterns=["*.json", "*.safetensors", "*.model"],
                    use_volume=True,
                    volume_folder="bge-reranker",
                )
            ],
            secret_keys=["hf_access_token"],
        ),
    )

    async def run_remote(self, query: str, passages: list[Passage]) -> list[Passage]:
        query_terms = set(query.lower().split())
        for passage in passages:
            passage.score += 0.1 * len(query_terms & set(passage.text.lower().split()))
        return sorted(passages, key=lambda p: p.score, reverse=True)


@chains.mark_entrypoint
class RAG(chains.ChainletBase):
    """Answers a question using retrieved passages and a deployed LLM."""

    remote_config = chains.RemoteConfig(
        compute=chains.Compute(cpu_count=2, memory="4Gi"),
        assets=chains.Assets(
            external_data=[
                truss_config.ExternalDataItem(
                    url="https://example-bucket.s3.amazonaws.com/faq/corpus-2024-06.json",
                    local_data_path="corpus.json",
                )
            ]
        ),
    )

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


def _hash_embedding(text: str) -> list[float]:
    vector = [0.0] * EMBEDDING_DIM
    for token in text.lower().split():
        vector[int(hashlib.md5(token.encode()).hexdigest(), 16) % EMBEDDING_DIM] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))  # Vectors are L2-normalized.
