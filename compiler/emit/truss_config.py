"""A package's `config.yaml`: the Truss config of one Chainlet.

Stage: back end (plan). `truss_config` maps a Chainlet's IR to the config as plain
data; `render_config_yaml` turns that into the file's bytes (as text). Pure: no I/O.
Imports: the standard library, PyYAML, `chainsc.ir` and `chainsc.requirements`
(never truss: the output is checked against truss's own parser in the tests instead).

The mapping mirrors `truss_chains.deployment.code_gen._gen_truss_config` (truss
0.18.36) field by field, with these differences, each for a reason:

- Truss writes every TrussConfig field (`write_to_yaml_file(verbose=True)`), about
  70 lines of defaults that mean nothing to a chain and tie the file to one truss
  version (`validate_forbid_extra` rejects fields an older truss does not know).
  chainsc writes the keys a chain controls and the keys the package layout relies
  on; an optional feature the chain does not use is left out, as truss's own
  `to_dict(verbose=False)` leaves out defaults. The keys DESIGN.md §3 lists are
  always written, defaults included, so a reader sees them without knowing truss.
- `model_name` is the display name, without truss's random `-1a2b3c4d` suffix.
- The user's secrets are `null` (truss's documented placeholder), not Truss Chains'
  `"***"`: the truss server returns the config value when a secret is not mounted,
  so a dummy would hide a missing secret; `null` makes the lookup fail with truss's
  "Secret not found" message.
- Like Truss Chains, every Chainlet declares the secret `baseten_chain_api_key`
  (the key Chainlets call each other with on Baseten; Truss's server hands a
  Chainlet only the secrets its config declares), with Truss Chains' value `"***"`,
  which the runtime reads as "not set" (it requires the key only for dependencies
  found in Baseten's `dynamic_chainlet_config`).
- No `chains_metadata`: the runtime finds its dependencies by display name through
  `CHAINSC_SERVICES` or the mounted `dynamic_chainlet_config` (runtime_lib/README.md),
  and the generated `model/model.py` carries what Truss Chains reads from it.
- No absolute paths: `external_package_dirs` is not written (the planner slices
  the modules it needs into `packages/`).

The two kinds of Chainlet with no code of their own get what truss's generator writes
for them (`truss_chains.deployment.code_gen`), with the same differences:

- An engine builder (`engine_config`): the compute, secrets, options and build
  commands of `remote_config`, and its `engine_builder_config` under `trt_llm` (the
  arguments given: truss fills in the defaults when it reads it). No model class, no
  requirements, no bundled packages, no Python version (the engine is Baseten's
  image), and no chain API key (an engine calls no one), as in Truss.
- A TrussChainlet (`truss_directory_config`): the Truss directory's own `config.yaml`,
  read and written back with `model_name` set to the Chainlet's display name
  (truss adds a random suffix), and nothing else changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeAlias

import yaml

from chainsc import ir
from chainsc.kinds import load_truss_config
from chainsc.requirements import requirements_file_name

#: A value of the config tree, as `yaml.safe_dump` takes it.
ConfigValue: TypeAlias = (
    str | int | float | bool | list["ConfigValue"] | dict[str, "ConfigValue"] | None
)

#: `python_version` when the IR does not know it (a custom image whose tag does not
#: name a Python version): the default Baseten image's version.
DEFAULT_PYTHON_VERSION = "py311"
#: The `python_version` values truss 0.18.36 accepts (`SUPPORTED_PYTHON_VERSIONS`).
TRUSS_PYTHON_VERSIONS = frozenset({"py39", "py310", "py311", "py312", "py313", "py314"})

#: The secret holding the API key Chainlets call each other with on Baseten, and the
#: placeholder value Truss Chains writes for it (truss_chains.public_types).
CHAIN_API_KEY_SECRET_NAME = "baseten_chain_api_key"
SECRET_DUMMY = "***"

#: Where LAYOUT.md puts things in a package; Truss's defaults, written anyway
#: because the generated package depends on them.
MODEL_MODULE_DIR = "model"
MODEL_CLASS_FILENAME = "model.py"
MODEL_CLASS_NAME = "Model"
BUNDLED_PACKAGES_DIR = "packages"
DATA_DIR = "data"


def truss_config(chainlet: ir.Chainlet) -> dict[str, object]:
    """The content of a Chainlet's `config.yaml`, a valid Truss config.

    Args:
        chainlet: the Chainlet the package serves.

    Returns:
        Plain data (dicts, lists, scalars); `render_config_yaml` writes it.
    """
    remote = chainlet.remote_config
    image = remote.docker_image
    compute = remote.compute
    assets = remote.assets
    options = remote.options

    config: dict[str, object] = {
        "model_name": chainlet.display_name,
        "python_version": _python_version(image.base_image),
        "requirements_file": requirements_file_name(image),
        "resources": _resources(compute),
        "secrets": _secrets(assets.secret_keys),
        "system_packages": list(image.apt_requirements),
        # Truss Chains adds no variables of its own (only its Baseten-internal
        # secret and metadata), so neither does chainsc.
        "environment_variables": dict(options.env_variables),
        "runtime": _runtime(remote, websocket=chainlet.endpoint.is_websocket),
        # The package layout (LAYOUT.md): truss's defaults, but the generated
        # package relies on them, so a reader should not have to know that.
        "model_module_dir": MODEL_MODULE_DIR,
        "model_class_filename": MODEL_CLASS_FILENAME,
        "model_class_name": MODEL_CLASS_NAME,
        "bundled_packages_dir": BUNDLED_PACKAGES_DIR,
        "model_metadata": _metadata(chainlet),
    }
    if image.base_image.kind is ir.BaseImageKind.CUSTOM:
        config["base_image"] = _base_image(image.base_image)
    if image.data_dir is not None:
        # The planner copies the user's data dir to `data/`; truss mounts it there.
        config["data_dir"] = DATA_DIR
    if assets.external_data:
        config["external_data"] = [_object(item) for item in assets.external_data]
    if assets.cached:
        # `ModelRepo`s; the front end already added `use_volume: false` where the
        # chain left it out (truss 0.18.36 requires it).
        config["model_cache"] = [_object(item) for item in assets.cached]
    if assets.weights:
        # Truss rejects `model_cache` and `weights` together; so would the deploy.
        config["weights"] = [_object(item) for item in assets.weights]
    if remote.build_commands:
        config["build_commands"] = list(remote.build_commands)
    return config


def engine_config(chainlet: ir.Chainlet) -> dict[str, object]:
    """The `config.yaml` of an engine builder (`EngineBuilderLLMChainlet`): a TensorRT-LLM engine Baseten builds.

    Raises:
        ValueError: `chainlet` has no engine configuration (not an engine builder).
    """
    if chainlet.engine_builder_config is None:
        raise ValueError(f"`{chainlet.id}` is not an engine builder")
    remote = chainlet.remote_config
    assets = remote.assets
    config: dict[str, object] = {
        "model_name": chainlet.display_name,
        "resources": _resources(remote.compute),
        # The declared names only: the engine calls no Chainlet, so no chain API key.
        "secrets": dict.fromkeys(assets.secret_keys),
        "environment_variables": dict(remote.options.env_variables),
        "runtime": _runtime(remote),
        "model_metadata": _metadata(chainlet),
        "trt_llm": _object(chainlet.engine_builder_config),
    }
    if assets.weights:
        # Mirrors the checkpoint for the engine (Baseten's BDN), as Truss Chains writes it.
        config["weights"] = [_object(item) for item in assets.weights]
    if remote.build_commands:
        config["build_commands"] = list(remote.build_commands)
    return config


def truss_directory_config(text: str, display_name: str) -> dict[str, object]:
    """A TrussChainlet's `config.yaml`: its Truss directory's, with the Chainlet's display name.

    Args:
        text: the Truss directory's `config.yaml` (the front end checked that it is a
            YAML mapping: `chainsc.kinds`).
        display_name: the Chainlet's display name, its `model_name` from now on.

    Raises:
        ValueError: `text` is not a YAML mapping.
    """
    data = load_truss_config(text)
    if data is None:
        raise ValueError("the Truss directory's config.yaml is not a YAML mapping")
    return {**data, "model_name": display_name}


def render_config_yaml(config: Mapping[str, object], source: str) -> str:
    """`config.yaml` text: the generated header, then block-style YAML with sorted keys.

    PyYAML quotes every string a YAML 1.1 reader would take for something else
    (`yes`, `on`, `1.0`, `*x`, `a: b`, ``), so user strings read back unchanged;
    an infinite width keeps long values on one line. The output depends only on
    `config` (no timestamps, no versions).

    libyaml's emitter, when PyYAML has it, writes the same bytes as PyYAML's own
    for the documents `_libyaml_safe` admits (plain keys, no characters beyond the
    Basic Multilingual Plane; tests/emit/test_config_yaml_emitters.py compares the
    two) at a tenth of the cost; any other document goes through PyYAML's emitter.
    """
    fast = _CDumper is not None and _libyaml_safe(config)
    body = yaml.dump(
        dict(config),
        Dumper=_CDumper if fast else _Dumper,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        # No line folding; libyaml takes an int (PyYAML's own emitter takes infinity).
        width=_NO_FOLDING if fast else float("inf"),
    )
    return f"# Generated by chainsc from {source}. Do not edit.\n{body}"


#: A width no line reaches, for libyaml (which needs an int).
_NO_FOLDING = 2**31 - 1
#: Keys both emitters write the same way: plain, identifier-like.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _libyaml_safe(value: object) -> bool:
    """Does libyaml emit `value` exactly as PyYAML's own emitter would?

    The two differ on keys that need quoting or a complex-key marker (`''`,
    a key with a carriage return) and on characters beyond U+FFFF (libyaml escapes them even with
    `allow_unicode`); everything else was found identical (fuzzed, see the test).
    """
    if isinstance(value, str):
        return value.isascii() or max(value) <= "\uffff"
    if isinstance(value, Mapping):
        return all(
            isinstance(key, str)
            and _PLAIN_KEY.match(key) is not None
            and _libyaml_safe(item)
            for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return all(_libyaml_safe(item) for item in value)
    return value is None or isinstance(value, bool | int | float)


#: Line breaks in YAML's eyes. PyYAML writes them raw inside single quotes, where
#: they fold (and `\x85` comes back as a space); double quotes escape them.
_LINE_BREAKS = frozenset("\n\r\x85\u2028\u2029")


class _Dumper(yaml.SafeDumper):
    """`yaml.SafeDumper`, except that a string with a line break is double-quoted."""


def _represent_str(
    dumper: yaml.representer.SafeRepresenter, data: str
) -> yaml.ScalarNode:
    style = '"' if _LINE_BREAKS.intersection(data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)

#: The same dumper on libyaml's C emitter, when PyYAML was built with it.
_CDumper: type[yaml.CSafeDumper] | None = None
if yaml.__with_libyaml__:

    class _LibyamlDumper(yaml.CSafeDumper):
        """`_Dumper` with libyaml's emitter."""

    _LibyamlDumper.add_representer(str, _represent_str)
    _CDumper = _LibyamlDumper


