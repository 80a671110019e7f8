"""Engine-builder Chainlets and TrussChainlets: what they declare, and the rules Truss has for them.

Stage: front end (extract and validate). Neither kind has code of its own for chainsc
to compile: a `chains.EngineBuilderLLMChainlet` is a TensorRT-LLM engine Baseten builds
from its `engine_builder_config` (its `run_remote(llm_input) -> AsyncIterator[str]` is
Truss's, final), and a `chains.TrussChainlet` is an existing Truss directory
(`truss_dir`), deployed as it is and called over HTTP through a `TrussHandle`.

Extraction reads what each declares through this module, reporting at the value what
the IR cannot hold: `engine_builder_config`'s rules as truss 0.18.36 checks them when it
reads the config (`engine_config_errors`: CSC430-CSC433), the `remote_config` fields an
engine builder does not take (`engine_remote_config_errors`, CSC342), and a `truss_dir`
that is no Truss directory under the chain root (`truss_dir_path`, CSC346-CSC348 and the
chain root's CSC011-CSC013). `check_kinds` is the rule over what extraction saw
(`validate.RULES`): the attribute each kind needs (CSC340, CSC345), an engine builder's
own `run_remote` (CSC343), dependencies of either (CSC344), a TrussChainlet as the
entrypoint (CSC349).
Imports: ir, confine, diagnostics, evaluate, observations, schema, source; PyYAML to
read a Truss directory's `config.yaml` (only when a chain has a TrussChainlet).
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from chainsc import ir
from chainsc.confine import ChainRoot, PathProblem, normalize
from chainsc.diagnostics import Diagnostic, error, warning
from chainsc.evaluate import ApiCall, PathValue, Value
from chainsc.observations import Observations, choose_entrypoint
from chainsc.schema import CONSTRUCTORS
from chainsc.source import Span

#: The class attribute each kind needs.
ENGINE_CONFIG_ATTRIBUTE = "engine_builder_config"
TRUSS_DIR_ATTRIBUTE = "truss_dir"
#: The file that makes a directory a Truss.
TRUSS_CONFIG_FILE = "config.yaml"
#: The engine builder's endpoint, as Truss defines it (final).
ENGINE_PARAM = "llm_input"
ENGINE_INPUT_TYPE = "chainsc_runtime.EngineBuilderLLMInput"

_DEPENDS = "chains.depends"
_DEPENDS_CONTEXT = "chains.depends_context"

#: `base_model`s truss 0.18.36 refuses, and why.
_REFUSED_MODELS = {
    **dict.fromkeys(
        ("palmyra", "qwen", "llama", "mistral", "deepseek"),
        "was renamed `decoder`, which finds the architecture in the checkpoint",
    ),
    "whisper": "is no longer an engine Truss builds (Whisper is served as a chain)",
}
_FP8 = frozenset({"fp8", "fp8_kv", "fp8_mlp_only"})
_FP4 = frozenset({"fp4", "fp4_kv", "fp4_mlp_only"})
#: The GPUs truss refuses each kind of build on.
_NO_TRT_LLM = frozenset({"T4", "V100"})
_NO_FP8 = frozenset({"A10G", "A100", "A100_40GB", "T4", "V100"})
_NO_FP4 = frozenset({"H100", "H100_40GB", "H200", "L4", "L40S", "A100_40GB"})
#: Tensor-parallel world sizes truss expects (any other draws its warning).
_WORLD_SIZES = frozenset({1, 2, 4, 8, 16, 32, 64, 128})


@dataclass(frozen=True, slots=True)
class _IntRange:
    """A strict integer field of the TRT-LLM config and the bounds truss gives it."""

    path: tuple[str, ...]
    low: int | None = None
    high: int | None = None
    #: `gt` rather than `ge`.
    low_exclusive: bool = False
    #: Must be a multiple of this (`calib_size`).
    multiple: int | None = None


#: The bounded integers of truss 0.18.36's TRT-LLM models, by path under the root
#: (`runtime` paths differ between v1 and v2: both are listed, each applies where it is).
_V1_RANGES = (
    _IntRange(("build", "max_seq_len"), 1, 1048576),
    _IntRange(("build", "max_batch_size"), 1, 2048),
    _IntRange(("build", "max_num_tokens"), 64, 1048576, low_exclusive=True),
    _IntRange(("build", "max_beam_width"), 1, 1),
    _IntRange(("build", "tensor_parallel_count"), 1),
    _IntRange(("build", "num_builder_gpus"), 1),
    _IntRange(("build", "quantization_config", "calib_size"), 64, 16384, multiple=64),
    _IntRange(
        ("build", "quantization_config", "calib_max_seq_length"),
        64,
        16384,
        multiple=64,
    ),
    _IntRange(("build", "speculator", "num_draft_tokens"), 1),
    _IntRange(("build", "speculator", "lookahead_windows_size"), 1),
    _IntRange(("build", "speculator", "lookahead_ngram_size"), 1),
    _IntRange(("build", "speculator", "lookahead_verification_set_size"), 1),
)
_RUNTIME_V1_RANGES = (
    _IntRange(("runtime", "kv_cache_host_memory_bytes"), 1),
    _IntRange(("runtime", "lora_cache_max_adapter_size"), 1),
    _IntRange(("runtime", "lora_cache_optimal_adapter_size"), 1),
    _IntRange(("runtime", "lora_cache_host_memory_bytes"), 1),
    _IntRange(("runtime", "request_default_max_tokens"), 1),
)
_RUNTIME_V2_RANGES = (
    _IntRange(("runtime", "max_seq_len"), 1, 1048576),
    _IntRange(("runtime", "max_batch_size"), 1, 2048),
    _IntRange(("runtime", "max_num_tokens"), 64, 131072, low_exclusive=True),
    _IntRange(("runtime", "tensor_parallel_size"), 1),
)


# -- finding a written value -------------------------------------------------------------


def argument(call: ApiCall, name: str) -> Value | None:
    """The argument of `call` for parameter `name` (keyword, or positional by its schema)."""
    for keyword, value, _arg in call.kwargs:
        if keyword == name:
            return value
    constructor = CONSTRUCTORS.get(call.api)
    if constructor is not None and constructor.positional and name in constructor.names:
        index = constructor.names.index(name)
        if index < len(call.args):
            return call.args[index]
    return None


def find(value: Value | None, *path: str) -> Value | None:
    """The value written at `path` under `value` (arguments of calls, keys of dicts)."""
    for name in path:
        if value is None:
            return None
        data = value.data
        if isinstance(data, ApiCall):
            value = argument(data, name)
        elif isinstance(data, dict):
            value = data.get(name)
        else:
            return None
    return value


def engine_root(value: Value) -> Value:
    """The written root of `TRTLLMConfiguration(...)`: its `root`, or the call itself (fields as keywords)."""
    data = value.data
    if isinstance(data, ApiCall):
        root = argument(data, "root")
        if root is not None:
            return root
    return value


def _span(value: Value | None, fallback: Value) -> Span:
    at = (value or fallback).at
    return at.module.span(at.node)


def _json_at(config: ir.JsonObject, *path: str) -> ir.JsonValue:
    value: ir.JsonValue = config
    for name in path:
        if not isinstance(value, ir.JsonObject):
            return None
        value = value.get(name)
    return value


def _strict_int(value: ir.JsonValue) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# -- engine builders -----------------------------------------------------------------------


def engine_remote_config_errors(
    remote: ir.RemoteConfig, written: Value | None
) -> list[Diagnostic]:
    """CSC342: what an engine builder's `remote_config` may not set (Truss compares with the defaults).

    The engine's image, caches and health checks are Baseten's: `docker_image`,
    `assets.cached`, `assets.external_data` and `options.health_checks` must stay
    unset (or at their defaults), each reported at its value.
    """
    if written is None:
        return []
    found: list[tuple[str, Value | None]] = []
    if remote.docker_image != ir.DockerImage():
        found.append(("docker_image", find(written, "docker_image")))
    if remote.assets.cached:
        found.append(("assets.cached", find(written, "assets", "cached")))
    if remote.assets.external_data:
        found.append(("assets.external_data", find(written, "assets", "external_data")))
    if remote.options.health_checks.items:
        found.append(
            ("options.health_checks", find(written, "options", "health_checks"))
        )
    return [
        error(
            "CSC342",
            f"an engine builder's `remote_config` cannot set `{name}`: Baseten builds "
            "and serves the engine with its own image, weights and health checks",
            _span(value, written),
            help="leave it unset (the engine is configured by `engine_builder_config`); "
            "`assets.weights` mirrors the checkpoint, `compute` sizes the GPUs",
        )
        for name, value in found
    ]


def engine_config_errors(
    config: ir.JsonObject,
    written: Value,
    compute: ir.Compute,
    remote: Value | None,
) -> list[Diagnostic]:
    """CSC430-CSC433: what truss 0.18.36 refuses when it reads `trt_llm` (each at its value).

    `config` is the root's JSON (`ir.Chainlet.engine_builder_config`), `written` the
    `engine_builder_config` value, `compute` the Chainlet's, `remote` its written
    `remote_config` (to point at `gpu=`).
    """
    root = engine_root(written)
    stack = config.get("inference_stack") or "v1"
    found: list[Diagnostic] = []
    base_model = _json_at(config, "build", "base_model") or "decoder"
    quantization = _json_at(config, "build", "quantization_type")
    gpu_at = find(remote, "compute", "gpu")
    if isinstance(base_model, str) and base_model in _REFUSED_MODELS:
        found.append(
            error(
                "CSC432",
                f"`base_model` `{base_model}` {_REFUSED_MODELS[base_model]}",
                _span(find(root, "build", "base_model"), written),
                help="`base_model=trt_llm_config.TrussTRTLLMModel.DECODER` for text generation",
            )
        )
    gpu = compute.gpu
    if gpu in _NO_TRT_LLM and base_model != "encoder_bert":
        found.append(
            error(
                "CSC432",
                f"TensorRT-LLM engines do not run on `{gpu}` GPUs (CUDA compute 7.x)",
                _span(gpu_at, written),
                help="use an A10G, A100, L4, H100 or newer (only `encoder_bert` runs on T4 and V100)",
            )
        )
    elif quantization in _FP8 and gpu in _NO_FP8:
        found.append(
            error(
                "CSC432",
                f"`{quantization}` quantization needs an L4, H100, H200, B200 or newer GPU, not `{gpu}`",
                _span(find(root, "build", "quantization_type"), written),
            )
        )
    elif quantization in _FP4 and gpu in _NO_FP4:
        found.append(
            error(
                "CSC432",
                f"`{quantization}` quantization needs a B200 (Blackwell) or newer GPU, not `{gpu}`",
                _span(find(root, "build", "quantization_type"), written),
            )
        )
    if stack == "v1":
        if _json_at(config, "build", "checkpoint_repository") is None:
            found.append(
                error(
                    "CSC431",
                    "a v1 engine needs `build.checkpoint_repository`: the checkpoint it is built from",
                    _span(find(root, "build"), written),
                    help="`checkpoint_repository=trt_llm_config.CheckpointRepository("
                    'source=trt_llm_config.CheckpointSource.HF, repo="org/model")`',
                )
            )
        if base_model == "decoder":
            found.extend(_world_size_errors(config, root, written, compute, remote))
    ranges = (
        *_V1_RANGES,
        *(_RUNTIME_V2_RANGES if stack == "v2" else _RUNTIME_V1_RANGES),
    )
    for spec in ranges:
        if _json_at(config, *spec.path) is not None:
            problem = _range_error(spec, config, root, written)
            if problem is not None:
                found.append(problem)
    return found


def _world_size_errors(
    config: ir.JsonObject,
    root: Value,
    written: Value,
    compute: ir.Compute,
    remote: Value | None,
) -> list[Diagnostic]:
    """CSC430: a decoder's parallelism (tensor x pipeline x sequence) is its GPU count, as truss requires."""
    counts = [
        _strict_int(_json_at(config, "build", name))
        for name in (
            "tensor_parallel_count",
            "pipeline_parallel_count",
            "sequence_parallel_count",
        )
    ]
    values = [1 if count is None else count for count in counts]
    given = [
        _json_at(config, "build", name)
        for name in (
            "tensor_parallel_count",
            "pipeline_parallel_count",
            "sequence_parallel_count",
        )
    ]
    if any(value is not None and _strict_int(value) is None for value in given):
        return []  # not integers: CSC433 or truss's own type check says so
    world = values[0] * values[1] * values[2]
    gpus = 0 if compute.gpu is None else compute.gpu_count
    if world == gpus:
        return []
    at = find(root, "build", "tensor_parallel_count") or find(
        remote, "compute", "gpu_count" if compute.gpu is not None else "gpu"
    )
    shown = f"{gpus} GPU{'s' if gpus != 1 else ''}" if gpus else "no GPU"
    return [
        error(
            "CSC430",
            f"the engine runs on {world} GPU{'s' if world != 1 else ''} "
            f"(tensor_parallel_count {values[0]} x pipeline_parallel_count {values[1]} "
            f"x sequence_parallel_count {values[2]}), but `compute` gives it {shown}",
            _span(at, written),
            help=(
                f'set `compute=chains.Compute(gpu="H100", gpu_count={world})` (or another GPU)'
                if world in _WORLD_SIZES
                else "make the parallel counts multiply to the `gpu_count` of `compute`"
            ),
        )
    ]


