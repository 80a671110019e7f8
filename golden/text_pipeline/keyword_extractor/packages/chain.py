"""Concurrent text-processing pipeline: chunk -> extract keywords (fan-out) -> summarize.

The entrypoint chunks each document, fans out keyword extraction for all chunks
concurrently and lets a summarizer condense the enriched chunks per document.
I/O models live in `schemas.py`.
"""

import asyncio
import collections

import chainsc_runtime as chains
from schemas import (
    Chunk,
    Document,
    EnrichedChunk,
    Mode,
    PipelineConfig,
    PipelineResult,
    TextStats,
)

STOPWORDS = frozenset({"a", "an", "and", "the", "of", "to", "in", "is", "it", "for"})


class KeywordExtractor(chains.ChainletBase):
    """Scores keywords of a single chunk by (stopword-filtered) term frequency."""

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
