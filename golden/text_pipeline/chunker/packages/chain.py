"""Concurrent text-processing pipeline: chunk -> extract keywords (fan-out) -> summarize.

The entrypoint chunks each document, fans out keyword extraction for all chunks
concurrently and lets a summarizer condense the enriched chunks per document.
I/O models live in `schemas.py`.
"""

import collections
import re

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


class Chunker(chains.ChainletBase):
    """Splits a document into sentence-aligned chunks (sync, CPU bound)."""

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


def _make_chunk(doc_id: str, index: int, text: str, start: int) -> Chunk:
    return Chunk(
        doc_id=doc_id, index=index, text=text, span=Chunk.Span(start=start, end=start + len(text))
    )
