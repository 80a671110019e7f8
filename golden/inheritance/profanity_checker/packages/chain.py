"""Content moderation built from a family of checker Chainlets sharing one base class.

`BaseChecker` holds the shared `remote_config`, `__init__` and a default keyword
`run_remote`; subclasses only change what differs. `LanguageDetector` is a
standalone `chains.ModelBase` (pushed on its own with `truss push`).
"""

import pydantic
import chainsc_runtime as chains
from chainsc_runtime import (
    ChainletBase as Base,
    depends,
)


class Thresholds(pydantic.BaseModel):
    flag: float = 0.5
    block: float = 0.9


class Verdict(pydantic.BaseModel):
    checker: str
    label: str = "ok"
    score: float = 0.0


class BaseChecker(Base):
    """Flags text containing terms from `blocklist`."""

    blocklist: tuple[str, ...] = ("forbidden",)

    def __init__(self, context: chains.DeploymentContext = chains.depends_context()) -> None:
        self._environment = context.environment.name if context.environment else "local"
        self._terms = frozenset(term.lower() for term in self.blocklist)

    async def run_remote(self, text: str, thresholds: Thresholds = Thresholds()) -> Verdict:
        hits = sum(word.strip(".,!?") in self._terms for word in text.lower().split())
        return _verdict(type(self).__name__, min(1.0, hits / 3), thresholds)

    def is_healthy(self) -> bool:
        return bool(self._terms)


class ProfanityChecker(BaseChecker):
    """Inherits config, `__init__` and `run_remote`; only the data differs."""

    blocklist = ("darn", "heck", "blast")


def _verdict(checker: str, score: float, thresholds: Thresholds) -> Verdict:
    label = "block" if score >= thresholds.block else "flag" if score >= thresholds.flag else "ok"
    return Verdict(checker=checker, label=label, score=score)