def _range_error(
    spec: _IntRange, config: ir.JsonObject, root: Value, written: Value
) -> Diagnostic | None:
    """CSC433: a strict integer of the engine config that is no integer, or out of truss's bounds."""
    value = _json_at(config, *spec.path)
    name = ".".join(spec.path)
    at = _span(find(root, *spec.path), written)
    number = _strict_int(value)
    if number is None:
        return error(
            "CSC433",
            f"`{name}` must be an integer, got `{value!r}`",
            at,
            help="truss reads these settings strictly: no strings, floats or booleans",
        )
    low_ok = spec.low is None or (
        number > spec.low if spec.low_exclusive else number >= spec.low
    )
    high_ok = spec.high is None or number <= spec.high
    if low_ok and high_ok and (spec.multiple is None or number % spec.multiple == 0):
        return None
    bounds = []
    if spec.low is not None:
        bounds.append(f"{'>' if spec.low_exclusive else '>='} {spec.low}")
    if spec.high is not None:
        bounds.append(f"<= {spec.high}")
    if spec.multiple is not None:
        bounds.append(f"a multiple of {spec.multiple}")
    return error(
        "CSC433",
        f"`{name}` must be {' and '.join(bounds)}, got `{number}`",
        at,
    )


# -- TrussChainlets ---------------------------------------------------------------------


