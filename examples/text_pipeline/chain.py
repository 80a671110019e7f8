"""Concurrent text-processing pipeline: chunk -> extract keywords (fan-out) -> summarize.

The entrypoint chunks each document, fans out keyword extraction for all chunks
concurrently and lets a summarizer condense the enriched chunks per document.
I/O models live in `schemas.py`.
"""

import asyncio
import collections
import re
import time

import truss_chains as chains
from schemas import (
    Chunk,
    Document,
    EnrichedChunk,
    Mode,
    PipelineConfig,
    PipelineResult,
    TextStats,
)

_cpu_count = 4
SERVICE_NAME = "text-pipeline"
SERVICE_VERSION = "1.4.0"
USER_AGENT = f"{SERVICE_NAME}/{SERVICE_VERSION}"
STOPWORDS = frozenset({"a", "an", "and", "the", "of", "to", "in", "is", "it", "for"})

IMAGE = chains.DockerImage(pip_requirements=["pydantic>=2.6", "regex==2024.11.6"])


class Chunker(chains.ChainletBase):
    """Splits a document into sentence-aligned chunks (sync, CPU bound)."""

    remote_config = chains.RemoteConfig(
        docker_image=IMAGE,
        compute=chains.Compute(cpu_count=_cpu_count, predict_concurrency=_cpu_count * 2),
    )

    def run_remote(
        self, document: Document, config: PipelineConfig
    ) -> tuple[list[Chunk], TextStats]:
        chunks: list[Chunk] = []
        start = 0
        current = ""
        for match in re.finditer(r"[^.!?]+[.!?]?\s*", document.text):
            if current and len(current) + len(match.group()) > config.max_chunk_chars:
                chunks.append(_make_chunk(document.doc_id, len(chunks), current, start))
                start, current = match.start(), ""
            current += match.group()
        if current:
            chunks.append(_make_chunk(document.doc_id, len(chunks), current, start))
        words = document.text.split()
        stats = TextStats(
            num_chars=len(document.text),
            num_words=len(words),
            word_lengths={str(k): v for k, v in collections.Counter(len(w) for w in words).items()},
        )
        return chunks, stats


class KeywordExtractor(chains.ChainletBase):
    """Scores keywords of a single chunk by (stopword-filtered) term frequency."""

    remote_config = chains.RemoteConfig(
        docker_image=IMAGE,
        compute=chains.Compute(cpu_count=2, predict_concurrency="cpu_count"),
        options=chains.ChainletOptions(
            env_variables={"USER_AGENT": USER_AGENT, "STOPWORDS_LANG": "en"},
            enable_debug_logs=True,
        ),
    )

    async def run_remote(self, chunk: Chunk, config: PipelineConfig) -> EnrichedChunk:
        words = [w.strip(".,;:!?").lower() for w in chunk.text.split()]
        counts = collections.Counter(w for w in words if w and w not in STOPWORDS)
        if config.mode == Mode.ACCURATE:
            await asyncio.sleep(0)  # Placeholder for a slower, model-based scorer.
        top = counts.most_common(config.max_keywords)
        total = sum(counts.values()) or 1
        return EnrichedChunk(
            **chunk.model_dump(),
            keywords=[w for w, _ in top],
            keyword_scores={w: c / total for w, c in top},
        )


class Summarizer(chains.ChainletBase):
    """Builds an extractive summary from the enriched chunks of one document."""

    remote_config = chains.RemoteConfig(docker_image=IMAGE)

    async def run_remote(
        self, doc_id: str, chunks: list[EnrichedChunk], style: str = "bullets"
    ) -> PipelineResult.DocumentResult:
        best = max(chunks, key=lambda c: sum(c.keyword_scores.values()), default=None)
        lines = [c.text.strip().split(". ")[0] for c in chunks[:3]]
        summary = (
            "\n".join(f"- {line}" for line in lines) if style == "bullets" else " ".join(lines)
        )
        return PipelineResult.DocumentResult(
            doc_id=doc_id,
            summary=summary,
            chunks=chunks,
            highlight=best.span if best else None,
        )


@chains.mark_entrypoint
class TextPipeline(chains.ChainletBase):
    remote_config = chains.RemoteConfig(docker_image=IMAGE, name="TextPipeline")

    def __init__(
        self,
        chunker: Chunker = chains.depends(Chunker),
        extractor: KeywordExtractor = chains.depends(
            KeywordExtractor, retries=3, timeout_sec=30, concurrency_limit=16
        ),
        summarizer=chains.depends(Summarizer, retries=2),
    ) -> None:
        self._chunker = chunker
        self._extractor = extractor
        self._summarizer = summarizer

    async def run_remote(
        self, documents: list[Document], config: PipelineConfig = PipelineConfig()
    ) -> PipelineResult:
        t0 = time.perf_counter()
        results = await asyncio.gather(*(self._process(doc, config) for doc in documents))
        return PipelineResult(
            mode=config.mode, results=list(results), elapsed_sec=time.perf_counter() - t0
        )

    async def _process(
        self, document: Document, config: PipelineConfig
    ) -> PipelineResult.DocumentResult:
        chunks, stats = await asyncio.to_thread(self._chunker.run_remote, document, config)
        futures = [
            asyncio.ensure_future(self._extractor.run_remote(chunk, config)) for chunk in chunks
        ]
        enriched = await asyncio.gather(*futures)
        result = await self._summarizer.run_remote(
            document.doc_id, list(enriched), style=config.summary_style
        )
        result.stats = stats
        return result


def _make_chunk(doc_id: str, index: int, text: str, start: int) -> Chunk:
    return Chunk(
        doc_id=doc_id, index=index, text=text, span=Chunk.Span(start=start, end=start + len(text))
    )
