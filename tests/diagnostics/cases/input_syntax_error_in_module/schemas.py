# E@7:32: CSC002
"""I/O models of the search chain."""

import pydantic


class Query(pydantic.BaseModel)
    text: str
    limit: int = 10