def truss_dir_path(
    root: ChainRoot, module_path: str, value: Value
) -> tuple[str | None, list[Diagnostic]]:
    """The Truss directory `truss_dir` names, relative to the chain root; or why it names none.

    Relative to the file that defines the class, as Truss resolves it, and confined to
    the chain root; the directory must hold a `config.yaml`, and everything under it
    (the package carries it whole) must stay inside the root.
    """
    at = value.at.module.span(value.at.node)
    data = value.data
    if not isinstance(data, str):
        shown = (
            f"make_abs_path_here({data.path!r})"
            if isinstance(data, PathValue)
            else value.at.module.code(value.at.node)
        )
        return None, [
            error(
                "CSC346",
                f"`truss_dir` must be a path string, got `{shown[:60]}`",
                at,
                help='the directory relative to this file: `truss_dir = "my_truss"`',
            )
        ]
    written = data
    relative = normalize(written, posixpath.dirname(module_path))
    found = root.lookup(relative) if isinstance(relative, str) else relative
    if isinstance(found, PathProblem):
        return None, [error(found.code, found.about(written), at, help=found.help)]
    assert isinstance(relative, str)
    looked = f" (looked for `{relative}`)" if relative != written else ""
    if found is None or not found.is_dir:
        what = "does not exist" if found is None else "is not a directory"
        return None, [
            error(
                "CSC347",
                f"`truss_dir` `{written}` {what} next to `{module_path}`{looked}",
                at,
                help="a TrussChainlet's `truss_dir` is a Truss directory (its `config.yaml`, "
                "`model/model.py`, ...), relative to the file that defines the class",
            )
        ]
    config = root.lookup(posixpath.join(relative, TRUSS_CONFIG_FILE))
    if isinstance(config, PathProblem):
        return None, [error(config.code, config.about(written), at, help=config.help)]
    if config is None or not config.is_file:
        return None, [
            error(
                "CSC348",
                f"`truss_dir` `{written}` has no `{TRUSS_CONFIG_FILE}`: it is not a Truss directory{looked}",
                at,
                help="`truss init` makes one; the directory needs its `config.yaml`",
            )
        ]
    config_path = posixpath.join(relative, TRUSS_CONFIG_FILE)
    try:
        parsed = load_truss_config(root.read_text(config_path))
    except (OSError, UnicodeDecodeError):
        parsed = None
    if parsed is None:
        return None, [
            error(
                "CSC348",
                f"`{config_path}` is not a Truss config: not a YAML mapping of settings",
                at,
                help="fix the Truss directory's `config.yaml` (`truss init` writes one)",
            )
        ]
    walked = root.walk(relative, include=truss_file_filter(relative))
    if isinstance(walked, PathProblem):
        return None, [
            error(
                walked.code,
                f"`truss_dir` cannot be carried: {walked.describe()}",
                at,
                help=walked.help,
            )
        ]
    return relative, []


