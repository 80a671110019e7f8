"""Configuration: evaluated `remote_config` / `depends` values to IR, validated.

Stage: used by extract, after `evaluate`. Every constructor is read the same way,
from its declarative schema (`chainsc.schema`: each field's name, position,
default, reader and code): an argument becomes a typed IR field through the
reader its field names (`READERS`, type and rule), or a diagnostic at the
sub-expression that caused it, and the field keeps its default. What spans fields
(`predict_concurrency="cpu_count"`, `gpu_count` without `gpu`, the deprecated
`pip_requirements_file`) is checked after, per constructor.
Imports: libcst, ir, schema, evaluate, diagnostics.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from packaging.version import InvalidVersion, Version

from chainsc import ir
from chainsc.confine import ChainRoot, Found, PathProblem
from chainsc.diagnostics import Diagnostic, error, warning
from chainsc.evaluate import ApiCall, EnumMember, Located, PathValue, Value
from chainsc.parse import read_source
from chainsc.requirement_syntax import entry_problem, file_problems
from chainsc.schema import CONSTRUCTORS, DEPENDS, ENUMS, Constructor, Field
from chainsc.source import SourceFile, Span
from chainsc.validate import MAX_DISPLAY_NAME

#: Kubernetes quantity: a number with an optional decimal or binary suffix.
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
#: A Kubernetes quantity in thousandths (`500m`): fine for CPU, never meant for memory.
_MILLI_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?m$")

_GPU_TYPES = tuple(ENUMS["truss_config.Accelerator"])


class _Invalid:
    """A reader's answer for a value it reported: the field keeps its default."""


INVALID = _Invalid()

#: `engine_builder_config`'s constructor, and the two models its root can be.
ENGINE_CONFIG = "trt_llm_config.TRTLLMConfiguration"
ENGINE_CONFIG_V1 = "trt_llm_config.TRTLLMConfigurationV1"
ENGINE_CONFIG_V2 = "trt_llm_config.TRTLLMConfigurationV2"

#: `predict_concurrency="cpu_count"`: as many as the resolved `cpu_count`.
_CPU_COUNT = "cpu_count"

#: `ChainletOptions(transport=...)`: Truss's transport helpers and the `kind` of each
#: (a dict with that `kind` is validated into the same helper by Truss).
TRANSPORT_KINDS: dict[str, str] = {
    "truss_config.HTTPOptions": "http",
    "truss_config.WebsocketOptions": "websocket",
    "truss_config.GRPCOptions": "grpc",
}
_TRANSPORT_APIS = {kind: api for api, kind in TRANSPORT_KINDS.items()}


@dataclass(frozen=True, slots=True)
class TransportWritten:
    """The `ChainletOptions(transport=...)` value of a `remote_config`, as written."""

    #: `http`, `websocket` or `grpc`; None when it is none of Truss's (reported when read).
    kind: str | None
    #: The value's expression.
    span: Span


def transport_written(remote_config: Value) -> TransportWritten | None:
    """Where `remote_config` sets `options.transport`, and to which kind; None when unset.

    Read from the evaluated `RemoteConfig(...)` itself (positional arguments mapped by
    the schema), so the websocket rules can point at the value.
    """
    options = _argument(remote_config, "chains.RemoteConfig", "options")
    transport = (
        _argument(options, "chains.ChainletOptions", "transport")
        if options is not None
        else None
    )
    if transport is None or transport.data is None:
        return None
    return TransportWritten(
        _transport_kind(transport), transport.at.module.span(transport.at.node)
    )


def _argument(value: Value, api: str, name: str) -> Value | None:
    """The argument `name` of a call of `api` (by keyword or position), or None."""
    call = value.data
    if not isinstance(call, ApiCall) or call.api != api:
        return None
    for keyword, argument, _arg in call.kwargs:
        if keyword == name:
            return argument
    constructor = CONSTRUCTORS[api]
    if constructor.positional and name in constructor.names:
        index = constructor.names.index(name)
        if index < len(call.args):
            return call.args[index]
    return None


def _transport_kind(transport: Value) -> str | None:
    """The kind of a transport value: its helper's, or a dict's `kind` (None: neither)."""
    data = transport.data
    if isinstance(data, ApiCall):
        return TRANSPORT_KINDS.get(data.api)
    if isinstance(data, dict):
        kind = data.get("kind")
        if kind is not None and kind.data in _TRANSPORT_APIS:
            return str(kind.data)
    return None


