"""Type aliases and constrained types as I/O: resolved statically, carried into the packages.

An alias of a supported type is that type (`ALIAS`, with the aliased type as its one
arg) and generated code imports the user's name, so its constraints apply at run time;
inline `Annotated[T, ...]`/`constr(...)` are `CONSTRAINED` T, spelled as written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.importcheck import import_package
from tests.realworld_chains import write_project


def _inspect(chain: Path) -> dict[str, Any]:
    result = run_cli("inspect", str(chain), "--json")
    assert result.returncode == 0, result.stderr
    ir: dict[str, Any] = json.loads(result.stdout)
    return ir


def _ref(kind: str, name: str, *args: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": name,
        "args": list(args),
        "literals": [],
        "is_variadic": False,
    }


STR = _ref("builtin", "str")
FLOAT = _ref("builtin", "float")
INT = _ref("builtin", "int")


def _params(ir: dict[str, Any], chainlet: str) -> dict[str, dict[str, Any]]:
    found = next(c for c in ir["chainlets"] if c["name"] == chainlet)
    return {p["name"]: p["type"] for p in found["endpoint"]["params"]}


def test_aliases_of_every_form_are_carried_as_what_they_alias(tmp_path: Path) -> None:
    ir = _inspect(write_project("aliases", tmp_path))
    non_empty = _ref(
        "alias",
        "schemas.NonEmptyStr",
        _ref("constrained", "constr(strip_whitespace=True, min_length=1)", STR),
    )
    vector = _ref("alias", "schemas.Vector", _ref("list", "list", FLOAT))
    search = _params(ir, "Search")
    assert search["query"] == non_empty
    assert search["k"] == _ref(
        "alias", "schemas.TopK", _ref("constrained", "conint(ge=1, le=10)", INT)
    )
    # Inline `Annotated[...]` in a signature: constrained, spelled as written.
    assert search["weights"] == _ref(
        "constrained", "Annotated[Vector, Field(max_length=4)]", vector
    )
    embedder = next(c for c in ir["chainlets"] if c["name"] == "Embedder")
    # `X: TypeAlias = conlist(...)` is an alias too.
    assert embedder["endpoint"]["returns"] == _ref(
        "alias",
        "schemas.Embedding",
        _ref(
            "constrained", "conlist(float, min_length=2)", _ref("list", "list", FLOAT)
        ),
    )

    types = {t["id"]: t for t in ir["types"]}
    assert {i: t["kind"] for i, t in types.items()} == {
        "schemas.DocumentId": "alias",
        "schemas.Embedding": "alias",
        "schemas.Hit": "pydantic",
        "schemas.Label": "alias",
        "schemas.Labels": "alias",
        "schemas.NonEmptyStr": "alias",
        "schemas.TopK": "alias",
        "schemas.Vector": "alias",
    }
    assert types["schemas.NonEmptyStr"]["aliased"] == non_empty["args"][0]
    assert (
        types["schemas.NonEmptyStr"]["span"]["line"] == 8
    )  # `NonEmptyStr = constr(...)` in schemas.py
    assert types["schemas.NonEmptyStr"]["span"]["path"] == "schemas.py"
    # `NewType("DocumentId", str)` names a str.
    assert types["schemas.DocumentId"]["aliased"] == STR
    fields = {f["name"]: f["type"] for f in types["schemas.Hit"]["fields"]}
    assert fields["text"] == non_empty
    # pydantic's own constrained types are imported from pydantic: no TypeDef of the user's.
    assert fields["score"] == _ref("alias", "pydantic.PositiveFloat", FLOAT)
    assert fields["speaker"] == _ref("none", "None")  # `type(None)`
    label = _ref(
        "alias",
        "schemas.Label",
        _ref(
            "constrained",
            "Annotated[str, pydantic.Field(min_length=1, max_length=32)]",
            STR,
        ),
    )
    assert fields["labels"] == _ref(
        "alias", "schemas.Labels", _ref("list", "list", label)
    )
    assert fields["rank"] == _ref(
        "union", "Union", _ref("constrained", "conint(ge=0)", INT), _ref("none", "None")
    )
    # Each Chainlet lists the aliases its endpoint reaches (through aliases and fields too).
    search_types = next(c for c in ir["chainlets"] if c["name"] == "Search")["types"]
    assert search_types == [
        "schemas.DocumentId",
        "schemas.Hit",
        "schemas.Label",
        "schemas.Labels",
        "schemas.NonEmptyStr",
        "schemas.TopK",
        "schemas.Vector",
    ]


def test_inspect_text_shows_aliases_by_name(tmp_path: Path) -> None:
    result = run_cli("inspect", str(write_project("aliases", tmp_path)))
    assert result.returncode == 0, result.stderr
    assert (
        "async def run_remote(self, query: NonEmptyStr, k: TopK = 2, weights: Annotated[Vector, Field(max_length=4)] = []) -> list[Hit]"
        in result.stdout
    )
    assert (
        "alias schemas.NonEmptyStr = constr(strip_whitespace=True, min_length=1)\n"
        in result.stdout
    )
    assert (
        "score: PositiveFloat, labels: Labels, speaker: None, rank: conint(ge=0) | None)"
        in result.stdout
    )


CHAIN_STREAMS = """\
from collections.abc import Iterator
from typing import Annotated

import pydantic
import truss_chains as chains
from pydantic import constr

Token = constr(min_length=1)
Tokens = Iterator[str]
Ids = "list[int]"


class Generator(chains.ChainletBase):
    def run_remote(self, prompt: Annotated[str, pydantic.Field(min_length=1)]) -> Tokens:
        yield prompt