def load_truss_config(text: str) -> dict[str, object] | None:
    """A Truss directory's `config.yaml` as data; None when it is not a YAML mapping with string keys.

    The one user YAML chainsc reads: the front end checks it, the back end writes it
    back (`emit.truss_config.truss_directory_config`).
    """
    import yaml  # noqa: PLC0415 - only chains with a TrussChainlet read YAML

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        return None
    return data


def truss_remote_config_warnings(
    remote: ir.RemoteConfig, written: Value | None
) -> list[Diagnostic]:
    """CSC434: a TrussChainlet's `remote_config` beyond `name`, which Truss ignores."""
    if written is None or replace_name(remote) == ir.RemoteConfig():
        return []
    return [
        warning(
            "CSC434",
            "a TrussChainlet is configured by its Truss directory's `config.yaml`: this "
            "`remote_config` is ignored, except `name`",
            _span(None, written),
            help="set resources, secrets and requirements in the `config.yaml` of `truss_dir`",
        )
    ]


def replace_name(remote: ir.RemoteConfig) -> ir.RemoteConfig:
    """`remote` without its `name` (the one field a TrussChainlet's `remote_config` sets)."""
    return ir.RemoteConfig(
        docker_image=remote.docker_image,
        compute=remote.compute,
        assets=remote.assets,
        options=remote.options,
        build_commands=remote.build_commands,
    )