def _python_version(base_image: ir.BaseImage) -> str:
    """`py311` style; truss rejects versions it does not support, so those fall back too.

    Truss Chains leaves TrussConfig's default (`py313`) for a custom image; the
    version in the image's tag (`python:3.12-slim`) is the better guess, and the
    image's own interpreter (`python_executable_path`) runs the model either way.
    """
    version = base_image.python_version
    if version is None or version not in TRUSS_PYTHON_VERSIONS:
        return DEFAULT_PYTHON_VERSION
    return version


def _secrets(secret_keys: tuple[str, ...]) -> dict[str, ConfigValue]:
    """`secrets`: the declared names, and the chain API key as Truss Chains declares it.

    Values come from the platform at run time.
    """
    secrets: dict[str, ConfigValue] = dict.fromkeys(secret_keys)
    secrets[CHAIN_API_KEY_SECRET_NAME] = SECRET_DUMMY
    return secrets


def _resources(compute: ir.Compute) -> dict[str, ConfigValue]:
    """`resources`, spelled as truss serialises `Resources`."""
    accelerator: str | None = None
    if compute.gpu is not None:
        # AcceleratorSpec's serialisation: the count only when more than one.
        accelerator = (
            compute.gpu
            if compute.gpu_count <= 1
            else f"{compute.gpu}:{compute.gpu_count}"
        )
    resources: dict[str, ConfigValue] = {
        # A string, as Truss Chains writes it (`str(cpu_count)`).
        "cpu": str(compute.cpu_count),
        "memory": compute.memory,
        # Derived by truss from `accelerator` (an input value is ignored); written
        # because truss writes it and it answers "does this need a GPU?" at a glance.
        "use_gpu": accelerator is not None,
        "accelerator": accelerator,
    }
    if compute.instance_type is not None:
        resources["instance_type"] = compute.instance_type
    return resources