@dataclass(slots=True)
class ConfigBuilder:
    """Turns evaluated values into IR config objects, collecting diagnostics."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: The chain root files named by the configuration are read through (set by
    #: extract); None: paths are taken as evaluated, nothing is read.
    root: ChainRoot | None = None
    #: Requirements files already checked, by root-relative path (several Chainlets share one).
    _checked_files: set[str] = field(default_factory=set)
    #: Display path -> each requirements file read (for rendering diagnostics at its lines).
    sources: dict[str, SourceFile] = field(default_factory=dict)

    # -- helpers --------------------------------------------------------------

    def _error(
        self,
        code: str,
        message: str,
        value: Value | ApiCall,
        help_text: str | None = None,
    ) -> None:
        at = value.at
        self.diagnostics.append(
            error(code, message, at.module.span(at.node), help=help_text)
        )

    def _error_at(
        self,
        code: str,
        message: str,
        call: ApiCall,
        node: cst.CSTNode,
        help_text: str | None = None,
    ) -> None:
        self.diagnostics.append(
            error(code, message, call.at.module.span(node), help=help_text)
        )

    def _short(self, api: str) -> str:
        return api.rpartition(".")[2]

    def arguments(self, call: ApiCall) -> dict[str, Value]:
        """Keyword view of a call, by its schema: positionals mapped, unknown keywords reported."""
        name = self._short(call.api)
        constructor = CONSTRUCTORS[call.api]
        known = constructor.names
        positional = known if constructor.positional else ()
        result: dict[str, Value] = {}
        if call.args and not positional:
            self._error(
                "CSC410", f"`{name}(...)` takes keyword arguments only", call.args[0]
            )
        for index, value in enumerate(call.args):
            if index < len(positional):
                result[positional[index]] = value
            elif positional:
                self._error(
                    "CSC410",
                    f"`{name}(...)` takes at most {len(positional)} positional arguments",
                    value,
                )
        for keyword, value, arg in call.kwargs:
            if keyword not in known:
                assert arg.keyword is not None
                suggestion = _closest(keyword, known)
                self._error_at(
                    "CSC402",
                    f"`{name}` has no parameter `{keyword}`",
                    call,
                    arg.keyword,
                    f"did you mean `{suggestion}`?"
                    if suggestion
                    else f"known parameters: {', '.join(known)}",
                )
                continue
            result[keyword] = value
        for required in constructor.required:
            if required not in result and not _has_unknown(call, known):
                self._error(
                    "CSC403",
                    f"`{name}(...)` needs `{required}`",
                    call,
                    _REQUIRED_HELP.get((call.api, required)),
                )
        return result

    def read(
        self, arguments: Mapping[str, Value], constructor: Constructor
    ) -> dict[str, Any]:
        """Each given field of `constructor` read by its reader; a field left out or reported keeps its default."""
        values: dict[str, Any] = {}
        for spec in constructor.fields:
            if spec.name in arguments:
                read = self._reader(spec.reader)(self, arguments[spec.name], spec)
                if read is not INVALID:
                    values[spec.name] = read
        return values

    def _reader(self, name: str) -> Callable[[ConfigBuilder, Value, Field], object]:
        """The reader a field names: one of `READERS`, a nested constructor, or a Truss config helper."""
        found = READERS.get(name)
        if found is not None:
            return found
        kind, _, api = name.rpartition(":")
        if kind == "list":
            return lambda builder, value, spec: builder._objects(value, spec, api)
        if kind == "optional":
            wanted = (
                api if api in CONSTRUCTORS else None
            )  # `optional:truss_config`: any helper
            return lambda builder, value, spec: (
                None if value.data is None else builder.truss_object(value, wanted)
            )
        if api in _NESTED:
            return lambda builder, value, spec: _NESTED[api](builder, value)
        return lambda builder, value, spec: builder.truss_object(value, api)

    def _expect_call(self, value: Value, api: str) -> ApiCall | None:
        data = value.data
        if isinstance(data, ApiCall) and data.api == api:
            return data
        self._error(
            "CSC403",
            f"expected `{self._short(api)}(...)`, got `{_describe(value)}`",
            value,
        )
        return None

    def _str(self, value: Value, what: str) -> str | None:
        if isinstance(value.data, str):
            return value.data
        self._error(
            "CSC403", f"`{what}` must be a string, got `{_describe(value)}`", value
        )
        return None

    def _opt_str(self, value: Value | None, what: str) -> str | None:
        if value is None or value.data is None:
            return None
        return self._str(value, what)

    def _int(self, value: Value, what: str) -> int | None:
        if isinstance(value.data, int) and not isinstance(value.data, bool):
            return value.data
        self._error(
            "CSC403", f"`{what}` must be an integer, got `{_describe(value)}`", value
        )
        return None

    def _number(self, value: Value, what: str) -> float | None:
        if isinstance(value.data, int | float) and not isinstance(value.data, bool):
            return float(value.data)
        self._error(
            "CSC403", f"`{what}` must be a number, got `{_describe(value)}`", value
        )
        return None

    def _bool(self, value: Value, what: str) -> bool | None:
        if isinstance(value.data, bool):
            return value.data
        self._error(
            "CSC403",
            f"`{what}` must be `True` or `False`, got `{_describe(value)}`",
            value,
        )
        return None

    def _str_list(self, value: Value, what: str) -> tuple[str, ...]:
        if not isinstance(value.data, list):
            self._error(
                "CSC403",
                f"`{what}` must be a list of strings, got `{_describe(value)}`",
                value,
            )
            return ()
        items = [
            self._str(item, f"{what}[{index}]") for index, item in enumerate(value.data)
        ]
        return tuple(item for item in items if item is not None)

    def _path(
        self, value: Value, what: str, *, is_dir: bool | None = None
    ) -> str | None:
        """A checked `make_abs_path_here` path; `is_dir`: it must be a directory (True) or a file (False)."""
        if isinstance(value.data, PathValue):
            if is_dir is not None and value.data.is_dir != is_dir:
                kind, other = (
                    ("a directory", "a file") if is_dir else ("a file", "a directory")
                )
                self._error(
                    "CSC403",
                    f"`{what}` must be {kind}, but `{value.data.path}` is {other}",
                    value,
                )
                return None
            return value.data.path
        self._error(
            "CSC403",
            f"`{what}` must be made with `chains.make_abs_path_here(...)`",
            value,
            'paths are relative to the file that defines them: `chains.make_abs_path_here("requirements.txt")`',
        )
        return None

    def _json(self, value: Value, what: str) -> ir.JsonValue:
        data = value.data
        if data is None or isinstance(data, str | int | float | bool):
            return data
        if isinstance(data, list):
            return tuple(self._json(item, what) for item in data)
        if isinstance(data, dict):
            return ir.JsonObject(
                tuple((key, self._json(item, what)) for key, item in data.items())
            )
        if isinstance(data, EnumMember):
            return data.value
        if isinstance(data, ApiCall):
            return self.truss_object(value)
        self._error("CSC403", f"`{what}` must be JSON data", value)
        return None

    def truss_object(self, value: Value, api: str | None = None) -> ir.JsonObject:
        """A truss_config helper (ModelRepo, ExternalDataItem, ...) as JSON, checked as Truss checks it.

        A dict is read as the helper's fields, as pydantic reads it (`health_checks={...}`;
        a transport by its `kind`).
        """
        data = value.data
        if isinstance(data, dict):
            kind = _kind_of(data)
            target = (
                api
                if api is not None
                else _TRANSPORTS.get(kind)
                if isinstance(kind, str)
                else None
            )
            if target is not None:
                arguments = self._dict_arguments(value, data, target)
                return self._truss_fields(target, arguments, value)
        if not isinstance(data, ApiCall) or (api is not None and data.api != api):
            expected = self._short(api) if api else "a truss_config object"
            self._error(
                "CSC403", f"expected `{expected}(...)`, got `{_describe(value)}`", value
            )
            return ir.JsonObject()
        return self._truss_fields(data.api, self.arguments(data), data)

    def _dict_arguments(
        self, value: Value, data: dict[str, Value], api: str
    ) -> dict[str, Value]:
        """The fields of a helper written as a dict: unknown keys and missing ones reported."""
        constructor = CONSTRUCTORS[api]
        name = self._short(api)
        known = constructor.names
        for key, item in data.items():
            if key not in known:
                suggestion = _closest(key, known)
                self._error(
                    "CSC402",
                    f"`{name}` has no field `{key}`",
                    item,
                    f"did you mean `{suggestion}`?"
                    if suggestion
                    else f"known fields: {', '.join(known)}",
                )
        for required in constructor.required:
            if required not in data:
                self._error("CSC403", f"`{name}` needs `{required}`", value)
        return {key: item for key, item in data.items() if key in known}

    def _truss_fields(
        self, api: str, arguments: dict[str, Value], at: Value | ApiCall
    ) -> ir.JsonObject:
        items = [(key, self._json(item, key)) for key, item in arguments.items()]
        self._truss_rules(api, arguments, at)
        return ir.JsonObject(tuple(sorted(items)))

    def _truss_rules(
        self, api: str, arguments: dict[str, Value], at: Value | ApiCall
    ) -> None:
        """What Truss's own model of a config helper refuses (its pydantic validators)."""
        name = self._short(api)
        for key in _NOT_EMPTY.get(api, ()):
            found = arguments.get(key)
            if found is not None and found.data == "":
                self._error("CSC415", f"`{name}.{key}` cannot be empty", found)
        for key, enum_name in _ENUM_FIELDS.get(api, {}).items():
            found = arguments.get(key)
            if found is not None and isinstance(found.data, str):
                members = ENUMS.get(enum_name) or _WEIGHTS_AUTH_METHODS
                normalized = found.data.upper() if key == "auth_method" else found.data
                if normalized not in members.values():
                    self._error(
                        "CSC409",
                        f"`{name}.{key}` is `{found.data}`, not one of Truss's",
                        found,
                        f"one of: {', '.join(sorted(members.values()))}",
                    )
        for key, (accepts, kind) in _TYPED_FIELDS.get(api, {}).items():
            found = arguments.get(key)
            if found is not None and not (found.data is None or accepts(found.data)):
                self._error(
                    "CSC403",
                    f"`{name}.{key}` must be {kind}, got `{_describe(found)}`",
                    found,
                )
        if api == "truss_config.ModelRepo":
            self._model_repo_rules(arguments, at)
        elif api == "truss_config.WeightsSource":
            self._weights_source_rules(arguments, at)
        if api in _AUTH_SECRET:
            self._auth_rules(api, arguments, at)

    def _model_repo_rules(
        self, arguments: dict[str, Value], at: Value | ApiCall
    ) -> None:
        revision = arguments.get("revision")
        if (
            revision is not None
            and isinstance(revision.data, str)
            and len(revision.data) == 1
        ):
            self._error(
                "CSC415",
                "`ModelRepo.revision` must be empty or at least 2 characters",
                revision,
            )
        use_volume = arguments.get("use_volume")
        if use_volume is None or use_volume.data is not True:
            return
        folder = arguments.get("volume_folder")
        if folder is None or folder.data in (None, ""):
            self._error(
                "CSC403",
                "`ModelRepo(use_volume=True)` needs `volume_folder`",
                at if folder is None else folder,
            )
        kind = arguments.get("kind")
        kind_name = (
            kind.data.value
            if kind is not None and isinstance(kind.data, EnumMember)
            else kind.data
            if kind is not None
            else "hf"
        )
        if kind_name in (None, "hf") and (revision is None or not revision.data):
            self._error(
                "CSC415",
                "`ModelRepo(use_volume=True)` of a Hugging Face repo needs a `revision` (a commit sha, or a branch or tag)",
                at if revision is None else revision,
                "Truss caches a Hugging Face repo in a volume by its revision",
            )

    def _weights_source_rules(
        self, arguments: dict[str, Value], at: Value | ApiCall
    ) -> None:
        source = arguments.get("source")
        if source is not None and isinstance(source.data, str) and source.data:
            problem = _weights_source_problem(source.data)
            if problem is not None:
                self._error("CSC415", problem, source)
        mount = arguments.get("mount_location")
        if (
            mount is not None
            and isinstance(mount.data, str)
            and mount.data
            and not mount.data.startswith("/")
        ):
            self._error(
                "CSC415",
                f"`WeightsSource.mount_location` must be an absolute path (start with `/`), got `{mount.data}`",
                mount,
            )
        auth = arguments.get("auth")
        secret = arguments.get("auth_secret_name")
        if auth is None:
            return
        inner = (
            auth.data
            if isinstance(auth.data, dict)
            else {key: item for key, item, _arg in auth.data.kwargs}
            if isinstance(auth.data, ApiCall)
            else {}
        )
        if isinstance(auth.data, dict):
            self._truss_rules(
                "truss_config.WeightsAuth",
                self._dict_arguments(auth, inner, "truss_config.WeightsAuth"),
                auth,
            )
        inner_secret = inner.get("auth_secret_name")
        if (
            secret is not None
            and secret.data
            and inner_secret is not None
            and inner_secret.data
        ):
            self._error(
                "CSC415",
                "`auth_secret_name` is given both in the `WeightsSource` and in its `auth`: give it once",
                secret,
            )

    def _auth_rules(
        self, api: str, arguments: dict[str, Value], at: Value | ApiCall
    ) -> None:
        """Each auth method needs its own fields and no other method's (Truss's matrix)."""
        method = arguments.get("auth_method")
        if method is None:
            return
        written = (
            method.data.value
            if isinstance(method.data, EnumMember)
            else method.data.upper()
            if isinstance(method.data, str)
            else None
        )
        secret_field = _AUTH_SECRET[api]
        groups = {**_AUTH_GROUPS, _SECRET_METHOD[api]: (secret_field,)}
        if written not in groups:
            return  # other methods have no such rule
        required = groups[written]
        others = sorted(
            {field for group in groups.values() for field in group} - set(required)
        )
        name = self._short(api)
        missing = [
            key
            for key in required
            if arguments.get(key) is None or arguments[key].data in (None, "")
        ]
        if missing:
            self._error(
                "CSC415",
                f'`{name}(auth_method="{written}")` needs {", ".join(f"`{key}`" for key in missing)}',
                method,
            )
        for key in others:
            found = arguments.get(key)
            if found is not None and found.data not in (None, ""):
                self._error(
                    "CSC415",
                    f'`{key}` cannot be given with `auth_method="{written}"`',
                    found,
                )

    def _objects(
        self, value: Value, spec: Field, api: str
    ) -> tuple[ir.JsonObject, ...]:
        """A list of Truss config helper calls (`Assets(cached=[ModelRepo(...)])`)."""
        if not isinstance(value.data, list):
            self._error("CSC403", f"`{spec.name}` must be a list", value)
            return ()
        if api == "truss_config.WeightsSource":
            self._unique_mounts(value.data)
        return tuple(self.truss_object(item, api) for item in value.data)

    def _unique_mounts(self, sources: list[Value]) -> None:
        """Each weights source is mounted at its own path (Truss's rule)."""
        seen: set[str] = set()
        for item in sources:
            call = item.data
            if not isinstance(call, ApiCall):
                continue
            mount = next(
                (found for key, found, _arg in call.kwargs if key == "mount_location"),
                None,
            )
            if mount is None or not isinstance(mount.data, str):
                continue
            if mount.data in seen:
                self._error(
                    "CSC415",
                    f"two weights sources are mounted at `{mount.data}`: each needs a path of its own",
                    mount,
                )
            seen.add(mount.data)

    # -- readers: one per kind of field (`READERS`) --------------------------------------

    def _read_str(self, value: Value, spec: Field) -> object:
        found = self._str(value, spec.name)
        return INVALID if found is None else found

    def _read_optional_str(self, value: Value, spec: Field) -> object:
        return self._opt_str(value, spec.name)

    def _read_transport(self, value: Value, spec: Field) -> object:
        """`transport=`: `HTTPOptions(...)`, `WebsocketOptions(...)`, `GRPCOptions(...)`, or a dict of one.

        Truss validates a dict into the helper its `"kind"` names (`{"kind": "grpc"}`), so
        a dict is read as that helper's arguments.
        """
        data = value.data
        if data is None:
            return None
        if isinstance(data, ApiCall) and data.api in TRANSPORT_KINDS:
            return self.truss_object(value, data.api)
        if isinstance(data, dict):
            kind = data.get("kind")
            api = _TRANSPORT_APIS.get(str(kind.data)) if kind is not None else None
            if kind is None or api is None:
                self._error(
                    "CSC403",
                    'a `transport` dict needs a `"kind"`: `"http"`, `"websocket"` or `"grpc"`',
                    kind or value,
                )
                return INVALID
            known = CONSTRUCTORS[api].names
            for key, item in data.items():
                if key not in known:
                    self._error(
                        "CSC402",
                        f"`{self._short(api)}` (`transport` of kind `{kind.data}`) has no field `{key}`",
                        item,
                        f"known fields: {', '.join(known)}",
                    )
            return ir.JsonObject(
                tuple(
                    sorted(
                        (key, self._json(item, key))
                        for key, item in data.items()
                        if key in known
                    )
                )
            )
        self._error(
            "CSC403",
            f"`transport` must be `truss_config.HTTPOptions(...)`, `WebsocketOptions(...)` or `GRPCOptions(...)`, got `{_describe(value)}`",
            value,
        )
        return INVALID

    def _read_int(self, value: Value, spec: Field) -> object:
        found = self._int(value, spec.name)
        return INVALID if found is None else found

    def _read_bool(self, value: Value, spec: Field) -> object:
        found = self._bool(value, spec.name)
        return INVALID if found is None else found

    def _read_str_list(self, value: Value, spec: Field) -> object:
        return self._str_list(value, spec.name)

    def _read_json(self, value: Value, spec: Field) -> object:
        return self._json(value, spec.name)

    def _read_count(self, value: Value, spec: Field) -> object:
        parsed = self._int(value, spec.name)
        if parsed is not None and parsed < 0:
            self._error(
                spec.code,
                f"`{spec.name}` must be zero or more, got `{parsed}`",
                value,
            )
            return INVALID
        return INVALID if parsed is None else parsed

    def _read_server_version(self, value: Value, spec: Field) -> object:
        """`truss_server_version_override`: a version Truss can parse (`"0.9.80"`)."""
        version = self._opt_str(value, spec.name)
        if version is not None:
            try:
                Version(version)
            except InvalidVersion:
                self._error(
                    "CSC415",
                    f"`{spec.name}` `{version}` is not a version",
                    value,
                    'a truss release, such as "0.9.80"',
                )
                return INVALID
        return version

    def _read_positive_int(self, value: Value, spec: Field) -> object:
        parsed = self._int(value, spec.name)
        if parsed is not None and parsed <= 0:
            self._error(
                spec.code,
                f"`{spec.name}` must be a positive integer, got `{parsed}`",
                value,
            )
            return INVALID
        return INVALID if parsed is None else parsed

    def _read_memory(self, value: Value, spec: Field) -> object:
        """`Compute(memory=...)`: a quantity of bytes truss accepts."""
        parsed = self._str(value, spec.name)
        if parsed is None:
            return INVALID
        if _MILLI_QUANTITY.match(parsed):
            # Kubernetes reads `500m` as 0.5 bytes; truss rejects the unit.
            self._error(
                spec.code,
                f"`memory` of `{parsed}` is in thousandths of a byte (unit `m`)",
                value,
                f'for mebibytes write "{parsed[:-1]}Mi" (or "{parsed[:-1]}M" for megabytes)',
            )
            return INVALID
        if not _QUANTITY.match(parsed):
            self._error(
                spec.code,
                f"`memory` must be a Kubernetes quantity, got `{_describe(value)}`",
                value,
                'for example "512Mi", "2Gi" or "16G"',
            )
            return INVALID
        return parsed

    def _read_gpu(self, value: Value, spec: Field) -> object:
        """An accelerator: `truss_config.Accelerator.H100` or its name."""
        data = value.data
        if data is None:
            return None
        if isinstance(data, EnumMember) and data.enum == "truss_config.Accelerator":
            return data.value
        if isinstance(data, str):
            if data in _GPU_TYPES:
                return data
            suggestion = _closest(data.upper(), _GPU_TYPES)
            self._error(
                spec.code,
                f"unknown GPU type `{data}`",
                value,
                (f"did you mean `{suggestion}`? " if suggestion else "")
                + f"known types: {', '.join(_GPU_TYPES)}",
            )
            return INVALID
        self._error(
            "CSC403",
            f"`gpu` must be a GPU type name or `truss_config.Accelerator`, got `{_describe(value)}`",
            value,
        )
        return INVALID

    def _read_concurrency(self, value: Value, spec: Field) -> object:
        """A positive integer, or `"cpu_count"` (resolved by `compute`)."""
        data = value.data
        if data == _CPU_COUNT:
            return _CPU_COUNT
        if isinstance(data, int) and not isinstance(data, bool) and data > 0:
            return data
        self._error(
            spec.code,
            f'`predict_concurrency` must be a positive integer or "cpu_count", got `{_describe(value)}`',
            value,
        )
        return INVALID

    def _read_display_name(self, value: Value, spec: Field) -> object:
        """`RemoteConfig(name=...)`: the package's directory name, so not too long."""
        name = self._opt_str(value, spec.name)
        if name is not None and len(name) > MAX_DISPLAY_NAME:
            self._error(
                spec.code,
                f"Chainlet name of {len(name)} characters is too long: at most {MAX_DISPLAY_NAME}",
                value,
                "the name is the package's directory name (and the deployed model's): choose a shorter one",
            )
        return name

    def _read_requirements(self, value: Value, spec: Field) -> object:
        return self._requirement_list(value)

    def _read_requirements_file(self, value: Value, spec: Field) -> object:
        found = self._path(value, spec.name, is_dir=False)
        if found is None:
            return INVALID
        self._check_requirements_file(value, found)
        return found

    def _read_legacy_requirements_file(self, value: Value, spec: Field) -> object:
        """`pip_requirements_file`: deprecated; read by `docker_image`, which knows whether the current spelling is given too."""
        return value

    def _read_data_dir(self, value: Value, spec: Field) -> object:
        if value.data is None:
            return None
        found = self._path(value, spec.name, is_dir=True)
        if found is None:
            return INVALID
        self._check_tree(value, found)
        return found

    def _read_package_dirs(self, value: Value, spec: Field) -> object:
        if value.data is None:
            return ()
        if not isinstance(value.data, list):
            self._error("CSC403", f"`{spec.name}` must be a list of paths", value)
            return INVALID
        found = [self._path(item, spec.name, is_dir=True) for item in value.data]
        return tuple(item for item in found if item is not None)

    def _read_str_dict(self, value: Value, spec: Field) -> object:
        if not isinstance(value.data, dict):
            self._error("CSC403", f"`{spec.name}` must be a dict of strings", value)
            return INVALID
        entries: list[tuple[str, str]] = []
        for key, item in value.data.items():
            text = self._str(item, f"{spec.name}[{key!r}]")
            if text is not None:
                entries.append((key, text))
        return tuple(sorted(entries))

    def _read_base_image(self, value: Value, spec: Field) -> object:
        return self.base_image(value)

    def _read_attempts(self, value: Value, spec: Field) -> object:
        """`retries`: the total number of attempts; Truss Chains treats 0 like 1, only negatives are wrong."""
        parsed = self._int(value, spec.name)
        if parsed is not None and parsed < 0:
            self._error(
                spec.code,
                f"`retries` is the total number of attempts and cannot be negative, got `{parsed}`",
                value,
            )
            return INVALID
        return INVALID if parsed is None else parsed

    def _read_positive_number(self, value: Value, spec: Field) -> object:
        number = self._number(value, spec.name)
        if number is not None and number <= 0:
            self._error(
                spec.code,
                f"`{spec.name}` must be positive, got `{value.plain()}`",
                value,
            )
            return INVALID
        return INVALID if number is None else number

    def _read_at_least_one(self, value: Value, spec: Field) -> object:
        parsed = self._int(value, spec.name)
        if parsed is not None and parsed < 1:
            self._error(
                spec.code, f"`{spec.name}` must be at least 1, got `{parsed}`", value
            )
            return INVALID
        return INVALID if parsed is None else parsed

    # -- constructors: the schema's fields, then what spans fields -------------------------

    def remote_config(
        self, value: Value, written: Located | None = None
    ) -> ir.RemoteConfig:
        """`RemoteConfig(...)` to IR; `written` is the class attribute's value (for CSC411)."""
        call = value.data
        if not isinstance(call, ApiCall) or call.api != "chains.RemoteConfig":
            at = written or value.at
            self.diagnostics.append(
                error(
                    "CSC411",
                    f"`remote_config` must be `chains.RemoteConfig(...)`, got `{_describe(value)}`",
                    at.module.span(at.node),
                )
            )
            return ir.RemoteConfig()
        return ir.RemoteConfig(
            **self.read(self.arguments(call), CONSTRUCTORS[call.api])
        )

    def docker_image(self, value: Value) -> ir.DockerImage:
        """`DockerImage(...)` to IR (with the deprecated `pip_requirements_file` accepted)."""
        call = self._expect_call(value, "chains.DockerImage")
        if call is None:
            return ir.DockerImage()
        args = self.arguments(call)
        values = self.read(args, CONSTRUCTORS[call.api])
        legacy = values.pop("pip_requirements_file", None)
        if isinstance(legacy, Value):
            self.diagnostics.append(
                warning(
                    "CSC450",
                    "`pip_requirements_file` is deprecated",
                    legacy.at.module.span(legacy.at.node),
                    help="current spelling: `requirements_file=chains.make_abs_path_here(...)`",
                )
            )
            if "requirements_file" in args:
                self._error(
                    "CSC403",
                    "give `requirements_file` only, not also `pip_requirements_file`",
                    legacy,
                )
            else:
                found = self._path(legacy, "pip_requirements_file", is_dir=False)
                if found is not None:
                    self._check_requirements_file(legacy, found)
                    values["requirements_file"] = found
        return ir.DockerImage(**values)

    def _python_path(self, value: Value | None) -> str | None:
        """`CustomImage(python_executable_path=...)`: absolute, as Truss requires."""
        path = self._opt_str(value, "python_executable_path")
        if value is not None and path and not path.startswith("/"):
            self._error(
                "CSC415",
                f"`python_executable_path` must be an absolute path, got `{path}`",
                value,
                "the Python of the image, such as `/usr/bin/python3`",
            )
        return path

    def compute(self, value: Value) -> ir.Compute:
        """`Compute(...)` to IR: `gpu_count` needs a `gpu`; `predict_concurrency` may follow `cpu_count`."""
        call = self._expect_call(value, "chains.Compute")
        if call is None:
            return ir.Compute()
        args = self.arguments(call)
        values = self.read(args, CONSTRUCTORS[call.api])
        if "gpu_count" in values and "gpu" not in args:
            self._error(
                "CSC407",
                "`gpu_count` is set but no `gpu` type is given",
                args["gpu_count"],
                'add `gpu="A10G"` (or another type)',
            )
        if values.get("predict_concurrency") == _CPU_COUNT:
            values["predict_concurrency"] = values.get(
                "cpu_count", ir.Compute().cpu_count
            )
        if values.get("gpu_count") == 0:
            # Truss writes no accelerator for a count of zero: no GPU.
            values.pop("gpu", None)
            values.pop("gpu_count")
        return ir.Compute(**values)

    def assets(self, value: Value) -> ir.Assets:
        """`Assets(...)` to IR."""
        call = self._expect_call(value, "chains.Assets")
        if call is None:
            return ir.Assets()
        return ir.Assets(**self.read(self.arguments(call), CONSTRUCTORS[call.api]))

    def options(self, value: Value) -> ir.ChainletOptions:
        """`ChainletOptions(...)` to IR."""
        call = self._expect_call(value, "chains.ChainletOptions")
        if call is None:
            return ir.ChainletOptions()
        return ir.ChainletOptions(
            **self.read(self.arguments(call), CONSTRUCTORS[call.api])
        )

    def engine_builder_config(self, value: Value) -> ir.JsonObject | None:
        """`engine_builder_config = trt_llm_config.TRTLLMConfiguration(...)` as `trt_llm` JSON (CSC341 otherwise).

        `TRTLLMConfiguration` is a root model: its JSON is its `root`'s (a
        `TRTLLMConfigurationV1(...)`/`V2(...)` call, or their fields as a dict), or,
        when it is called with those fields as keywords, theirs: v2 when
        `inference_stack` says so, else v1, as truss picks the model.
        """
        call = value.data
        if not isinstance(call, ApiCall) or call.api != ENGINE_CONFIG:
            self._error(
                "CSC341",
                f"`engine_builder_config` must be `trt_llm_config.TRTLLMConfiguration(...)`, got `{_describe(value)}`",
                value,
                "`from truss.base import trt_llm_config`, then `engine_builder_config = "
                "trt_llm_config.TRTLLMConfiguration(root=trt_llm_config.TRTLLMConfigurationV1(build=...))`",
            )
            return None
        if call.args or any(keyword == "root" for keyword, _, _ in call.kwargs):
            root = self.arguments(call).get("root")
            if root is None:
                return None
            found = self._json(root, "root")
            if isinstance(found, ir.JsonObject):
                return found
            self._error(
                "CSC341",
                f"the `root` of `TRTLLMConfiguration` must be `TRTLLMConfigurationV1(...)` or `TRTLLMConfigurationV2(...)`, got `{_describe(root)}`",
                root,
            )
            return None
        stack = next(
            (item for keyword, item, _ in call.kwargs if keyword == "inference_stack"),
            None,
        )
        stack_value = (
            stack.data.value
            if stack is not None and isinstance(stack.data, EnumMember)
            else stack.data
            if stack is not None
            else None
        )
        api = ENGINE_CONFIG_V2 if stack_value == "v2" else ENGINE_CONFIG_V1
        return self.truss_object(
            Value(ApiCall(api, (), call.kwargs, call.at), value.at)
        )

    def rpc_options(self, values: dict[str, Value]) -> ir.RPCOptions:
        """`depends(..., retries=, timeout_sec=, use_binary=, concurrency_limit=)` to IR."""
        return ir.RPCOptions(**self.read(values, DEPENDS))

    def _requirement_list(self, value: Value) -> tuple[str, ...]:
        """`pip_requirements`: strings, each one requirement (CSC413 otherwise, at the entry)."""
        entries = self._str_list(value, "pip_requirements")
        if isinstance(value.data, list):
            for item in value.data:
                if (
                    isinstance(item.data, str)
                    and (problem := entry_problem(item.data)) is not None
                ):
                    self._error(
                        "CSC413",
                        f"`pip_requirements` entry {item.data!r} is not one requirement: {problem}",
                        item,
                        "one PEP 508 requirement (or URL) per entry; put pip options such as "
                        "`--extra-index-url` in a `requirements_file`",
                    )
        return entries

    def _check_requirements_file(self, value: Value, relative: str) -> None:
        """Read a `requirements_file` now, so a build reads nothing unchecked.

        Its text must be UTF-8 (CSC001) and every line one pip reads as intended
        (CSC414, at the line); a `pyproject.toml`'s dependencies (also the one next
        to a `uv.lock`, which Truss reads) must each be one requirement (CSC414, at
        the path), and that sibling must not lead out of the root either.
        """
        if self.root is None or relative in self._checked_files:
            return
        self._checked_files.add(relative)
        name = relative.rpartition("/")[2]
        if name == "uv.lock":
            sibling = f"{relative.rpartition('/')[0]}/pyproject.toml".lstrip("/")
            found = self.root.lookup(sibling)
            if isinstance(found, PathProblem):
                self._error(found.code, found.about(sibling), value, found.help)
            elif found is not None and found.is_file:
                self._check_pyproject(value, sibling)
            else:
                # Truss reads the project next to a lock (and so does the package's copy).
                self._error(
                    "CSC412",
                    f"`{relative}` needs the `pyproject.toml` next to it, and there is no `{sibling}`",
                    value,
                    "Truss installs a `uv.lock` together with its project's `pyproject.toml`: keep them side by side",
                )
            return
        if name == "pyproject.toml":
            self._check_pyproject(value, relative)
            return
        source = self._read(value, relative)
        if source is None:
            return
        for problem in file_problems(source.text):
            self.diagnostics.append(
                error(
                    "CSC414",
                    problem.message,
                    Span(
                        relative,
                        problem.line,
                        problem.col,
                        problem.line,
                        problem.end_col,
                    ),
                    help="one requirement (PEP 508, a URL or a path) or pip option per line: docs/requirements.md",
                )
            )

    def _read(self, value: Value, relative: str) -> SourceFile | None:
        assert self.root is not None
        found = self.root.lookup(relative)
        if not isinstance(found, Found) or not found.is_file:
            return (
                None  # checked by the evaluator: only a change on disk since gets here
            )
        source = read_source(str(found.real), relative)
        if isinstance(source, Diagnostic):
            self.diagnostics.append(source)
            return None
        self.sources[relative] = source
        return source

    def _check_pyproject(self, value: Value, relative: str) -> None:
        source = self._read(value, relative)
        if source is None:
            return
        try:
            project = tomllib.loads(source.text).get("project")
        except tomllib.TOMLDecodeError:
            return  # read as declaring nothing, as before (`requirements.project_dependencies`)
        declared = project.get("dependencies", []) if isinstance(project, dict) else []
        for item in declared if isinstance(declared, list) else []:
            if isinstance(item, str) and (problem := entry_problem(item)) is not None:
                self._error(
                    "CSC414",
                    f"dependency {item!r} in `{relative}` is not one requirement: {problem}",
                    value,
                    "one PEP 508 requirement per entry of `[project].dependencies`",
                )

    def _check_tree(self, value: Value, relative: str) -> None:
        """A `data_dir` is copied whole: no link in it may lead out of the root or loop."""
        if self.root is None:
            return
        walked = self.root.walk(
            relative, include=lambda path: "__pycache__" not in path.split("/")
        )
        if isinstance(walked, PathProblem):
            self._error(
                walked.code,
                f"`data_dir` cannot be copied: {walked.describe()}",
                value,
                walked.help,
            )

    def base_image(self, value: Value) -> ir.BaseImage:
        """`BasetenImage.PY311`, `CustomImage(...)`, or a deprecated plain string."""
        data = value.data
        if isinstance(data, EnumMember) and data.enum == "chains.BasetenImage":
            return ir.BaseImage(ir.BaseImageKind.BASETEN, data.value, data.value)
        if isinstance(data, str):
            # Deprecated before, refused since: truss 0.18.36 raises on a plain string.
            self._error(
                "CSC403",
                "`base_image` cannot be a plain string: Truss refuses it",
                value,
                f"write `base_image=chains.CustomImage(image={data!r})`",
            )
            return ir.BaseImage()
        if isinstance(data, ApiCall) and data.api == "chains.CustomImage":
            args = self.arguments(data)
            image = self._str(args["image"], "image") if "image" in args else None
            auth = (
                self.truss_object(
                    args["docker_auth"], "truss_config.DockerAuthSettings"
                )
                if "docker_auth" in args and args["docker_auth"].data is not None
                else None
            )
            return ir.BaseImage(
                ir.BaseImageKind.CUSTOM,
                image or "",
                _python_version_of(image or ""),
                self._python_path(args.get("python_executable_path")),
                auth,
            )
        self._error(
            "CSC403",
            f"`base_image` must be `BasetenImage.<version>` or `CustomImage(...)`, got `{_describe(value)}`",
            value,
        )
        return ir.BaseImage()


