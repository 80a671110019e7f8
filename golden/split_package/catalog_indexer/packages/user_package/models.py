"""Pydantic models shared by the catalog chainlets."""

from typing import Optional

import pydantic


class Item(pydantic.BaseModel):
    sku: str
    title: str
    description: str
    price_cents: int = pydantic.Field(ge=0)
    category: Optional[str] = None


class TextBlock(pydantic.BaseModel):
    index: int
    text: str
    num_words: int


class SplitResult(pydantic.BaseModel):
    blocks: list[TextBlock]
    truncated: bool = False


class IndexEntry(pydantic.BaseModel):
    sku: str
    block_index: int
    text: str
    top_terms: list[str]
    norm: float
