"""Small chain projects in the style of public ones, for what the examples do not show.

Each project is `{relative path: text}`, written to a temporary directory by
`write_project`, which returns the chain file. They cover valid chains chainsc used to
reject or miscompile: type aliases and constrained types as I/O, `type(None)` fields,
dependencies reached through a dotted path into a namespace package (no `__init__.py`),
a chain in a package directory whose name cannot be imported, chains in a package
directory importing their siblings by absolute name, relatively, or both, and
standard-library types (`datetime`, `Decimal`, ...) in pydantic models.
"""

from __future__ import annotations

from pathlib import Path

#: I/O types in a sibling module, with every alias form real chains use; the entrypoint
#: validates a constrained query and calls a dependency whose signature uses aliases.
ALIASES = {
    "schemas.py": '''\
"""Search I/O: constrained aliases next to the models that use them."""

from typing import Annotated, NewType, Optional, TypeAlias

import pydantic
from pydantic import PositiveFloat, conint, conlist, constr

NonEmptyStr = constr(strip_whitespace=True, min_length=1)
Vector = list[float]
Embedding: TypeAlias = conlist(float, min_length=2)
TopK = conint(ge=1, le=10)
Label = Annotated[str, pydantic.Field(min_length=1, max_length=32)]
DocumentId = NewType("DocumentId", str)
Labels = list[Label]


class Hit(pydantic.BaseModel):
    document: DocumentId
    text: NonEmptyStr
    score: PositiveFloat
    labels: Labels = []
    speaker: type(None) = None
    rank: Optional[conint(ge=0)] = None
''',
    "app.py": """\
import truss_chains as chains
from pydantic import Field, conint
from typing import Annotated

from schemas import Embedding, Hit, NonEmptyStr, TopK, Vector

CORPUS = ["chains compose models", "each chainlet is a service", "aliases carry constraints"]
MAX_CHARS = 512


class Embedder(chains.ChainletBase):
    def run_remote(self, text: NonEmptyStr, max_chars: conint(ge=1, le=MAX_CHARS) = MAX_CHARS) -> Embedding:
        text = text[:max_chars]
        return [float(len(text)), float(text.count(" ") + 1)]


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    def __init__(self, embedder: Embedder = chains.depends(Embedder)) -> None:
        self._embedder = embedder

    async def run_remote(
        self,
        query: NonEmptyStr,
        k: TopK = 2,
        weights: Annotated[Vector, Field(max_length=4)] = [],
    ) -> list[Hit]:
        query_vector = self._embedder.run_remote(query)
        hits = []
        for number, text in enumerate(CORPUS):
            vector = self._embedder.run_remote(text)
            score = 1.0 / (1.0 + sum(abs(a - b) for a, b in zip(query_vector, vector)))
            hits.append(Hit(document=f"doc-{number}", text=text, score=score, labels=[query]))
        return sorted(hits, key=lambda hit: -hit.score)[:k]
""",
}

#: A speech pipeline whose workers live in a namespace package (`asr_workers/` has no
#: `__init__.py`) and are named by their dotted path, as in `import asr_workers.whisper`.
#: The I/O types have a module of their own.
NAMESPACE = {
    "asr_workers/schema.py": """\
import pydantic


class Transcript(pydantic.BaseModel):
    text: str
    language: str = "en"
""",
    "asr_workers/whisper.py": """\
import truss_chains as chains

from asr_workers.schema import Transcript


class WhisperModel(chains.ChainletBase):
    def run_remote(self, audio_url: str) -> Transcript:
        return Transcript(text=audio_url.rpartition("/")[2].removesuffix(".wav").replace("_", " "))
""",
    "asr_workers/diarize/speakers.py": """\
import truss_chains as chains


class Diarizer(chains.ChainletBase):
    def run_remote(self, audio_url: str) -> list[str]:
        return ["speaker-0"]
""",
    "pipeline.py": """\
import truss_chains as chains

import asr_workers.diarize.speakers
import asr_workers.schema
import asr_workers.whisper


@chains.mark_entrypoint
class Transcribe(chains.ChainletBase):
    def __init__(
        self,
        whisper: asr_workers.whisper.WhisperModel = chains.depends(asr_workers.whisper.WhisperModel),
        diarizer=chains.depends(asr_workers.diarize.speakers.Diarizer),
    ) -> None:
        self._whisper = whisper
        self._diarizer = diarizer

    def run_remote(self, audio_url: str) -> asr_workers.schema.Transcript:
        transcript = self._whisper.run_remote(audio_url)
        speakers = self._diarizer.run_remote(audio_url)
        return asr_workers.schema.Transcript(text=f"{speakers[0]}: {transcript.text}")
""",
}

#: A chain in a checkout directory named like a repository (`my-repo+x`), which holds an
#: `__init__.py` (a package, by mistake or for tests): the chain root is that directory.
ODD_ROOT = {
    "my-repo+x/__init__.py": "",
    "my-repo+x/helpers.py": """\
def shout(text: str) -> str:
    return text.upper() + "!"
""",
    "my-repo+x/chain.py": """\
import truss_chains as chains

import helpers


class Shouter(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return helpers.shout(text)
""",
}

#: Text helpers next to a chain in a package: a sub-package whose modules import each other
#: relatively and read a word list next to themselves.
_TEXT_PACKAGE = {
    "app/text/__init__.py": '"""Text normalisation."""\n',
    "app/text/normalize.py": """\
import re

from . import stopwords


def words(text: str) -> list[str]:
    return [word for word in re.findall(r"[a-z]+", text.lower()) if word not in stopwords.WORDS]
""",
    "app/text/stopwords.py": """\
import pathlib

WORDS = frozenset(pathlib.Path(__file__).with_name("stopwords.txt").read_text().split())
""",
    "app/text/stopwords.txt": "a\nand\nits\nthe\ntoo\nare\n",
}

