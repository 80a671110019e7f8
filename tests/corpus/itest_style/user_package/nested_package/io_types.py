import enum

import pydantic


class Casing(str, enum.Enum):
    LOWER = "LOWER"
    UPPER = "UPPER"


class ChunkRequest(pydantic.BaseModel):
    payload: str
    num_chunks: int
    casing: Casing


class Marker(pydantic.BaseModel):
    position: int