#: How to give a required field, where it is not obvious.
_REQUIRED_HELP = {
    ("truss_config.ModelRepo", "use_volume"): (
        "Truss requires it: `use_volume=False`, or `use_volume=True` with `volume_folder` and `revision`"
    ),
}
#: A transport written as a dict, by its `kind` (as pydantic discriminates it).
_TRANSPORTS = {
    "http": "truss_config.HTTPOptions",
    "websocket": "truss_config.WebsocketOptions",
    "grpc": "truss_config.GRPCOptions",
}
#: Fields of Truss config helpers that may not be empty strings (`min_length=1`).
_NOT_EMPTY: dict[str, tuple[str, ...]] = {
    "truss_config.ModelRepo": ("repo_id", "volume_folder"),
    "truss_config.ExternalDataItem": ("url", "local_data_path"),
    "truss_config.WeightsSource": ("source", "mount_location"),
}
#: Fields whose string value must be a member of a Truss enum.
_ENUM_FIELDS: dict[str, dict[str, str]] = {
    "truss_config.ModelRepo": {"kind": "truss_config.ModelRepoSourceKind"},
    "truss_config.DockerAuthSettings": {"auth_method": "truss_config.DockerAuthType"},
    "truss_config.WeightsAuth": {"auth_method": "truss_config.WeightsAuthMethod"},
}
#: `truss_config.WeightsAuthMethod` (not an enum the runtime provides: only its values).
_WEIGHTS_AUTH_METHODS = {
    name: name for name in ("CUSTOM_SECRET", "AWS_OIDC", "GCP_OIDC", "AWS_ASSUME_ROLE")
}
#: Fields of Truss config helpers with a scalar type: what pydantic's lax mode accepts
#: for each (an int, or a numeric string; a number also a float), and its name.
_INTEGER: tuple[Callable[[object], bool], str] = (
    lambda data: _is_int(data) or _is_int_text(data),
    "an integer",
)
_NUMBER: tuple[Callable[[object], bool], str] = (
    lambda data: _is_int(data) or isinstance(data, float) or _is_number_text(data),
    "a number",
)
_TYPED_FIELDS: dict[str, dict[str, tuple[Callable[[object], bool], str]]] = {
    "truss_config.HealthChecks": dict.fromkeys(
        (
            "restart_check_delay_seconds",
            "restart_threshold_seconds",
            "stop_traffic_threshold_seconds",
            "startup_threshold_seconds",
        ),
        _INTEGER,
    ),
    "truss_config.WebsocketOptions": dict.fromkeys(
        ("ping_interval_seconds", "ping_timeout_seconds"), _NUMBER
    ),
}
#: The fields each authentication method needs (and every other method may not have).
_AUTH_GROUPS: dict[str, tuple[str, ...]] = {
    "AWS_OIDC": ("aws_oidc_role_arn", "aws_oidc_region"),
    "GCP_OIDC": ("gcp_oidc_service_account", "gcp_oidc_workload_id_provider"),
    "AWS_ASSUME_ROLE": ("aws_assume_role_arn", "aws_assume_role_region"),
}
#: The secret field of each authenticated helper, and the method that needs it.
_AUTH_SECRET = {
    "truss_config.DockerAuthSettings": "secret_name",
    "truss_config.WeightsAuth": "auth_secret_name",
}
_SECRET_METHOD = {
    "truss_config.DockerAuthSettings": "GCP_SERVICE_ACCOUNT_JSON",
    "truss_config.WeightsAuth": "CUSTOM_SECRET",
}
_CLOUD_SCHEMES = ("s3://", "gs://", "azure://", "r2://", "cw://")
_WEIGHTS_SCHEMES = (*_CLOUD_SCHEMES, "hf://", "https://")


