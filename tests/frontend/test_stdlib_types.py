"""Standard-library types as I/O: fields of pydantic models, as Truss Chains takes them.

pydantic validates `datetime`, `Decimal`, `UUID`, `Path` and IP addresses and writes them
as JSON strings, so inside a pydantic model they are I/O types (kind `stdlib`, named by
their dotted path). Truss refuses them as an endpoint's own parameter or return type,
alone or in a `list`/`dict`; chainsc reports those (CSC206), and truss itself is asked
which files it accepts (`truss_io_check.py`): chainsc's verdict must be the same.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from chainsc import api, ir
from chainsc.annotations import STDLIB_TYPES
from chainsc.emit.pycode import Imports, render_annotation
from tests.conftest import run_cli, truss_python
from tests.importcheck import import_package

HERE = Path(__file__).resolve().parent

HEADER = """\
import datetime
import datetime as dt
import decimal
import ipaddress
import pathlib
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Optional
from uuid import UUID

import pydantic
import truss_chains as chains
"""

#: Every import form real chains use: `module.Name`, an aliased module, `from module import Name`.
FIELDS = {
    "placed": ("datetime.datetime", "datetime.datetime"),
    "day": ("date", "datetime.date"),
    "at": ("dt.time", "datetime.time"),
    "wait": ("timedelta", "datetime.timedelta"),
    "price": ("Decimal", "decimal.Decimal"),
    "exact": ("decimal.Decimal", "decimal.Decimal"),
    "id": ("UUID", "uuid.UUID"),
    "path": ("pathlib.Path", "pathlib.Path"),
    "pure": ("pathlib.PurePosixPath", "pathlib.PurePosixPath"),
    "host": ("ipaddress.IPv4Address", "ipaddress.IPv4Address"),
    "net": ("ipaddress.IPv6Network", "ipaddress.IPv6Network"),
    "stamp": ('"datetime.datetime"', "datetime.datetime"),
}


def _ref(kind: str, name: str, *args: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": name,
        "args": list(args),
        "literals": [],
        "is_variadic": False,
    }


def _model_chain(fields: dict[str, str]) -> str:
    body = "".join(f"    {name}: {annotation}\n" for name, annotation in fields.items())
    return (
        f"{HEADER}\n\nclass Order(pydantic.BaseModel):\n{body}\n\n"
        "class Echo(chains.ChainletBase):\n    def run_remote(self, order: Order) -> Order:\n        return order\n"
    )


def test_stdlib_types_in_pydantic_models_are_io_types_of_their_own_kind(
    tmp_path: Path,
) -> None:
    fields = {name: annotation for name, (annotation, _) in FIELDS.items()}
    fields |= {
        "times": "list[datetime.datetime]",
        "maybe": "Optional[Decimal]",
        "by_day": "dict[str, date]",
        "limit": "pydantic.condecimal(max_digits=6, decimal_places=2)",
        "start": "pydantic.condate(ge=datetime.date(2020, 1, 1))",
        "aware": "pydantic.AwareDatetime",
        "token": "pydantic.UUID4",
    }
    chain = tmp_path / "app.py"
    chain.write_text(_model_chain(fields))
    result = run_cli("inspect", str(chain), "--json")
    assert result.returncode == 0, result.stderr
    order = next(
        t for t in json.loads(result.stdout)["types"] if t["id"] == "app.Order"
    )
    types = {field["name"]: field["type"] for field in order["fields"]}
    for name, (_, dotted) in FIELDS.items():
        assert types[name] == _ref("stdlib", dotted), name
    assert types["times"] == _ref("list", "list", _ref("stdlib", "datetime.datetime"))
    assert types["maybe"] == _ref(
        "union", "Union", _ref("stdlib", "decimal.Decimal"), _ref("none", "None")
    )
    assert types["by_day"] == _ref(
        "dict", "dict", _ref("builtin", "str"), _ref("stdlib", "datetime.date")
    )
    # The constrained ones are what they constrain, no longer refused.
    decimal_ref = _ref("stdlib", "decimal.Decimal")
    assert types["limit"] == _ref(
        "constrained",
        "pydantic.condecimal(max_digits=6, decimal_places=2)",
        decimal_ref,
    )
    assert types["start"] == _ref(
        "constrained",
        "pydantic.condate(ge=datetime.date(2020, 1, 1))",
        _ref("stdlib", "datetime.date"),
    )
    assert types["aware"] == _ref(
        "alias", "pydantic.AwareDatetime", _ref("stdlib", "datetime.datetime")
    )
    assert types["token"] == _ref(
        "alias", "pydantic.UUID4", _ref("stdlib", "uuid.UUID")
    )
    # Built, every package imports: pydantic builds the model's validator at import time.
    out = tmp_path / "out"
    built = run_cli("build", str(chain), "-o", str(out))
    assert built.returncode == 0, built.stderr
    assert import_package(out / "echo") is None


def _cases() -> dict[str, tuple[str, bool]]:
    """Chain file name -> (text, whether truss accepts it)."""
    cases: dict[str, tuple[str, bool]] = {}
    for index, dotted in enumerate(sorted(STDLIB_TYPES)):
        for form, annotation in (
            ("plain", dotted),
            ("list", f"list[{dotted}]"),
            ("dict", f"dict[str, {dotted}]"),
        ):
            cases[f"field_{form}_{index}"] = (_model_chain({"value": annotation}), True)
            param = f"{HEADER}\n\nclass Echo(chains.ChainletBase):\n    def run_remote(self, value: {annotation}) -> int:\n        return 0\n"
            cases[f"param_{form}_{index}"] = (param, False)
            returns = f"{HEADER}\n\nclass Echo(chains.ChainletBase):\n    def run_remote(self) -> {annotation}:\n        raise NotImplementedError\n"
            cases[f"return_{form}_{index}"] = (returns, False)
    condecimal = "pydantic.condecimal(gt=0)"
    cases["field_condecimal"] = (_model_chain({"value": condecimal}), True)
    cases["param_condecimal"] = (
        f"{HEADER}\n\nclass Echo(chains.ChainletBase):\n    def run_remote(self, value: {condecimal}) -> int:\n        return 0\n",
        False,
    )
    cases["field_timezone"] = (_model_chain({"value": "datetime.timezone"}), False)
    return cases


def test_chainsc_accepts_exactly_the_stdlib_io_types_truss_accepts(
    tmp_path: Path,
) -> None:
    cases = _cases()
    paths = {}
    for name, (text, _) in cases.items():
        paths[name] = tmp_path / f"{name}.py"
        paths[name].write_text(text)
    expected = {name: accepted for name, (_, accepted) in cases.items()}
    chainsc = {}
    for name, path in paths.items():
        result = api.check_file(path)
        chainsc[name] = not result.has_errors
        assert result.has_errors or not result.diagnostics, (name, result.diagnostics)
        assert all(d.code == "CSC206" for d in result.diagnostics), (
            name,
            result.diagnostics,
        )
    assert chainsc == expected
    completed = subprocess.run(
        [
            str(truss_python()),
            str(HERE / "truss_io_check.py"),
            *(str(path) for path in paths.values()),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    verdicts = json.loads(completed.stdout)
    truss = {name: verdicts[str(path)] is None for name, path in paths.items()}
    assert truss == expected, {
        name: verdicts[str(paths[name])]
        for name in truss
        if truss[name] != expected[name]
    }


def test_a_stdlib_type_renders_as_its_module_attribute_with_the_module_imported() -> (
    None
):
    imports = Imports()
    ref = ir.TypeRef(
        ir.TypeKind.LIST, "list", (ir.TypeRef(ir.TypeKind.STDLIB, "datetime.datetime"),)
    )
    optional = ir.TypeRef(
        ir.TypeKind.UNION,
        "Union",
        (
            ir.TypeRef(ir.TypeKind.STDLIB, "decimal.Decimal"),
            ir.TypeRef(ir.TypeKind.NONE, "None"),
        ),
    )
    assert render_annotation(ref, {}, imports) == "list[datetime.datetime]"
    assert render_annotation(optional, {}, imports) == "decimal.Decimal | None"
    assert imports.lines() == ["import datetime", "import decimal"]