#: What truss leaves out when it copies a Truss directory (the fixed patterns of its
#: `.truss_ignore`, truss 0.18.36), as (pattern, directories only, anchored at the top).
_IGNORED: tuple[tuple[str, bool, bool], ...] = tuple(
    (
        pattern.strip("/"),
        pattern.endswith("/"),
        "/" in pattern.strip("/"),
    )
    for pattern in (
        "__pycache__/",
        "*.py[cod]",
        "*$py.class",
        "*.so",
        ".Python",
        "build/",
        "develop-eggs/",
        "dist/",
        "downloads/",
        "eggs/",
        ".eggs/",
        "lib/",
        "lib64/",
        "parts/",
        "sdist/",
        "var/",
        "wheels/",
        "share/python-wheels/",
        "*.egg-info/",
        ".installed.cfg",
        "*.egg",
        "MANIFEST",
        ".DS_Store",
        "*.manifest",
        "*.spec",
        "pip-log.txt",
        "pip-delete-this-directory.txt",
        "htmlcov/",
        ".tox/",
        ".nox/",
        ".coverage",
        ".coverage.*",
        ".cache",
        "nosetests.xml",
        "coverage.xml",
        "*.cover",
        "*.py,cover",
        ".hypothesis/",
        ".pytest_cache/",
        "cover/",
        "*.mo",
        "*.pot",
        "*.log",
        "local_settings.py",
        "db.sqlite3",
        "db.sqlite3-journal",
        "instance/",
        ".webassets-cache",
        ".scrapy",
        "docs/_build/",
        ".pybuilder/",
        "target/",
        ".ipynb_checkpoints",
        "profile_default/",
        "ipython_config.py",
        ".pdm.toml",
        "__pypackages__/",
        "celerybeat-schedule",
        "celerybeat.pid",
        "*.sage.py",
        ".env",
        ".venv",
        "env/",
        "venv/",
        "ENV/",
        "env.bak/",
        "venv.bak/",
        ".spyderproject",
        ".spyproject",
        ".ropeproject",
        ".mypy_cache/",
        ".dmypy.json",
        "dmypy.json",
        ".ruff_cache/",
        ".pyre/",
        ".pytype/",
        "cython_debug/",
        ".git",
        "*.tmp",
        "*.swp",
    )
)


def truss_file_filter(truss_dir: str) -> Callable[[str], bool]:
    """`ChainRoot.walk`'s `include` for the Truss directory `truss_dir` (root-relative paths)."""
    prefix = "" if truss_dir == "." else f"{truss_dir}/"
    return lambda path: is_carried_truss_file(path.removeprefix(prefix))


def is_carried_truss_file(path: str) -> bool:
    """Whether Truss copies `path` (relative to the Truss directory) into the package.

    As git matches the fixed `.truss_ignore` patterns: a pattern without an inner `/`
    matches any path component's name, one with it matches from the top, one with a
    trailing `/` only directories, so the entries under one (`walk` asks before it
    knows whether an entry is a directory; it asks again for what is under it).
    """
    parts = path.split("/")
    for index, name in enumerate(parts):
        directory = index < len(parts) - 1
        for pattern, only_dirs, anchored in _IGNORED:
            if only_dirs and not directory:
                continue
            if anchored:
                if fnmatch.fnmatchcase("/".join(parts[: index + 1]), pattern):
                    return False
            elif fnmatch.fnmatchcase(name, pattern):
                return False
    return True


