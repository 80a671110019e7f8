"""In-place clients: another Chainlet's class replaced, where it stands, by its client.

Each case builds a chain with the real CLI and imports the packages in a fresh
interpreter, as Truss's server does, then checks what the client means there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli


def _build(tmp_path: Path, files: dict[str, str], chain: str) -> Path:
    source = tmp_path / "src"
    for relative, text in files.items():
        path = source / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("build", str(source / chain), "-o", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _run_in_package(package: Path, code: str) -> str:
    """Run `code` in a fresh interpreter with the package on the path, as Truss sets it up."""
    prelude = f"import sys; sys.path[:0] = [{str(package)!r}, {str(package / 'packages')!r}]\n"
    result = subprocess.run(
        [sys.executable, "-c", prelude + code],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


TYPES_BY_MODULE_ATTRIBUTE = {
    "data_types.py": """import pydantic


class Chunk(pydantic.BaseModel):
    text: str


class SegmentList(pydantic.BaseModel):
    segments: list[str]


class Unused(pydantic.BaseModel):
    x: int
""",
    "transcribe.py": """import truss_chains as chains

import data_types


class Worker(chains.ChainletBase):
    async def run_remote(self, chunk: data_types.Chunk) -> data_types.SegmentList:
        return data_types.SegmentList(segments=chunk.text.split())


@chains.mark_entrypoint
class Transcribe(chains.ChainletBase):
    def __init__(self, worker: Worker = chains.depends(Worker)) -> None:
        self._worker = worker

    async def run_remote(self, text: str) -> int:
        return len((await self._worker.run_remote(data_types.Chunk(text=text))).segments)
""",
}


def test_a_client_keeps_the_types_its_signature_reads_through_a_module(
    tmp_path: Path,
) -> None:
    out = _build(tmp_path, TYPES_BY_MODULE_ATTRIBUTE, "transcribe.py")
    types = (out / "transcribe" / "packages" / "data_types.py").read_text()
    assert "class SegmentList" in types
    assert "class Chunk" in types
    assert "class Unused" not in types
    printed = _run_in_package(
        out / "transcribe",
        "import model.model as m\n"
        "client = m.Model.dependencies[0].client_cls\n"
        "print(client.__module__, client.__name__, client._output().validate_python({'segments': ['a']}))",
    )
    assert printed == "transcribe Worker segments=['a']"


INHERITED_FROM_ANOTHER_MODULE = {
    "base.py": """import pydantic
import truss_chains as chains

DEFAULT_N = 3


class Inp(pydantic.BaseModel):
    text: str


class Out(pydantic.BaseModel):
    words: list[str]


class BaseWorker(chains.ChainletBase):
    async def run_remote(self, item: Inp, n: int = DEFAULT_N) -> "Out":
        return Out(words=item.text.split()[:n])
""",
    "zeta.py": """import truss_chains as chains

from base import BaseWorker, Inp

Out = "not the base's Out"  # the name means something else here


class Worker(BaseWorker):
    pass


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(self, worker: Worker = chains.depends(Worker)) -> None:
        self._worker = worker

    async def run_remote(self, text: str) -> list[str]:
        return (await self._worker.run_remote(Inp(text=text))).words
""",
}


def test_an_inherited_signature_takes_its_names_from_the_base_module(
    tmp_path: Path,
) -> None:
    out = _build(tmp_path, INHERITED_FROM_ANOTHER_MODULE, "zeta.py")
    sliced = (out / "entry" / "packages" / "zeta.py").read_text()
    assert "from base import DEFAULT_N\nfrom base import Out as _base_Out\n" in sliced
    assert "        n: int = DEFAULT_N,\n    ) -> '_base_Out':\n" in sliced
    printed = _run_in_package(
        out / "entry",
        "import inspect, model.model as m\n"
        "client = m.Model.dependencies[0].client_cls\n"
        "print(client._output().validate_python({'words': ['a']}).__class__.__module__,"
        " inspect.signature(client.run_remote).parameters['n'].default)",
    )
    assert printed == "base 3"


TYPES_BELOW_THE_CHAINLETS = """import truss_chains as chains

LINES = 2


class Poet(chains.ChainletBase):
    def run_remote(self, request: "PoemRequest", lines: int = LINES) -> "Poem":
        return Poem(text=request.topic * lines)


@chains.mark_entrypoint
class Poems(chains.ChainletBase):
    def __init__(self, poet: Poet = chains.depends(Poet)) -> None:
        self._poet = poet

    def run_remote(self, topic: str) -> str:
        return self._poet.run_remote(PoemRequest(topic=topic)).text


import pydantic  # noqa: E402


class PoemRequest(pydantic.BaseModel):
    topic: str


class Poem(pydantic.BaseModel):
    text: str
"""


def test_a_client_of_a_chainlet_whose_types_come_below_it_imports(
    tmp_path: Path,
) -> None:
    # `poems` sorts before `chainsc_generated`: the name that used to make this layout cycle.
    out = _build(tmp_path, {"poems.py": TYPES_BELOW_THE_CHAINLETS}, "poems.py")
    for package, chainlet in (("poems", "Poems"), ("poet", "Poet")):
        printed = _run_in_package(
            out / package,
            "import model.model as m\nprint(m.Model.chainlet_cls.__name__)",
        )
        assert printed == chainlet
    printed = _run_in_package(
        out / "poems",
        "import model.model as m\nclient = m.Model.dependencies[0].client_cls\n"
        "print(client._output().validate_python({'text': 'x'}).__class__.__name__)",
    )
    assert printed == "Poem"
