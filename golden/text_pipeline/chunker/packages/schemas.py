"""Pydantic I/O models of the text pipeline.

This module uses `from __future__ import annotations` (all annotations are strings
until pydantic resolves them). That is fine for pydantic models, but truss rejects
string annotations on `run_remote` signatures, so the Chainlets live in `chain.py`,
which does not use the future import.
"""

from __future__ import annotations

import enum
from typing import Dict, List, Literal, Optional

import pydantic


class Mode(str, enum.Enum):
    """How much effort the pipeline spends per chunk."""

    FAST = "fast"
    ACCURATE = "accurate"


class Document(pydantic.BaseModel):
    doc_id: str
    text: str
    language: Optional[str] = None
    tags: List[str] = pydantic.Field(default_factory=list)
    metadata: Dict[str, str] = pydantic.Field(default_factory=dict)


class PipelineConfig(pydantic.BaseModel):
    mode: Mode = pydantic.Field(default=Mode.FAST, description="Extraction effort.")
    max_chunk_chars: int = pydantic.Field(
        default=400, description="Upper bound for the size of a chunk in characters."
    )
    summary_style: Literal["bullets", "paragraph"] = "bullets"
    max_keywords: int | None = pydantic.Field(
        default=5, description="Keywords kept per chunk; `None` keeps all."
    )


class Chunk(pydantic.BaseModel):
    """A contiguous piece of a document."""

    class Span(pydantic.BaseModel):
        start: int
        end: int

    doc_id: str
    index: int
    text: str
    span: Span


class EnrichedChunk(Chunk):
    """A chunk with extraction results attached (inherits all `Chunk` fields)."""

    keywords: list[str] = pydantic.Field(default_factory=list)
    keyword_scores: dict[str, float] = pydantic.Field(default_factory=dict)
    sentiment: float | None = None


class TextStats(pydantic.BaseModel):
    num_chars: int
    num_words: int
    word_lengths: Dict[str, int] = pydantic.Field(
        default_factory=dict, description="Histogram: word length (as a string) -> count."
    )


class PipelineResult(pydantic.BaseModel):
    class DocumentResult(pydantic.BaseModel):
        doc_id: str
        summary: str
        chunks: List[EnrichedChunk]
        stats: Optional[TextStats] = None
        highlight: Optional[Chunk.Span] = None

    mode: Mode
    results: list[DocumentResult]
    elapsed_sec: float = 0.0
