"""Content moderation built from a family of checker Chainlets sharing one base class.

`BaseChecker` holds the shared `remote_config`, `__init__` and a default keyword
`run_remote`; subclasses only change what differs. `LanguageDetector` is a
standalone `chains.ModelBase` (pushed on its own with `truss push`).
"""

import asyncio
import re

import pydantic
import truss_chains as chains
from truss_chains import ChainletBase as Base, depends

SHARED_IMAGE = chains.DockerImage(pip_requirements=["pydantic>=2.6"])


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


class BaseChecker(Base):
    """Flags text containing terms from `blocklist`."""

    remote_config = chains.RemoteConfig(
        docker_image=SHARED_IMAGE, compute=chains.Compute(cpu_count=1, memory="512Mi")
    )
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


class SpamChecker(BaseChecker):
    """Overrides `remote_config` (bigger box, env vars), inherits `run_remote`."""

    remote_config = chains.RemoteConfig(
        docker_image=SHARED_IMAGE,
        compute=chains.Compute(cpu_count=2, memory="2Gi", predict_concurrency=32),
        options=chains.ChainletOptions(env_variables={"SPAM_MODEL_VERSION": "2024-05"}),
    )
    blocklist = ("winner", "free", "click", "prize")


class PIIChecker(BaseChecker):
    """Overrides `run_remote` with regex detection, inherits `remote_config`."""

    _PATTERNS = (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), re.compile(r"[\w.+-]+@[\w-]+\.\w+"))

    async def run_remote(self, text: str, thresholds: Thresholds = Thresholds()) -> Verdict:
        found = any(pattern.search(text) for pattern in self._PATTERNS)
        return _verdict(type(self).__name__, 1.0 if found else 0.0, thresholds)


class UsageMeter(Base):
    """Counts moderation requests; takes no input and returns nothing."""

    def __init__(self) -> None:
        self._count = 0

    def run_remote(self) -> None:
        self._count += 1


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


class LanguageDetector(chains.ModelBase):
    """Standalone model (endpoint `predict`), deployable with `truss push chain.py`."""

    remote_config = chains.RemoteConfig(
        docker_image=SHARED_IMAGE, compute=chains.Compute(cpu_count=1)
    )
    _STOPWORDS = {
        "en": {"the", "and", "is"},
        "de": {"der", "und", "ist"},
        "fr": {"le", "et", "est"},
    }

    def predict(self, text: str) -> dict[str, float]:
        words = set(text.lower().split())
        hits = {lang: len(words & stop) for lang, stop in self._STOPWORDS.items()}
        total = sum(hits.values()) or 1
        return {lang: count / total for lang, count in hits.items()}

    def is_healthy(self) -> bool:
        return True


def _verdict(checker: str, score: float, thresholds: Thresholds) -> Verdict:
    label = "block" if score >= thresholds.block else "flag" if score >= thresholds.flag else "ok"
    return Verdict(checker=checker, label=label, score=score)
