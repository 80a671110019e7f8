"""Concurrent text-processing pipeline: chunk -> extract keywords (fan-out) -> summarize.

The entrypoint chunks each document, fans out keyword extraction for all chunks
concurrently and lets a summarizer condense the enriched chunks per document.
I/O models live in `schemas.py`.
"""

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


class Summarizer(chains.ChainletBase):
    """Builds an extractive summary from the enriched chunks of one document."""

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