def _kind_of(data: dict[str, Value]) -> object:
    kind = data.get("kind")
    return kind.data if kind is not None else None


def _is_int(data: object) -> bool:
    return isinstance(data, int) and not isinstance(data, bool)


def _is_number_text(data: object) -> bool:
    """A string pydantic's lax mode reads as a float."""
    if not isinstance(data, str):
        return False
    try:
        float(data)
    except ValueError:
        return False
    return True


def _is_int_text(data: object) -> bool:
    """A string pydantic reads as an integer (lax mode: `"300"`)."""
    return isinstance(data, str) and data.strip().lstrip("+-").isdigit()


def _weights_source_problem(source: str) -> str | None:
    """Why Truss refuses a `WeightsSource.source` URI, or None."""
    schemes = ", ".join(sorted(_WEIGHTS_SCHEMES))
    if "://" not in source:
        return f"`WeightsSource.source` `{source}` has no URI scheme: one of {schemes}"
    scheme = source.split("://", maxsplit=1)[0] + "://"
    if scheme not in _WEIGHTS_SCHEMES:
        return (
            f"`WeightsSource.source` has the scheme `{scheme}`; Truss takes {schemes}"
        )
    rest = source[len(scheme) :]
    if not rest or rest.startswith("/"):
        expected = {"hf://": "hf://owner/repo", "https://": "https://host/path"}.get(
            scheme, f"{scheme}bucket/path"
        )
        return f"`WeightsSource.source` `{source}` is not of the form `{expected}`"
    if scheme in _CLOUD_SCHEMES and "@" in rest:
        return f"`WeightsSource.source` `{source}`: the `@revision` suffix is for Hugging Face sources (`hf://`) only"
    return None