def _runtime(
    remote: ir.RemoteConfig, *, websocket: bool = False
) -> dict[str, ConfigValue]:
    """`runtime`: concurrency, streaming timeout, logging flags, health checks, transport.

    A websocket endpoint (`websocket`) always gets the websocket transport, with the
    ping settings of its `WebsocketOptions`, as Truss Chains' generator writes it.
    """
    options = remote.options
    runtime: dict[str, ConfigValue] = {
        "predict_concurrency": remote.compute.predict_concurrency,
        "streaming_read_timeout": options.streaming_read_timeout,
        "enable_debug_logs": options.enable_debug_logs,
        # `ChainletOptions.enable_b10_tracing` is this runtime flag in Truss Chains.
        "enable_tracing_data": options.enable_b10_tracing,
    }
    if options.health_checks.items:
        runtime["health_checks"] = _object(options.health_checks)
    transport = (
        websocket_transport(options.transport)
        if websocket
        else _transport(options.transport)
    )
    if transport is not None:
        runtime["transport"] = transport
    if remote.docker_image.truss_server_version_override is not None:
        runtime["truss_server_version_override"] = (
            remote.docker_image.truss_server_version_override
        )
    return runtime


def websocket_transport(transport: ir.JsonObject | None) -> dict[str, ConfigValue]:
    """`runtime.transport` of a websocket endpoint: `kind: websocket` and its pings.

    Truss Chains writes the Chainlet's `WebsocketOptions`, or `WebsocketOptions()` when it
    sets none (the rules refuse any other transport for a websocket endpoint).
    """
    value: dict[str, ConfigValue] = {"kind": "websocket"}
    if transport is not None:
        value.update(
            (key, item)
            for key, item in _object(transport).items()
            if key.startswith("ping_")
        )
    return value


