"""Configuration: evaluated `remote_config` / `depends` values to IR, validated.

Stage: used by extract, after `evaluate`. Knows each API constructor's
parameters, defaults and value rules (the published Truss Chains API), and
reports every problem at the sub-expression that caused it.
Imports: libcst, ir, evaluate, diagnostics.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from compiler import ir
from compiler.confine import ChainRoot, Found, PathProblem
from compiler.diagnostics import Diagnostic, error, warning
from compiler.evaluate import API_ENUMS, ApiCall, EnumMember, Located, PathValue, Value
from compiler.parse import read_source
from compiler.requirement_syntax import entry_problem, file_problems
from compiler.source import SourceFile, Span
from compiler.validate import MAX_DISPLAY_NAME

#: Kubernetes quantity: a number with an optional decimal or binary suffix.
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
#: A Kubernetes quantity in thousandths (`500m`): fine for CPU, never meant for memory.
_MILLI_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?m$")

#: Positional parameter order of each constructor that accepts positionals.
_POSITIONAL: dict[str, tuple[str, ...]] = {
    "chains.Compute": ("cpu_count", "memory", "gpu", "gpu_count", "predict_concurrency", "instance_type"),
    "chains.Assets": ("cached", "secret_keys", "external_data", "weights"),
}

#: Known keyword parameters of each constructor.
_PARAMS: dict[str, tuple[str, ...]] = {
    "chains.RemoteConfig": ("docker_image", "compute", "assets", "name", "options", "build_commands"),
    "chains.DockerImage": (
        "base_image", "pip_requirements_file", "pip_requirements", "apt_requirements",
        "requirements_file", "data_dir", "external_package_dirs", "truss_server_version_override",
    ),
    "chains.Compute": _POSITIONAL["chains.Compute"],
    "chains.Assets": _POSITIONAL["chains.Assets"],
    "chains.ChainletOptions": (
        "enable_b10_tracing", "enable_debug_logs", "env_variables", "health_checks",
        "metadata", "streaming_read_timeout", "transport",
    ),
    "chains.CustomImage": ("image", "python_executable_path", "docker_auth"),
    "chains.RPCOptions": ("retries", "timeout_sec", "use_binary", "concurrency_limit"),
    "truss_config.ModelRepo": (
        "repo_id", "revision", "allow_patterns", "ignore_patterns", "volume_folder",
        "use_volume", "kind", "runtime_secret_name",
    ),
    "truss_config.ExternalDataItem": ("url", "local_data_path", "backend", "name"),
    "truss_config.WeightsSource": ("source", "mount_location", "auth", "auth_secret_name", "allow_patterns", "ignore_patterns"),
    "truss_config.HealthChecks": (
        "restart_check_delay_seconds", "restart_threshold_seconds",
        "stop_traffic_threshold_seconds", "startup_threshold_seconds",
    ),
    "truss_config.DockerAuthSettings": (
        "auth_method", "registry", "secret_name", "aws_access_key_id_secret_name",
        "aws_secret_access_key_secret_name",
    ),
    "truss_config.HTTPOptions": ("kind",),
    "truss_config.WebsocketOptions": ("kind", "ping_interval_seconds", "ping_timeout_seconds"),
    "truss_config.GRPCOptions": ("kind",),
}

#: Required keyword parameters of the truss_config helpers.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "truss_config.ModelRepo": ("repo_id",),
    "truss_config.ExternalDataItem": ("url", "local_data_path"),
    "truss_config.WeightsSource": ("source", "mount_location"),
    "chains.CustomImage": ("image",),
    "truss_config.DockerAuthSettings": ("auth_method",),
}

_GPU_TYPES = tuple(API_ENUMS["truss_config.Accelerator"])


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

    def _error(self, code: str, message: str, value: Value | ApiCall, help_text: str | None = None) -> None:
        at = value.at
        self.diagnostics.append(error(code, message, at.module.span(at.node), help=help_text))

    def _error_at(self, code: str, message: str, call: ApiCall, node: cst.CSTNode, help_text: str | None = None) -> None:
        self.diagnostics.append(error(code, message, call.at.module.span(node), help=help_text))

    def _short(self, api: str) -> str:
        return api.rpartition(".")[2]

    def arguments(self, call: ApiCall) -> dict[str, Value]:
        """Keyword view of a call: positionals mapped, unknown keywords reported."""
        name = self._short(call.api)
        known = _PARAMS.get(call.api, ())
        positional = _POSITIONAL.get(call.api, ())
        result: dict[str, Value] = {}
        if call.args and not positional:
            self._error("CSC410", f"`{name}(...)` takes keyword arguments only", call.args[0])
        for index, value in enumerate(call.args):
            if index < len(positional):
                result[positional[index]] = value
            elif positional:
                self._error("CSC410", f"`{name}(...)` takes at most {len(positional)} positional arguments", value)
        for keyword, value, arg in call.kwargs:
            if keyword not in known:
                assert arg.keyword is not None
                suggestion = _closest(keyword, known)
                self._error_at(
                    "CSC402",
                    f"`{name}` has no parameter `{keyword}`",
                    call,
                    arg.keyword,
                    f"did you mean `{suggestion}`?" if suggestion else f"known parameters: {', '.join(known)}",
                )
                continue
            result[keyword] = value
        for required in _REQUIRED.get(call.api, ()):
            if required not in result and not _has_unknown(call, known):
                self._error("CSC403", f"`{name}(...)` needs `{required}`", call)
        return result

    def _expect_call(self, value: Value, api: str) -> ApiCall | None:
        data = value.data
        if isinstance(data, ApiCall) and data.api == api:
            return data
        self._error("CSC403", f"expected `{self._short(api)}(...)`, got `{_describe(value)}`", value)
        return None

    def _str(self, value: Value, what: str) -> str | None:
        if isinstance(value.data, str):
            return value.data
        self._error("CSC403", f"`{what}` must be a string, got `{_describe(value)}`", value)
        return None

    def _opt_str(self, value: Value | None, what: str) -> str | None:
        if value is None or value.data is None:
            return None
        return self._str(value, what)

    def _int(self, value: Value, what: str) -> int | None:
        if isinstance(value.data, int) and not isinstance(value.data, bool):
            return value.data
        self._error("CSC403", f"`{what}` must be an integer, got `{_describe(value)}`", value)
        return None

    def _number(self, value: Value, what: str) -> float | None:
        if isinstance(value.data, int | float) and not isinstance(value.data, bool):
            return float(value.data)
        self._error("CSC403", f"`{what}` must be a number, got `{_describe(value)}`", value)
        return None

    def _bool(self, value: Value, what: str) -> bool | None:
        if isinstance(value.data, bool):
            return value.data
        self._error("CSC403", f"`{what}` must be `True` or `False`, got `{_describe(value)}`", value)
        return None

    def _str_list(self, value: Value, what: str) -> tuple[str, ...]:
        if not isinstance(value.data, list):
            self._error("CSC403", f"`{what}` must be a list of strings, got `{_describe(value)}`", value)
            return ()
        items = [self._str(item, f"{what}[{index}]") for index, item in enumerate(value.data)]
        return tuple(item for item in items if item is not None)

    def _path(self, value: Value, what: str, *, is_dir: bool | None = None) -> str | None:
        """A checked `make_abs_path_here` path; `is_dir`: it must be a directory (True) or a file (False)."""
        if isinstance(value.data, PathValue):
            if is_dir is not None and value.data.is_dir != is_dir:
                kind, other = ("a directory", "a file") if is_dir else ("a file", "a directory")
                self._error("CSC403", f"`{what}` must be {kind}, but `{value.data.path}` is {other}", value)
                return None
            return value.data.path
        self._error(
            "CSC403",
            f"`{what}` must be made with `chains.make_abs_path_here(...)`",
            value,
            "paths are relative to the file that defines them: `chains.make_abs_path_here(\"requirements.txt\")`",
        )
        return None

    def _json(self, value: Value, what: str) -> ir.JsonValue:
        data = value.data
        if data is None or isinstance(data, str | int | float | bool):
            return data
        if isinstance(data, list):
            return tuple(self._json(item, what) for item in data)
        if isinstance(data, dict):
            return ir.JsonObject(tuple((key, self._json(item, what)) for key, item in data.items()))
        if isinstance(data, EnumMember):
            return data.value
        if isinstance(data, ApiCall):
            return self.truss_object(value)
        self._error("CSC403", f"`{what}` must be JSON data", value)
        return None

    def truss_object(self, value: Value, api: str | None = None) -> ir.JsonObject:
        """A truss_config helper call (ModelRepo, ExternalDataItem, ...) as JSON."""
        data = value.data
        if not isinstance(data, ApiCall) or (api is not None and data.api != api):
            expected = self._short(api) if api else "a truss_config object"
            self._error("CSC403", f"expected `{expected}(...)`, got `{_describe(value)}`", value)
            return ir.JsonObject()
        arguments = self.arguments(data)
        items = [(key, self._json(item, key)) for key, item in arguments.items()]
        if data.api == "truss_config.ModelRepo" and "use_volume" not in arguments:
            self.diagnostics.append(
                warning(
                    "CSC450",
                    "`ModelRepo(...)` without `use_volume` is deprecated",
                    data.at.module.span(data.at.node),
                    help="current spelling: `ModelRepo(..., use_volume=False)`, or `use_volume=True` with `volume_folder` and `revision`",
                )
            )
            items.append(("use_volume", False))
        if data.api == "truss_config.ModelRepo" and arguments.get("use_volume") is not None:
            use_volume = arguments["use_volume"]
            if use_volume.data is True and "volume_folder" not in arguments:
                self._error("CSC403", "`ModelRepo(use_volume=True)` needs `volume_folder`", data)
        return ir.JsonObject(tuple(sorted(items)))

    # -- constructors -----------------------------------------------------------

    def remote_config(self, value: Value, written: Located | None = None) -> ir.RemoteConfig:
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
        args = self.arguments(call)
        docker_image = self.docker_image(args["docker_image"]) if "docker_image" in args else ir.DockerImage()
        compute = self.compute(args["compute"]) if "compute" in args else ir.Compute()
        assets = self.assets(args["assets"]) if "assets" in args else ir.Assets()
        options = self.options(args["options"]) if "options" in args else ir.ChainletOptions()
        name = self._opt_str(args.get("name"), "name")
        if name is not None and len(name) > MAX_DISPLAY_NAME:
            self._error(
                "CSC113",
                f"Chainlet name of {len(name)} characters is too long: at most {MAX_DISPLAY_NAME}",
                args["name"],
                "the name is the package's directory name (and the deployed model's): choose a shorter one",
            )
        build_commands = self._str_list(args["build_commands"], "build_commands") if "build_commands" in args else ()
        return ir.RemoteConfig(docker_image, compute, assets, name, options, build_commands)

    def docker_image(self, value: Value) -> ir.DockerImage:
        """`DockerImage(...)` to IR (with the deprecated spellings accepted)."""
        call = self._expect_call(value, "chains.DockerImage")
        if call is None:
            return ir.DockerImage()
        args = self.arguments(call)
        base_image = self.base_image(args["base_image"]) if "base_image" in args else ir.BaseImage()
        requirements_file = self._path(args["requirements_file"], "requirements_file", is_dir=False) if "requirements_file" in args else None
        if requirements_file is not None:
            self._check_requirements_file(args["requirements_file"], requirements_file)
        if "pip_requirements_file" in args:
            legacy = args["pip_requirements_file"]
            self.diagnostics.append(
                warning(
                    "CSC450",
                    "`pip_requirements_file` is deprecated",
                    legacy.at.module.span(legacy.at.node),
                    help="current spelling: `requirements_file=chains.make_abs_path_here(...)`",
                )
            )
            if "requirements_file" in args:
                self._error("CSC403", "give `requirements_file` only, not also `pip_requirements_file`", legacy)
            else:
                requirements_file = self._path(legacy, "pip_requirements_file", is_dir=False)
                if requirements_file is not None:
                    self._check_requirements_file(legacy, requirements_file)
        data_dir = self._path(args["data_dir"], "data_dir", is_dir=True) if "data_dir" in args and args["data_dir"].data is not None else None
        if data_dir is not None:
            self._check_tree(args["data_dir"], data_dir)
        package_dirs: tuple[str, ...] = ()
        if "external_package_dirs" in args and args["external_package_dirs"].data is not None:
            dirs_value = args["external_package_dirs"]
            if isinstance(dirs_value.data, list):
                found = [self._path(item, "external_package_dirs", is_dir=True) for item in dirs_value.data]
                package_dirs = tuple(item for item in found if item is not None)
            else:
                self._error("CSC403", "`external_package_dirs` must be a list of paths", dirs_value)
        return ir.DockerImage(
            base_image=base_image,
            pip_requirements=self._requirement_list(args["pip_requirements"]) if "pip_requirements" in args else (),
            apt_requirements=self._str_list(args["apt_requirements"], "apt_requirements") if "apt_requirements" in args else (),
            requirements_file=requirements_file,
            data_dir=data_dir,
            external_package_dirs=package_dirs,
            truss_server_version_override=self._opt_str(args.get("truss_server_version_override"), "truss_server_version_override"),
        )

    def _requirement_list(self, value: Value) -> tuple[str, ...]:
        """`pip_requirements`: strings, each one requirement (CSC413 otherwise, at the entry)."""
        entries = self._str_list(value, "pip_requirements")
        if isinstance(value.data, list):
            for item in value.data:
                if isinstance(item.data, str) and (problem := entry_problem(item.data)) is not None:
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
                    Span(relative, problem.line, problem.col, problem.line, problem.end_col),
                    help="one requirement (PEP 508, a URL or a path) or pip option per line: docs/requirements.md",
                )
            )

    def _read(self, value: Value, relative: str) -> SourceFile | None:
        assert self.root is not None
        found = self.root.lookup(relative)
        if not isinstance(found, Found) or not found.is_file:
            return None  # checked by the evaluator: only a change on disk since gets here
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
        walked = self.root.walk(relative, include=lambda path: "__pycache__" not in path.split("/"))
        if isinstance(walked, PathProblem):
            self._error(walked.code, f"`data_dir` cannot be copied: {walked.describe()}", value, walked.help)

    def base_image(self, value: Value) -> ir.BaseImage:
        """`BasetenImage.PY311`, `CustomImage(...)`, or a deprecated plain string."""
        data = value.data
        if isinstance(data, EnumMember) and data.enum == "chains.BasetenImage":
            return ir.BaseImage(ir.BaseImageKind.BASETEN, data.value, data.value)
        if isinstance(data, str):
            self.diagnostics.append(
                warning(
                    "CSC450",
                    "`base_image` as a plain string is deprecated",
                    value.at.module.span(value.at.node),
                    help=f"current spelling: `base_image=chains.CustomImage(image={data!r})`",
                )
            )
            return ir.BaseImage(ir.BaseImageKind.CUSTOM, data, _python_version_of(data))
        if isinstance(data, ApiCall) and data.api == "chains.CustomImage":
            args = self.arguments(data)
            image = self._str(args["image"], "image") if "image" in args else None
            auth = self.truss_object(args["docker_auth"], "truss_config.DockerAuthSettings") if "docker_auth" in args and args["docker_auth"].data is not None else None
            return ir.BaseImage(
                ir.BaseImageKind.CUSTOM,
                image or "",
                _python_version_of(image or ""),
                self._opt_str(args.get("python_executable_path"), "python_executable_path"),
                auth,
            )
        self._error("CSC403", f"`base_image` must be `BasetenImage.<version>` or `CustomImage(...)`, got `{_describe(value)}`", value)
        return ir.BaseImage()

    def _memory(self, value: Value) -> str:
        """`Compute(memory=...)`: a quantity of bytes truss accepts (else the default)."""
        parsed = self._str(value, "memory")
        if parsed is None:
            return "2Gi"
        if _MILLI_QUANTITY.match(parsed):
            # Kubernetes reads `500m` as 0.5 bytes; truss rejects the unit.
            self._error(
                "CSC405",
                f"`memory` of `{parsed}` is in thousandths of a byte (unit `m`)",
                value,
                f"for mebibytes write \"{parsed[:-1]}Mi\" (or \"{parsed[:-1]}M\" for megabytes)",
            )
            return "2Gi"
        if not _QUANTITY.match(parsed):
            self._error(
                "CSC405",
                f"`memory` must be a Kubernetes quantity, got `{_describe(value)}`",
                value,
                "for example \"512Mi\", \"2Gi\" or \"16G\"",
            )
            return "2Gi"
        return parsed

    def compute(self, value: Value) -> ir.Compute:
        """`Compute(...)` to IR, checking cpu, memory, gpu and concurrency."""
        call = self._expect_call(value, "chains.Compute")
        if call is None:
            return ir.Compute()
        args = self.arguments(call)
        cpu_count = 1
        if "cpu_count" in args:
            parsed = self._int(args["cpu_count"], "cpu_count")
            if parsed is not None and parsed <= 0:
                self._error("CSC404", f"`cpu_count` must be a positive integer, got `{parsed}`", args["cpu_count"])
            elif parsed is not None:
                cpu_count = parsed
        memory = self._memory(args["memory"]) if "memory" in args else "2Gi"
        gpu: str | None = None
        if "gpu" in args and args["gpu"].data is not None:
            gpu_value = args["gpu"]
            gpu_data = gpu_value.data
            if isinstance(gpu_data, EnumMember) and gpu_data.enum == "truss_config.Accelerator":
                gpu = gpu_data.value
            elif isinstance(gpu_data, str):
                if gpu_data in _GPU_TYPES:
                    gpu = gpu_data
                else:
                    suggestion = _closest(gpu_data.upper(), _GPU_TYPES)
                    self._error(
                        "CSC406",
                        f"unknown GPU type `{gpu_data}`",
                        gpu_value,
                        (f"did you mean `{suggestion}`? " if suggestion else "") + f"known types: {', '.join(_GPU_TYPES)}",
                    )
            else:
                self._error("CSC403", f"`gpu` must be a GPU type name or `truss_config.Accelerator`, got `{_describe(gpu_value)}`", gpu_value)
        gpu_count = 1
        if "gpu_count" in args:
            parsed = self._int(args["gpu_count"], "gpu_count")
            if parsed is not None and parsed <= 0:
                self._error("CSC403", f"`gpu_count` must be a positive integer, got `{parsed}`", args["gpu_count"])
            elif parsed is not None:
                gpu_count = parsed
                if gpu is None and "gpu" not in args:
                    self._error("CSC407", "`gpu_count` is set but no `gpu` type is given", args["gpu_count"], "add `gpu=\"A10G\"` (or another type)")
        predict_concurrency = 1
        if "predict_concurrency" in args:
            concurrency = args["predict_concurrency"]
            if concurrency.data == "cpu_count":
                predict_concurrency = cpu_count
            elif isinstance(concurrency.data, int) and not isinstance(concurrency.data, bool) and concurrency.data > 0:
                predict_concurrency = concurrency.data
            else:
                self._error(
                    "CSC408",
                    f"`predict_concurrency` must be a positive integer or \"cpu_count\", got `{_describe(concurrency)}`",
                    concurrency,
                )
        return ir.Compute(
            cpu_count=cpu_count,
            memory=memory,
            gpu=gpu,
            gpu_count=gpu_count,
            predict_concurrency=predict_concurrency,
            instance_type=self._opt_str(args.get("instance_type"), "instance_type"),
        )

    def assets(self, value: Value) -> ir.Assets:
        """`Assets(...)` to IR."""
        call = self._expect_call(value, "chains.Assets")
        if call is None:
            return ir.Assets()
        args = self.arguments(call)

        def objects(key: str, api: str) -> tuple[ir.JsonObject, ...]:
            if key not in args:
                return ()
            items = args[key]
            if not isinstance(items.data, list):
                self._error("CSC403", f"`{key}` must be a list", items)
                return ()
            return tuple(self.truss_object(item, api) for item in items.data)

        return ir.Assets(
            secret_keys=self._str_list(args["secret_keys"], "secret_keys") if "secret_keys" in args else (),
            cached=objects("cached", "truss_config.ModelRepo"),
            external_data=objects("external_data", "truss_config.ExternalDataItem"),
            weights=objects("weights", "truss_config.WeightsSource"),
        )

    def options(self, value: Value) -> ir.ChainletOptions:
        """`ChainletOptions(...)` to IR."""
        call = self._expect_call(value, "chains.ChainletOptions")
        if call is None:
            return ir.ChainletOptions()
        args = self.arguments(call)
        env: list[tuple[str, str]] = []
        if "env_variables" in args:
            env_value = args["env_variables"]
            if isinstance(env_value.data, dict):
                for key, item in env_value.data.items():
                    text = self._str(item, f"env_variables[{key!r}]")
                    if text is not None:
                        env.append((key, text))
            else:
                self._error("CSC403", "`env_variables` must be a dict of strings", env_value)
        timeout = 60
        if "streaming_read_timeout" in args:
            parsed = self._int(args["streaming_read_timeout"], "streaming_read_timeout")
            if parsed is not None:
                timeout = parsed
        flags = {key: self._bool(args[key], key) for key in ("enable_b10_tracing", "enable_debug_logs") if key in args}
        return ir.ChainletOptions(
            enable_b10_tracing=bool(flags.get("enable_b10_tracing")),
            enable_debug_logs=bool(flags.get("enable_debug_logs")),
            env_variables=tuple(sorted(env)),
            health_checks=self.truss_object(args["health_checks"], "truss_config.HealthChecks") if "health_checks" in args else ir.JsonObject(),
            metadata=self._json(args["metadata"], "metadata") if "metadata" in args else None,
            streaming_read_timeout=timeout,
            transport=self.truss_object(args["transport"]) if "transport" in args and args["transport"].data is not None else None,
        )

    def rpc_options(self, values: dict[str, Value]) -> ir.RPCOptions:
        """`depends(..., retries=, timeout_sec=, use_binary=, concurrency_limit=)` to IR."""
        defaults = ir.RPCOptions()
        retries = defaults.retries
        timeout = defaults.timeout_sec
        use_binary = defaults.use_binary
        limit = defaults.concurrency_limit
        if "retries" in values:
            parsed = self._int(values["retries"], "retries")
            if parsed is not None and parsed < 0:
                # Truss Chains treats 0 like 1 (one attempt); only negatives are wrong.
                self._error("CSC309", f"`retries` is the total number of attempts and cannot be negative, got `{parsed}`", values["retries"])
            elif parsed is not None:
                retries = parsed
        if "timeout_sec" in values:
            number = self._number(values["timeout_sec"], "timeout_sec")
            if number is not None and number <= 0:
                self._error("CSC309", f"`timeout_sec` must be positive, got `{values['timeout_sec'].plain()}`", values["timeout_sec"])
            elif number is not None:
                timeout = number
        if "use_binary" in values:
            flag = self._bool(values["use_binary"], "use_binary")
            use_binary = bool(flag)
        if "concurrency_limit" in values:
            parsed = self._int(values["concurrency_limit"], "concurrency_limit")
            if parsed is not None and parsed < 1:
                self._error("CSC309", f"`concurrency_limit` must be at least 1, got `{parsed}`", values["concurrency_limit"])
            elif parsed is not None:
                limit = parsed
        return ir.RPCOptions(retries, timeout, use_binary, limit)


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