#: A chain in a package directory (`app/__init__.py`) importing its siblings by absolute
#: name, as Truss allows (it puts the chain file's directory on `sys.path`).
PACKAGE_ABSOLUTE = {
    "app/__init__.py": "",
    "app/schemas.py": """\
import pydantic


class Document(pydantic.BaseModel):
    title: str
    text: str
""",
    "app/helpers.py": """\
def top(words: list[str], count: int) -> list[str]:
    return sorted(set(words), key=lambda word: (-words.count(word), words.index(word)))[:count]
""",
    **_TEXT_PACKAGE,
    "app/chain.py": """\
import truss_chains as chains

import helpers
from schemas import Document
from text import normalize


@chains.mark_entrypoint
class Keywords(chains.ChainletBase):
    def run_remote(self, document: Document) -> list[str]:
        return helpers.top(normalize.words(document.text), 3)
""",
}

#: The same layout, imported relatively: the chain file is the module `app.chain`.
PACKAGE_RELATIVE = {
    "app/__init__.py": '"""The app package."""\n',
    "app/schemas.py": PACKAGE_ABSOLUTE["app/schemas.py"],
    "app/helpers.py": PACKAGE_ABSOLUTE["app/helpers.py"],
    "app/chain.py": """\
import truss_chains as chains

from . import helpers
from .schemas import Document


@chains.mark_entrypoint
class Keywords(chains.ChainletBase):
    def run_remote(self, document: Document) -> list[str]:
        return helpers.top(document.text.split(), 2)
""",
}

#: Both forms in one chain: `helpers.py` is imported as `helpers` and as `app.helpers`
#: (two modules, as in Python), the I/O types relatively, a sub-package absolutely.
PACKAGE_MIXED = {
    "app/__init__.py": '"""Summaries."""\n',
    "app/schemas.py": """\
import pydantic


class Document(pydantic.BaseModel):
    title: str
    text: str


class Summary(pydantic.BaseModel):
    title: str
    keywords: list[str]
""",
    "app/helpers.py": """\
TITLE_LIMIT = 16


def title(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def top(words: list[str], count: int) -> list[str]:
    return sorted(set(words), key=lambda word: (-words.count(word), words.index(word)))[:count]
""",
    **_TEXT_PACKAGE,
    "app/chain.py": """\
import truss_chains as chains

import helpers  # the chain's directory is on sys.path, as under Truss
from text import normalize
from . import schemas  # the chain file is the module app.chain
from .helpers import TITLE_LIMIT  # helpers.py again, as app.helpers


class Summarizer(chains.ChainletBase):
    def run_remote(self, document: schemas.Document) -> schemas.Summary:
        keywords = helpers.top(normalize.words(document.text), 3)
        return schemas.Summary(title=helpers.title(document.title, TITLE_LIMIT), keywords=keywords)


@chains.mark_entrypoint
class Pipeline(chains.ChainletBase):
    def __init__(self, summarizer: Summarizer = chains.depends(Summarizer)) -> None:
        self._summarizer = summarizer

    def run_remote(self, title: str, text: str) -> schemas.Summary:
        return self._summarizer.run_remote(schemas.Document(title=title, text=text))
""",
}

#: Exact amounts and timestamps through a hop: standard-library types as fields of pydantic
#: models (Truss takes them there, and only there), a constrained Decimal included.
STDLIB_IO = {
    "billing.py": """\
\"\"\"Invoices: Decimal amounts, datetimes, a timedelta and a UUID, as pydantic carries them.\"\"\"

import datetime
import uuid
from decimal import Decimal

import pydantic
import truss_chains as chains

TERMS = datetime.timedelta(days=30)


class Order(pydantic.BaseModel):
    id: uuid.UUID
    placed: datetime.datetime
    prices: list[Decimal]
    tax_rate: pydantic.condecimal(ge=0, le=1, decimal_places=2)


class Invoice(pydantic.BaseModel):
    order: uuid.UUID
    subtotal: Decimal
    total: Decimal
    issued: datetime.datetime
    due: datetime.date
    terms: datetime.timedelta


class Pricing(chains.ChainletBase):
    async def run_remote(self, order: Order) -> Invoice:
        subtotal = sum(order.prices, Decimal(0))
        total = (subtotal * (1 + order.tax_rate)).quantize(Decimal("0.01"))
        due = (order.placed + TERMS).date()
        return Invoice(order=order.id, subtotal=subtotal, total=total, issued=order.placed, due=due, terms=TERMS)


@chains.mark_entrypoint
class Billing(chains.ChainletBase):
    def __init__(self, pricing: Pricing = chains.depends(Pricing)) -> None:
        self._pricing = pricing

    async def run_remote(self, order: Order) -> Invoice:
        return await self._pricing.run_remote(order)
""",
}

#: Project name -> (files, chain file).
PROJECTS: dict[str, tuple[dict[str, str], str]] = {
    "aliases": (ALIASES, "app.py"),
    "namespace": (NAMESPACE, "pipeline.py"),
    "odd_root": (ODD_ROOT, "my-repo+x/chain.py"),
    "package_absolute": (PACKAGE_ABSOLUTE, "app/chain.py"),
    "package_relative": (PACKAGE_RELATIVE, "app/chain.py"),
    "package_mixed": (PACKAGE_MIXED, "app/chain.py"),
    "stdlib_io": (STDLIB_IO, "billing.py"),
}


def write_project(name: str, directory: Path) -> Path:
    """Write project `name` under `directory` (in a subdirectory of that name); its chain file."""
    files, chain = PROJECTS[name]
    base = directory / name
    for relative, text in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return base / chain
