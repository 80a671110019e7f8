"""Pydantic models shared by the catalog chainlets."""

import pydantic


class TextBlock(pydantic.BaseModel):
    index: int
    text: str
    num_words: int


class SplitResult(pydantic.BaseModel):
    blocks: list[TextBlock]
    truncated: bool = False
