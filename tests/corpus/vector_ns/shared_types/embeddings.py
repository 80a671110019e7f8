import pydantic

Embedding = list[float]


class Passage(pydantic.BaseModel):
    passage_id: str
    text: str


class ScoredPassage(pydantic.BaseModel):
    passage_id: str
    score: float
