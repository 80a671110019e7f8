"""Content moderation built from a family of checker Chainlets sharing one base class.

`BaseChecker` holds the shared `remote_config`, `__init__` and a default keyword
`run_remote`; subclasses only change what differs. `LanguageDetector` is a
standalone `chains.ModelBase` (pushed on its own with `truss push`).
"""

import asyncio

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


class ModerationResult(pydantic.BaseModel):
    label: str
    verdicts: list[Verdict]


from chainsc_generated.clients import ProfanityChecker
from chainsc_generated.clients import SpamChecker
from chainsc_generated.clients import PIIChecker
from chainsc_generated.clients import UsageMeter


@chains.mark_entrypoint("Content Moderation")
class Moderator(Base):
    """Runs all checkers concurrently and reports the most severe label."""

    def __init__(
        self,
        profanity: ProfanityChecker = depends(ProfanityChecker),
        spam: SpamChecker = depends(SpamChecker, retries=2),
        pii: PIIChecker = chains.depends(PIIChecker),
        meter: UsageMeter = depends(UsageMeter, timeout_sec=5.0),
    ) -> None:
        self._checkers = (profanity, spam, pii)
        self._meter = meter

    async def run_remote(
        self, text: str, thresholds: Thresholds = Thresholds(flag=0.3, block=0.8)
    ) -> ModerationResult:
        verdicts = await asyncio.gather(*(c.run_remote(text, thresholds) for c in self._checkers))
        await asyncio.to_thread(self._meter.run_remote)
        severity = {"ok": 0, "flag": 1, "block": 2}
        worst = max(verdicts, key=lambda v: severity[v.label])
        return ModerationResult(label=worst.label, verdicts=list(verdicts))

    async def is_healthy(self) -> bool:
        return len(self._checkers) == 3
