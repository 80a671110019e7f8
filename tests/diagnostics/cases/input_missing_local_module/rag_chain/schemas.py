"""I/O models of the RAG chain."""

import pydantic


class Query(pydantic.BaseModel):
    text: str
    top_k: int = 5