#: How each kind of field is read (`schema.Field.reader`): its type and rule. A reader
#: returns the field's value, or `INVALID` (reported; the field keeps its default).
READERS: dict[str, Callable[[ConfigBuilder, Value, Field], object]] = {
    "str": ConfigBuilder._read_str,
    "optional_str": ConfigBuilder._read_optional_str,
    "int": ConfigBuilder._read_int,
    "bool": ConfigBuilder._read_bool,
    "str_list": ConfigBuilder._read_str_list,
    "str_dict": ConfigBuilder._read_str_dict,
    "json": ConfigBuilder._read_json,
    "positive_int": ConfigBuilder._read_positive_int,
    "memory": ConfigBuilder._read_memory,
    "gpu": ConfigBuilder._read_gpu,
    "concurrency": ConfigBuilder._read_concurrency,
    "display_name": ConfigBuilder._read_display_name,
    "count": ConfigBuilder._read_count,
    "server_version": ConfigBuilder._read_server_version,
    "requirements": ConfigBuilder._read_requirements,
    "requirements_file": ConfigBuilder._read_requirements_file,
    "legacy_requirements_file": ConfigBuilder._read_legacy_requirements_file,
    "data_dir": ConfigBuilder._read_data_dir,
    "package_dirs": ConfigBuilder._read_package_dirs,
    "base_image": ConfigBuilder._read_base_image,
    "attempts": ConfigBuilder._read_attempts,
    "positive_number": ConfigBuilder._read_positive_number,
    "at_least_one": ConfigBuilder._read_at_least_one,
    "transport": ConfigBuilder._read_transport,
}

