"""The configuration schema (`chainsc.schema`) agrees with the IR, the runtime and Truss Chains.

The compiler never imports the runtime or truss: it keeps one declarative schema
per constructor, and these tests hold it equal to what the IR builds, to the
runtime's own definitions (`chainsc_runtime`, what a package runs) and to truss's
(`truss_chains`, `truss.base.truss_config`, in a venv of its own: `truss_python`).
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import subprocess
from typing import Any

import pydantic

import chainsc_runtime
import chainsc_runtime.public_types
import chainsc_runtime.trt_llm_config
import chainsc_runtime.truss_config
from chainsc import ir
from chainsc.config import READERS
from chainsc.schema import ALIASES, CONSTANTS, CONSTRUCTORS, DEPENDS, ENUMS, NESTED
from tests.conftest import truss_python

#: The IR class each `chains` constructor builds.
IR_CLASSES: dict[str, type[Any]] = {
    "chains.RemoteConfig": ir.RemoteConfig,
    "chains.DockerImage": ir.DockerImage,
    "chains.Compute": ir.Compute,
    "chains.Assets": ir.Assets,
    "chains.ChainletOptions": ir.ChainletOptions,
    "chains.RPCOptions": ir.RPCOptions,
}
#: Where chainsc deliberately differs from truss 0.18.36, and why.
TRUSS_DIFFERENCES: dict[tuple[str, str], str] = {}
#: Schema fields the IR does not keep: deprecated spellings, folded into another field.
NOT_IN_IR = {("chains.DockerImage", "pip_requirements_file")}


def normalized(value: object) -> object:
    """A default, comparable across the schema, the IR, the runtime and truss.

    An absent collection is empty whatever holds it (None, (), [], {}); an object (a
    nested constructor's default) is NESTED; an enum member is its value.
    """
    if isinstance(value, ir.BaseImage):
        return value.image  # the IR's default image, as `BasetenImage.PY311` is "py311"
    if value == ir.JsonObject():
        return (
            NESTED  # a Truss config helper called without arguments (`HealthChecks()`)
        )
    if value is None or value in ((), [], {}):
        return ()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, str | int | float | bool):
        return value
    return NESTED


def _runtime_fields(cls: type[Any]) -> list[tuple[str, object, bool]]:
    """(name, default, required) of a runtime constructor's parameters, in order."""
    if issubclass(cls, pydantic.BaseModel):
        return [
            (
                name,
                None
                if info.is_required()
                else info.get_default(call_default_factory=True),
                info.is_required(),
            )
            for name, info in cls.model_fields.items()
        ]
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return [
        (p.name, None if p.default is p.empty else p.default, p.default is p.empty)
        for p in parameters
    ]


def test_every_field_names_a_reader() -> None:
    for constructor in CONSTRUCTORS.values():
        for spec in constructor.fields:
            kind, _, api = spec.reader.rpartition(":")
            known = (
                spec.reader in READERS
                or spec.reader in CONSTRUCTORS
                or (
                    kind in ("list", "optional")
                    and (api in CONSTRUCTORS or api == "truss_config")
                )
            )
            assert known, f"{constructor.api}.{spec.name}: no reader `{spec.reader}`"
    assert all(target in CONSTRUCTORS for target in ALIASES.values())


def test_the_ir_holds_every_field_with_the_schema_default() -> None:
    for api, cls in IR_CLASSES.items():
        constructor = CONSTRUCTORS[api]
        kept = [
            spec for spec in constructor.fields if (api, spec.name) not in NOT_IN_IR
        ]
        assert [f.name for f in dataclasses.fields(cls)] == [
            spec.name for spec in kept
        ] or {f.name for f in dataclasses.fields(cls)} == {
            spec.name for spec in kept
        }, api
        empty = cls()
        for spec in kept:
            assert normalized(getattr(empty, spec.name)) == normalized(spec.default), (
                f"{api}.{spec.name}"
            )


def test_the_chains_constructors_are_the_runtimes() -> None:
    for api, constructor in CONSTRUCTORS.items():
        if not api.startswith("chains."):
            continue
        runtime = _runtime_fields(getattr(chainsc_runtime, api.removeprefix("chains.")))
        assert [name for name, _, _ in runtime] == list(constructor.names), api
        for (name, default, required), spec in zip(
            runtime, constructor.fields, strict=True
        ):
            assert required == spec.required, f"{api}.{name}"
            if not required:
                assert normalized(default) == normalized(spec.default), (
                    f"{api}.{name}: runtime {default!r}, schema {spec.default!r}"
                )
    depends = list(inspect.signature(chainsc_runtime.depends).parameters.values())[1:]
    assert [(p.name, p.default) for p in depends] == [
        (spec.name, spec.default) for spec in DEPENDS.fields
    ]


def test_enums_and_constants_are_the_runtimes() -> None:
    runtime_enums: dict[str, type[enum.Enum]] = {
        "chains.BasetenImage": chainsc_runtime.BasetenImage,
        "truss_config.Accelerator": chainsc_runtime.truss_config.Accelerator,
        "truss_config.ModelRepoSourceKind": chainsc_runtime.truss_config.ModelRepoSourceKind,
        "truss_config.DockerAuthType": chainsc_runtime.truss_config.DockerAuthType,
        **{
            f"trt_llm_config.{name}": getattr(chainsc_runtime.trt_llm_config, name)
            for name in TRT_LLM_ENUMS
        },
    }
    assert set(runtime_enums) == set(ENUMS)
    for api, members in ENUMS.items():
        found: dict[str, object] = {
            member.name: member.value for member in runtime_enums[api]
        }
        assert found == members, api
    for path, value in CONSTANTS.items():
        assert (
            getattr(chainsc_runtime.public_types, path.removeprefix("chains.")) == value
        ), path


#: The enums of `engine_builder_config` (`truss.base.trt_llm_config`).
TRT_LLM_ENUMS = (
    "TrussTRTLLMModel",
    "InferenceStack",
    "TrussTRTLLMQuantizationType",
    "CheckpointSource",
    "TrussTRTLLMBatchSchedulerPolicy",
    "TrussSpecDecMode",
)


def test_the_trt_llm_config_constructors_are_the_runtimes() -> None:
    """Every `trt_llm_config` constructor the schema knows exists in the runtime, with its required fields."""
    for api, constructor in CONSTRUCTORS.items():
        if not api.startswith("trt_llm_config."):
            continue
        cls = getattr(
            chainsc_runtime.trt_llm_config, api.removeprefix("trt_llm_config.")
        )
        assert issubclass(cls, pydantic.BaseModel), api
        if issubclass(cls, pydantic.RootModel):
            continue
        required = {
            name for name, info in cls.model_fields.items() if info.is_required()
        }
        assert required <= set(constructor.required), api


#: What truss 0.18.36 says of the same constructors, enums and constants (run in truss's venv).
_TRUSS_FACTS = r"""
import enum, inspect, json
import pydantic
import truss_chains as chains
import truss_chains.public_types as public_types
from truss.base import trt_llm_config as trt
from truss.base import truss_config as tc

def fields(cls):
    if isinstance(cls, type) and issubclass(cls, pydantic.BaseModel):
        return [(name, None if info.is_required() else normal(info.get_default(call_default_factory=True)), info.is_required())
                for name, info in cls.model_fields.items()]
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return [(p.name, None if p.default is p.empty else normal(p.default), p.default is p.empty) for p in params]

def normal(value):
    if value is None or value in ((), [], {}):
        return []
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (str, int, float, bool)):
        return value
    return "<nested>"

owners = {"chains": chains, "truss_config": tc, "trt_llm_config": trt}
apis = json.loads(input())
print(json.dumps({
    "constructors": {api: fields(getattr(owners[api.split(".")[0]], api.split(".")[1])) for api in apis},
    "depends": [(p.name, p.default) for p in list(inspect.signature(chains.depends).parameters.values())[1:]],
    "enums": {
        "chains.BasetenImage": {m.name: m.value for m in chains.BasetenImage},
        "truss_config.Accelerator": {m.name: m.value for m in tc.Accelerator if not m.name.startswith("_")},
        "truss_config.ModelRepoSourceKind": {m.name: m.value for m in tc.ModelRepoSourceKind},
        "truss_config.DockerAuthType": {m.name: m.value for m in tc.DockerAuthType},
        **{
            f"trt_llm_config.{name}": {m.name: m.value for m in getattr(trt, name)}
            for name in ("TrussTRTLLMModel", "InferenceStack", "TrussTRTLLMQuantizationType",
                         "CheckpointSource", "TrussTRTLLMBatchSchedulerPolicy", "TrussSpecDecMode")
        },
    },
    "constants": {name: getattr(public_types, name.split(".")[1]) for name in json.loads(input())},
}))
"""


def test_the_schema_is_truss_chains_own() -> None:
    """Every constructor's parameters (names, order, defaults, required), enums and constants, as truss has them."""
    python = truss_python()
    stdin = (
        json.dumps(sorted(CONSTRUCTORS)) + "\n" + json.dumps(sorted(CONSTANTS)) + "\n"
    )
    proc = subprocess.run(
        [str(python), "-c", _TRUSS_FACTS],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout)
    for api, constructor in CONSTRUCTORS.items():
        truss = facts["constructors"][api]
        assert [name for name, _, _ in truss] == list(constructor.names), api
        for (name, default, required), spec in zip(
            truss, constructor.fields, strict=True
        ):
            if TRUSS_DIFFERENCES.get((api, name)) != "required":
                assert required == spec.required, f"{api}.{name}"
            if not required and api.startswith("chains."):
                expected = normalized(spec.default)
                assert (default if default != [] else ()) == expected, (
                    f"{api}.{name}: truss {default!r}, schema {spec.default!r}"
                )
    assert facts["depends"] == [[spec.name, spec.default] for spec in DEPENDS.fields]
    assert facts["enums"] == ENUMS
    assert facts["constants"] == CONSTANTS