@chains.mark_entrypoint
class Chat(chains.ChainletBase):
    def __init__(self, generator: Generator = chains.depends(Generator)) -> None:
        self._generator = generator

    def run_remote(self, prompt: str) -> Iterator[Token]:
        yield from self._generator.run_remote(prompt)
"""


def test_a_stream_through_an_alias_is_a_stream_of_its_items(tmp_path: Path) -> None:
    chain = tmp_path / "app.py"
    chain.write_text(CHAIN_STREAMS)
    ir = _inspect(chain)
    by_name = {c["name"]: c["endpoint"] for c in ir["chainlets"]}
    # `Tokens = Iterator[str]`: generated code spells the stream itself; chunks are not validated.
    assert by_name["Generator"]["is_streaming"] is True
    assert by_name["Generator"]["returns"] == _ref("iterator", "Iterator", STR)
    assert by_name["Chat"]["returns"] == _ref("iterator", "Iterator", STR)
    assert [t["id"] for t in ir["types"]] == []
    built = run_cli("build", str(chain), "-o", str(tmp_path / "out"))
    assert built.returncode == 0, built.stderr
    for package in ("chat", "generator"):
        assert import_package(tmp_path / "out" / package) is None


def test_an_unsupported_alias_is_reported_where_it_is_defined(tmp_path: Path) -> None:
    (tmp_path / "schemas.py").write_text(
        "from pydantic import conset\n\nTags = conset(str)\nLIMIT = 10\n"
    )
    chain = tmp_path / "app.py"
    chain.write_text(
        "import truss_chains as chains\nfrom schemas import LIMIT, Tags\n\n\n"
        "class Tagger(chains.ChainletBase):\n"
        "    def run_remote(self, tags: Tags, limit: LIMIT) -> Tags:\n        return tags\n"
    )
    result = run_cli("check", str(chain))
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "error[" in line]
    # Once, at the definition (used twice); a value that is not a type, at its use.
    assert lines == [
        "app.py:6:45: error[CSC206]: `LIMIT` is not a type",
        "schemas.py:3:8: error[CSC206]: `conset(str)` is not a supported I/O type: a set is not JSON-compatible; use `conlist(...)`",
    ]


def test_built_packages_import_the_users_aliases_and_keep_their_definitions(
    tmp_path: Path,
) -> None:
    chain = write_project("aliases", tmp_path)
    out = tmp_path / "out"
    built = run_cli("build", str(chain), "-o", str(out))
    assert built.returncode == 0, built.stderr
    endpoint = (
        out / "search" / "packages" / "chainsc_generated" / "endpoint.py"
    ).read_text()
    assert (
        "from schemas import (\n    Hit,\n    NonEmptyStr,\n    TopK,\n    Vector,\n)"
        in endpoint
    )
    assert "from pydantic import Field\n" in endpoint
    assert "from typing import Annotated\n" in endpoint
    assert (
        "    query: NonEmptyStr\n    k: TopK = 2\n    weights: Annotated[Vector, Field(max_length=4)] = []\n"
        in endpoint
    )
    assert "pydantic.TypeAdapter(\n        list[Hit],\n    )" in endpoint
    schemas = (out / "search" / "packages" / "schemas.py").read_text()
    for definition in (
        "from pydantic import PositiveFloat, conint, conlist, constr\n",
        "NonEmptyStr = constr(strip_whitespace=True, min_length=1)\n",
        "TopK = conint(ge=1, le=10)\n",
        "Label = Annotated[str, pydantic.Field(min_length=1, max_length=32)]\n",
        'DocumentId = NewType("DocumentId", str)\n',
    ):
        assert definition in schemas
    embedder = (
        out / "embedder" / "packages" / "chainsc_generated" / "endpoint.py"
    ).read_text()
    assert "from schemas import (\n    Embedding,\n    NonEmptyStr,\n)" in embedder
    assert (
        "Embedding: TypeAlias = conlist(float, min_length=2)\n"
        in (out / "embedder" / "packages" / "schemas.py").read_text()
    )
    for package in ("embedder", "search"):
        assert import_package(out / package) is None


@pytest.mark.parametrize(
    ("arguments", "valid"),
    [
        ({"query": "  chains  "}, True),
        ({"query": "   "}, False),  # stripped, then shorter than min_length=1
        ({"query": "x", "k": 0}, False),  # TopK = conint(ge=1, le=10)
        (
            {"query": "x", "weights": [1.0] * 5},
            False,
        ),  # Annotated[Vector, Field(max_length=4)]
    ],
)
def test_the_generated_input_model_applies_the_aliases_constraints(
    tmp_path: Path, arguments: dict[str, object], valid: bool
) -> None:
    chain = write_project("aliases", tmp_path)
    out = tmp_path / "out"
    assert run_cli("build", str(chain), "-o", str(out)).returncode == 0
    package = out / "search"
    probe = (
        "import json, sys\n"
        "sys.path[:0] = ['.', 'packages']\n"
        "import pydantic\n"
        "from chainsc_generated.endpoint import ENDPOINT\n"
        "try:\n"
        "    print(ENDPOINT.input_model.model_validate(json.loads(sys.argv[1])).model_dump_json())\n"
        "except pydantic.ValidationError as exc:\n"
        "    print('invalid', [e['loc'] for e in exc.errors()])\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-c", probe, json.dumps(arguments)],
        cwd=package,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("invalid") is not valid, result.stdout
    if valid:
        assert json.loads(result.stdout)["query"] == "chains"
