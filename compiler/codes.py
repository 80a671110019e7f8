"""The table of diagnostic codes: stable forever, one per rule.

Stage: shared. Codes are reserved by area: CSC0xx input and syntax, 1xx chain
structure, 2xx signatures and types, 3xx dependencies, 4xx configuration,
9xx internal. Never reuse or renumber a code; retire it instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Code:
    """Documentation of one diagnostic code."""

    code: str
    #: "error" or "warning": the severity the rule reports with.
    severity: str
    summary: str


_TABLE = (
    Code("CSC001", "error", "a source file cannot be read or is not UTF-8"),
    Code(
        "CSC002", "error", "syntax error: CPython's parser or compiler refuses the file"
    ),
    Code(
        "CSC003",
        "warning",
        "a top-level statement is not a definition and is left out of every package",
    ),
    Code(
        "CSC004",
        "error",
        "a local module imported by the chain cannot be found where the import says",
    ),
    Code(
        "CSC005",
        "error",
        "a `truss_chains` name the chainsc runtime does not provide (internal or unknown)",
    ),
    Code(
        "CSC006",
        "error",
        "a Baseten-only `truss_chains` feature a chainsc package cannot have",
    ),
    Code(
        "CSC010",
        "error",
        "a source file's path under the chain root is not an importable module name",
    ),
    Code(
        "CSC011",
        "error",
        "a path the build would read is outside the chain root (absolute, `..`, or a symbolic link out of it)",
    ),
    Code("CSC012", "error", "a path the build would read is a symbolic link loop"),
    Code(
        "CSC013",
        "error",
        "a file to carry into a package has a name it cannot hold (not UTF-8, a backslash, a control character)",
    ),
    Code(
        "CSC014",
        "error",
        "`--with docker`/`kubernetes` for a chain whose entrypoint only Baseten serves (an engine builder)",
    ),
    Code(
        "CSC020",
        "error",
        "an expression or block nests deeper than chainsc supports (200 levels)",
    ),
    Code("CSC101", "error", "no Chainlet in the file"),
    Code("CSC102", "error", "several Chainlets and no entrypoint"),
    Code("CSC103", "error", "more than one entrypoint"),
    Code(
        "CSC104", "error", "the entrypoint named on the command line is not a Chainlet"
    ),
    Code("CSC105", "warning", "a Chainlet the entrypoint cannot reach"),
    Code(
        "CSC106",
        "error",
        "a Chainlet display name has characters outside [a-zA-Z0-9_-]",
    ),
    Code("CSC107", "error", "two Chainlets share a display name"),
    Code(
        "CSC108", "error", "two Chainlets would be written to the same output directory"
    ),
    Code(
        "CSC109",
        "error",
        "a Chainlet has no endpoint (`run_remote`, or `predict` for a ModelBase)",
    ),
    Code("CSC110", "error", "`mark_entrypoint` on a class that is not a Chainlet"),
    Code(
        "CSC111",
        "error",
        "a Chainlet class defined where it cannot be found statically",
    ),
    Code("CSC112", "error", "a local module uses a name reserved for generated code"),
    Code(
        "CSC113",
        "error",
        "a Chainlet display name is longer than 100 characters (it names the package directory)",
    ),
    Code(
        "CSC114",
        "error",
        "Chainlets are defined under an `if` whose test is not static",
    ),
    Code("CSC201", "error", "the endpoint is not a plain or async instance method"),
    Code("CSC202", "error", "the endpoint takes *args or **kwargs"),
    Code("CSC203", "error", "the endpoint has positional-only parameters"),
    Code("CSC204", "error", "an endpoint parameter has no type annotation"),
    Code("CSC205", "error", "the endpoint has no return annotation"),
    Code(
        "CSC206",
        "error",
        "an I/O type is not JSON-compatible, or (`datetime`, `Decimal`, ...) is outside a pydantic model",
    ),
    Code("CSC207", "error", "an I/O type name is not defined"),
    Code("CSC208", "error", "an iterator return type but the endpoint never yields"),
    Code(
        "CSC209", "error", "the endpoint yields but its return type is not an iterator"
    ),
    Code("CSC210", "error", "streamed items must be `str` or `bytes`"),
    Code("CSC211", "error", "`is_healthy` must be `(self) -> bool`"),
    Code("CSC212", "error", "a string annotation is not a valid expression"),
    Code("CSC301", "error", "a dependency target is not defined"),
    Code("CSC302", "error", "a dependency target is not a Chainlet"),
    Code(
        "CSC303",
        "error",
        "a dependency target is defined after the Chainlet that uses it",
    ),
    Code(
        "CSC304",
        "error",
        "`depends`/`depends_context` used outside an `__init__` parameter default",
    ),
    Code(
        "CSC305",
        "error",
        "an `__init__` parameter is neither a dependency nor the context",
    ),
    Code("CSC306", "error", "the same Chainlet is bound to two `__init__` parameters"),
    Code(
        "CSC307",
        "error",
        "a dependency annotation is not the Chainlet, a base of it, or a Protocol",
    ),
    Code("CSC308", "error", "a dependency cycle"),
    Code("CSC309", "error", "an invalid dependency option value"),
    Code(
        "CSC310",
        "error",
        "`__init__` takes *args, **kwargs or positional-only parameters",
    ),
    Code(
        "CSC311",
        "error",
        "the `context` parameter of `__init__` is not the last one",
    ),
    Code(
        "CSC312",
        "error",
        "the context parameter is not named `context`, or `context` names a dependency",
    ),
    Code(
        "CSC313",
        "error",
        "the context parameter is annotated as something other than `chains.DeploymentContext`",
    ),
    Code(
        "CSC314",
        "error",
        "a Chainlet is constructed directly instead of injected with `chains.depends`",
    ),
    Code(
        "CSC315",
        "error",
        "a `chains.ModelBase` takes dependencies or other `__init__` parameters (only the context)",
    ),
    Code("CSC316", "error", "`__init__` does not take `self` as its first parameter"),
    Code(
        "CSC340",
        "error",
        "an `EngineBuilderLLMChainlet` declares no `engine_builder_config`",
    ),
    Code(
        "CSC341",
        "error",
        "`engine_builder_config` is not a `trt_llm_config.TRTLLMConfiguration(...)`",
    ),
    Code(
        "CSC342",
        "error",
        "an engine builder's `remote_config` sets `docker_image`, `assets.cached`, `assets.external_data` or `options.health_checks`",
    ),
    Code(
        "CSC343",
        "error",
        "an engine builder defines `run_remote` (it is final: the engine's)",
    ),
    Code(
        "CSC344",
        "error",
        "an engine builder or a TrussChainlet takes dependencies in `__init__`",
    ),
    Code("CSC345", "error", "a `TrussChainlet` declares no `truss_dir`"),
    Code("CSC346", "error", "`truss_dir` is not a path string"),
    Code(
        "CSC347",
        "error",
        "`truss_dir` is not a directory next to the file that defines the class",
    ),
    Code(
        "CSC348", "error", "`truss_dir` has no `config.yaml`: it is no Truss directory"
    ),
    Code("CSC349", "error", "a `TrussChainlet` is the entrypoint"),
    Code(
        "CSC330",
        "error",
        "a websocket endpoint takes another parameter than the websocket",
    ),
    Code("CSC331", "error", "a websocket endpoint's return annotation is not `None`"),
    Code("CSC332", "error", "a websocket endpoint is not `async def`"),
    Code(
        "CSC333",
        "error",
        "`chains.WebSocketProtocol` is used other than as the whole annotation of an endpoint parameter (a return, inside another type)",
    ),
    Code(
        "CSC334",
        "error",
        "a Chainlet with a websocket endpoint is a dependency (only the entrypoint serves a websocket)",
    ),
    Code(
        "CSC335",
        "error",
        "a websocket endpoint's `ChainletOptions(transport=...)` is not `WebsocketOptions`",
    ),
    Code(
        "CSC336",
        "error",
        "a `WebsocketOptions` transport on a Chainlet whose endpoint is not a websocket",
    ),
    Code(
        "CSC337",
        "error",
        "a `chains.ModelBase`'s `predict` takes a websocket (Truss serves one only through `run_remote`)",
    ),
    Code(
        "CSC338",
        "error",
        "a websocket endpoint's websocket parameter is keyword-only (Truss passes it positionally)",
    ),
    Code(
        "CSC339",
        "error",
        "a field of a pydantic model an endpoint uses is `chains.WebSocketProtocol`",
    ),
    Code("CSC401", "error", "a configuration value is not statically known"),
    Code("CSC402", "error", "an unknown keyword for a configuration constructor"),
    Code("CSC403", "error", "a configuration value has the wrong type"),
    Code("CSC404", "error", "`cpu_count` must be a positive integer"),
    Code("CSC405", "error", "`memory` is not a Kubernetes quantity"),
    Code("CSC406", "error", "an unknown GPU type"),
    Code("CSC407", "error", "`gpu_count` without `gpu`"),
    Code("CSC408", "error", "an invalid `predict_concurrency`"),
    Code("CSC409", "error", "an unknown enum member in configuration"),
    Code("CSC410", "error", "configuration constructors take keyword arguments only"),
    Code("CSC411", "error", "`remote_config` is not a `RemoteConfig(...)`"),
    Code("CSC412", "error", "a file named by `make_abs_path_here` does not exist"),
    Code(
        "CSC413",
        "error",
        "a `pip_requirements` entry is not one requirement (a line break, a pip option, not PEP 508)",
    ),
    Code(
        "CSC414",
        "error",
        "a line of a requirements file (or a `pyproject.toml` dependency) is not a requirement or pip option pip reads as intended",
    ),
    Code(
        "CSC415",
        "error",
        "a value Truss's own config model refuses (a `ModelRepo`, `WeightsSource`, auth settings, paths, versions)",
    ),
    Code(
        "CSC430",
        "error",
        "an engine's parallelism (tensor x pipeline x sequence) is not its GPU count",
    ),
    Code(
        "CSC431",
        "error",
        "a v1 engine's `build` has no `checkpoint_repository`",
    ),
    Code(
        "CSC432",
        "error",
        "an engine's `base_model` or quantization Truss refuses (a renamed model, or one its GPU cannot run)",
    ),
    Code(
        "CSC433",
        "error",
        "an engine setting Truss reads as a strict integer is not one, or out of its bounds",
    ),
    Code(
        "CSC434",
        "warning",
        "a `TrussChainlet`'s `remote_config` sets more than `name`, which Truss ignores",
    ),
    Code("CSC450", "warning", "a deprecated API spelling"),
    Code(
        "CSC460",
        "warning",
        "a package imports a third-party module its requirements do not declare",
    ),
    Code(
        "CSC461",
        "warning",
        "a package imports what only Truss provides on Baseten: chainsc adds it to the requirements",
    ),
    Code(
        "CSC462",
        "warning",
        "a `uv.lock` lacks what the package needs: the package installs from a requirements.txt instead",
    ),
    Code("CSC901", "error", "internal error in chainsc"),
)

#: Code string to its documentation.
CODES: dict[str, Code] = {entry.code: entry for entry in _TABLE}