#: Fields whose value is another constructor's call, by the constructor.
_NESTED: dict[str, Callable[[ConfigBuilder, Value], object]] = {
    "chains.DockerImage": ConfigBuilder.docker_image,
    "chains.Compute": ConfigBuilder.compute,
    "chains.Assets": ConfigBuilder.assets,
    "chains.ChainletOptions": ConfigBuilder.options,
}


def _python_version_of(image: str) -> str | None:
    """`python:3.11-slim` -> `py311`; None when the tag does not say."""
    match = re.search(r"python:?(3)\.?(\d{1,2})", image)
    return f"py{match.group(1)}{match.group(2)}" if match else None


def _describe(value: Value) -> str:
    data = value.data
    if isinstance(data, ApiCall):
        return f"{data.api.rpartition('.')[2]}(...)"
    if isinstance(data, EnumMember):
        return f"{data.enum.rpartition('.')[2]}.{data.member}"
    if isinstance(data, PathValue):
        return f"make_abs_path_here({data.path!r})"
    text = value.at.module.code(value.at.node)
    return text if len(text) <= 40 else text[:37] + "..."


def _has_unknown(call: ApiCall, known: Sequence[str]) -> bool:
    return any(keyword not in known for keyword, _value, _arg in call.kwargs)


def _closest(word: str, candidates: Sequence[str]) -> str | None:
    import difflib  # noqa: PLC0415 - only needed on the error path

    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None