def _transport(transport: ir.JsonObject | None) -> dict[str, ConfigValue] | None:
    """`runtime.transport`, or None for truss's default (HTTP).

    The IR keeps only the arguments written in `HTTPOptions(...)`,
    `WebsocketOptions(...)` or `GRPCOptions(...)`, not which of them it was; truss
    tells them apart by `kind`. Ping settings exist only on `WebsocketOptions`;
    without `kind` or ping settings the call cannot be told from the default
    `HTTPOptions()`, so nothing is written.
    """
    if transport is None:
        return None
    value = _object(transport)
    if "kind" not in value:
        if not any(key.startswith("ping_") for key in value):
            return None
        value["kind"] = "websocket"
    return value


def _base_image(base_image: ir.BaseImage) -> dict[str, ConfigValue]:
    """`base_image` for a custom image, keys as truss's `BaseImage`."""
    result: dict[str, ConfigValue] = {"image": base_image.image}
    if base_image.python_executable_path is not None:
        result["python_executable_path"] = base_image.python_executable_path
    if base_image.docker_auth is not None:
        # Secret *names* and the auth method only; never a credential.
        result["docker_auth"] = _object(base_image.docker_auth)
    return result


def _metadata(chainlet: ir.Chainlet) -> dict[str, ConfigValue]:
    """`model_metadata`: the user's `ChainletOptions.metadata`, plus what chainsc built.

    The `chainsc` key names the Chainlet and its endpoint: stable, not secret, no
    versions or timestamps. Like Truss Chains' `chains_metadata`, it wins over a
    user key of the same name. Truss needs a mapping here; metadata of another
    JSON type (which Truss Chains fails on) is kept under `metadata`.
    """
    user = chainlet.remote_config.options.metadata
    metadata: dict[str, ConfigValue] = {}
    if isinstance(user, ir.JsonObject):
        for key, value in user.items:
            metadata[key] = _json(value)
    elif user is not None:
        metadata["metadata"] = _json(user)
    metadata["chainsc"] = {
        "chainlet": chainlet.id,
        "endpoint": chainlet.endpoint.name,
        "is_entrypoint": chainlet.is_entrypoint,
    }
    return metadata


def _object(value: ir.JsonObject) -> dict[str, ConfigValue]:
    """An IR JSON object as a dict (keys in IR order; the dump sorts them)."""
    return {key: _json(item) for key, item in value.items}


def _json(value: ir.JsonValue) -> ConfigValue:
    """An IR JSON value as plain YAML-dumpable data (tuples become lists)."""
    if isinstance(value, ir.JsonObject):
        return _object(value)
    if isinstance(value, tuple):
        return [_json(item) for item in value]
    return value