# -- the rule over what extraction saw --------------------------------------------------


def check_kinds(seen: Observations) -> Iterator[Diagnostic]:
    """CSC340, CSC343, CSC344, CSC345, CSC349: what an engine builder or a TrussChainlet cannot be."""
    entrypoint, _ = choose_entrypoint(seen)
    chainlets = {chainlet.id: chainlet for chainlet in seen.chainlets}
    for kind in seen.kinds:
        is_engine = kind.kind is ir.ChainletKind.ENGINE_BUILDER
        if not kind.declares:
            attribute = ENGINE_CONFIG_ATTRIBUTE if is_engine else TRUSS_DIR_ATTRIBUTE
            yield error(
                "CSC340" if is_engine else "CSC345",
                f"`{kind.qualname}` declares no `{attribute}`",
                kind.name_span,
                help=(
                    "an engine builder is its TensorRT-LLM configuration: `engine_builder_config = "
                    "trt_llm_config.TRTLLMConfiguration(...)` (`from truss.base import trt_llm_config`)"
                    if is_engine
                    else 'a TrussChainlet wraps a Truss directory: `truss_dir = "my_truss"` '
                    "(relative to this file)"
                ),
            )
        if is_engine and kind.run_remote is not None:
            yield error(
                "CSC343",
                f"`{kind.qualname}` defines `run_remote`, but an engine builder's is final: the engine answers it",
                kind.run_remote,
                help="remove it; callers send an `EngineBuilderLLMInput` and stream the text back",
            )
        for marker, span in kind.init_markers:
            if is_engine and marker == _DEPENDS_CONTEXT:
                continue  # Truss allows an engine builder the context, nothing else
            yield error(
                "CSC344",
                f"`{kind.qualname}` cannot take dependencies: "
                + (
                    "an engine builder runs no code of its own (only `depends_context()` is allowed)"
                    if is_engine
                    else "a TrussChainlet is a Truss directory that only receives calls"
                ),
                span,
                help="call the other Chainlet from a `chains.ChainletBase` that depends on both",
            )
        if not is_engine and kind.id == entrypoint:
            marks = chainlets[kind.id].marks if kind.id in chainlets else ()
            yield error(
                "CSC349",
                f"`{kind.qualname}` is a TrussChainlet, which cannot be the entrypoint",
                marks[0][0] if marks else kind.name_span,
                help="make a `chains.ChainletBase` the entrypoint and let it depend on the "
                "TrussChainlet (`chains.depends(...)`: a `TrussHandle` to call it)",
            )


def engine_endpoint(span: Span) -> ir.Endpoint:
    """The endpoint Truss gives every engine builder: `async run_remote(llm_input) -> AsyncIterator[str]`."""
    return ir.Endpoint(
        name="run_remote",
        is_async=True,
        is_streaming=True,
        params=(
            ir.Param(
                ENGINE_PARAM,
                ir.TypeRef(
                    ir.TypeKind.ALIAS,
                    ENGINE_INPUT_TYPE,
                    (ir.TypeRef(ir.TypeKind.ANY, "Any"),),
                ),
                None,
                span,
            ),
        ),
        returns=ir.TypeRef(
            ir.TypeKind.ASYNC_ITERATOR,
            "AsyncIterator",
            (ir.TypeRef(ir.TypeKind.BUILTIN, "str"),),
        ),
        span=span,
    )


def truss_endpoint(span: Span) -> ir.Endpoint:
    """A TrussChainlet's endpoint: its Truss's `predict`, JSON in and out (called through a `TrussHandle`)."""
    any_type = ir.TypeRef(ir.TypeKind.ANY, "Any")
    return ir.Endpoint(
        name="predict",
        is_async=False,
        is_streaming=False,
        params=(ir.Param("model_input", any_type, None, span),),
        returns=any_type,
        span=span,
    )


__all__ = [
    "ENGINE_CONFIG_ATTRIBUTE",
    "TRUSS_CONFIG_FILE",
    "TRUSS_DIR_ATTRIBUTE",
    "argument",
    "check_kinds",
    "engine_config_errors",
    "engine_endpoint",
    "engine_remote_config_errors",
    "engine_root",
    "find",
    "is_carried_truss_file",
    "load_truss_config",
    "truss_dir_path",
    "truss_endpoint",
    "truss_file_filter",
    "truss_remote_config_warnings",
]
