"""Concurrent text-processing pipeline: chunk -> extract keywords (fan-out) -> summarize.

The entrypoint chunks each document, fans out keyword extraction for all chunks
concurrently and lets a summarizer condense the enriched chunks per document.
I/O models live in `schemas.py`.
"""

import asyncio
import time

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


from chainsc_generated.clients import Chunker
from chainsc_generated.clients import KeywordExtractor
from chainsc_generated.clients import Summarizer


@chains.mark_entrypoint
class TextPipeline(chains.ChainletBase):
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
