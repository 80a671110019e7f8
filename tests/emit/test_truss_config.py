"""`config.yaml`: the mapping from the IR, the YAML, and truss's own parser reading it back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from chainsc import check_file, ir
from chainsc.emit.truss_config import render_config_yaml, truss_config
from chainsc.source import Span
from tests.conftest import REPO, TRUSS_VERSION, example_chains, truss_python

TRUSS_CHECK = Path(__file__).with_name("truss_check.py")

#: Strings YAML could misread: indicators, comments, quotes, YAML 1.1 booleans and
#: numbers, dates, sexagesimals, empty and blank strings, line breaks, unicode.
TRICKY = (
    "a: b",
    "key:value",
    "# not a comment",
    "x #y",
    "'single'",
    '"double"',
    "it's",
    "ünïcödé ✓ 日本語 😀",
    "*star",
    "&anchor",
    "!tag",
    "%percent",
    "@at",
    "`tick",
    "- dash",
    "? question",
    "|",
    ">",
    "[flow]",
    "{flow: map}",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "N",
    "True",
    "null",
    "~",
    "1.0",
    "1",
    "0x1F",
    "0o17",
    "010",
    "1e3",
    "1_000",
    ".inf",
    "12:30",
    "2024-01-01",
    "",
    " ",
    " leading",
    "trailing ",
    "multi\nline",
    "trailing newline\n",
    "tab\there",
    "back\\slash",
    "line\u2028separator",
    "next\x85line",
    "bell\x07",
    "=",
    "<<",
)


def make_chainlet(
    remote_config: ir.RemoteConfig | None = None,
    *,
    display_name: str = "Worker",
    is_entrypoint: bool = True,
    websocket: bool = False,
) -> ir.Chainlet:
    """A minimal Chainlet around `remote_config` (`websocket`: a websocket endpoint)."""
    span = Span("chain.py", 1, 1, 1, 1)
    session = ir.Param(
        "websocket", ir.TypeRef(ir.TypeKind.WEBSOCKET, "WebSocketProtocol"), None, span
    )
    return ir.Chainlet(
        id="chain.Worker",
        name="Worker",
        display_name=display_name,
        module="chain",
        span=span,
        kind=ir.ChainletKind.CHAINLET,
        bases=(),
        remote_config=remote_config or ir.RemoteConfig(),
        dependencies=(),
        context_param=None,
        endpoint=ir.Endpoint(
            name="run_remote",
            is_async=True,
            is_streaming=False,
            params=(session,) if websocket else (),
            returns=ir.TypeRef(ir.TypeKind.NONE, "None")
            if websocket
            else ir.TypeRef(ir.TypeKind.BUILTIN, "str"),
            span=span,
        ),
        has_health_check=False,
        is_entrypoint=is_entrypoint,
    )


def obj(**items: ir.JsonValue) -> ir.JsonObject:
    return ir.JsonObject(tuple(items.items()))


def synthetic_chainlets() -> dict[str, ir.Chainlet]:
    """Chainlets that, together, set every field the mapping reads."""
    return {
        "defaults": make_chainlet(),
        "websocket": make_chainlet(websocket=True),
        "websocket_pings": make_chainlet(
            ir.RemoteConfig(
                options=ir.ChainletOptions(
                    transport=obj(ping_interval_seconds=5.0, ping_timeout_seconds=2.5)
                )
            ),
            websocket=True,
        ),
        "gpu_count": make_chainlet(
            ir.RemoteConfig(
                compute=ir.Compute(
                    cpu_count=8,
                    memory="64Gi",
                    gpu="H100",
                    gpu_count=2,
                    predict_concurrency=16,
                ),
                docker_image=ir.DockerImage(
                    base_image=ir.BaseImage(ir.BaseImageKind.BASETEN, "py310", "py310")
                ),
            )
        ),
        "custom_image": make_chainlet(
            ir.RemoteConfig(
                docker_image=ir.DockerImage(
                    base_image=ir.BaseImage(
                        ir.BaseImageKind.CUSTOM,
                        "123456789.dkr.ecr.us-east-1.amazonaws.com/team/image:py3.12-cuda",
                        "py312",
                        "/opt/conda/bin/python",
                        obj(
                            auth_method="AWS_IAM",
                            registry="123456789.dkr.ecr.us-east-1.amazonaws.com",
                            aws_access_key_id_secret_name="ecr_key_id",
                            aws_secret_access_key_secret_name="ecr_secret",
                        ),
                    ),
                    apt_requirements=("ffmpeg", "libsm6"),
                    requirements_file="deps/pyproject.toml",
                    data_dir="assets",
                    truss_server_version_override="0.9.50",
                ),
                compute=ir.Compute(
                    cpu_count=2, memory="1.5Gi", gpu="B10", instance_type="B10:4x16"
                ),
                assets=ir.Assets(
                    secret_keys=("hf_access_token", "openai_api_key"),
                    external_data=(
                        obj(
                            url="https://example.com/a.bin",
                            local_data_path="weights/a.bin",
                        ),
                        obj(
                            url="s3://bucket/b",
                            local_data_path="b",
                            backend="http_public",
                            name="b",
                        ),
                    ),
                ),
                options=ir.ChainletOptions(
                    enable_b10_tracing=True,
                    enable_debug_logs=True,
                    env_variables=(
                        ("HF_HUB_ENABLE_HF_TRANSFER", "1"),
                        ("MODE", "fast"),
                    ),
                    health_checks=obj(
                        restart_check_delay_seconds=10,
                        restart_threshold_seconds=600,
                        stop_traffic_threshold_seconds=300,
                        startup_threshold_seconds=900,
                    ),
                    metadata=obj(team="search", example_model_input=obj(text="hello")),
                    streaming_read_timeout=300,
                    transport=obj(ping_interval_seconds=5.0, ping_timeout_seconds=2.5),
                ),
                build_commands=("python -m pip download x", "echo 'done: ok' # really"),
            ),
            display_name="Custom-Image_1",
        ),
        "unknown_python": make_chainlet(
            ir.RemoteConfig(
                docker_image=ir.DockerImage(
                    base_image=ir.BaseImage(
                        ir.BaseImageKind.CUSTOM, "python:3.8-slim", "py38"
                    ),
                ),
                options=ir.ChainletOptions(metadata=(1, "two", None)),
            )
        ),
        "model_cache": make_chainlet(
            ir.RemoteConfig(
                assets=ir.Assets(
                    cached=(
                        obj(
                            repo_id="BAAI/bge-small-en-v1.5",
                            revision="5c38ec7c405ec4b44b94cc5a9bb96e735b38267a",
                            use_volume=True,
                            volume_folder="bge",
                            allow_patterns=("*.json", "*.safetensors"),
                            ignore_patterns=("*.bin",),
                        ),
                        obj(
                            repo_id="my-bucket/models/x",
                            kind="gcs",
                            use_volume=True,
                            volume_folder="x",
                            runtime_secret_name="gcs_service_account",
                        ),
                    ),
                ),
            )
        ),
        "weights": make_chainlet(
            ir.RemoteConfig(
                assets=ir.Assets(
                    weights=(
                        obj(
                            source="hf://Qwen/Qwen3-0.6B@main",
                            mount_location="/models/qwen",
                            allow_patterns=("*.safetensors",),
                        ),
                        obj(
                            source="s3://bucket/path",
                            mount_location="/models/s3",
                            auth_secret_name="aws_creds",
                        ),
                    ),
                ),
            )
        ),
        "tricky_strings": make_chainlet(
            ir.RemoteConfig(
                assets=ir.Assets(secret_keys=("yes", "a: b", "1.0", "ключ")),
                docker_image=ir.DockerImage(apt_requirements=("on", "libfoo # 2")),
                options=ir.ChainletOptions(
                    env_variables=tuple(
                        (f"VAR_{index}", text) for index, text in enumerate(TRICKY)
                    ),
                    metadata=obj(
                        **{f"k{index}": text for index, text in enumerate(TRICKY)},
                        **{"no": "yes", "": "empty key"},
                    ),
                ),
                build_commands=TRICKY[:5],
            ),
            display_name="on",
        ),
        "numeric_name": make_chainlet(display_name="123"),
    }


def example_configs() -> dict[str, dict[str, object]]:
    """The config of every Chainlet of every bundled example."""
    configs: dict[str, dict[str, object]] = {}
    for path in example_chains():
        chain = check_file(path).chain
        assert chain is not None, path
        for chainlet in chain.chainlets:
            configs[f"{path.parent.name}/{chainlet.display_name}"] = truss_config(
                chainlet
            )
    return configs


# -- the mapping ---------------------------------------------------------------


def test_truss_config_defaults_render_exactly() -> None:
    text = render_config_yaml(truss_config(make_chainlet()), "app/chain.py")
    assert text == (
        "# Generated by chainsc from app/chain.py. Do not edit.\n"
        "bundled_packages_dir: packages\n"
        "environment_variables: {}\n"
        "model_class_filename: model.py\n"
        "model_class_name: Model\n"
        "model_metadata:\n"
        "  chainsc:\n"
        "    chainlet: chain.Worker\n"
        "    endpoint: run_remote\n"
        "    is_entrypoint: true\n"
        "model_module_dir: model\n"
        "model_name: Worker\n"
        "python_version: py311\n"
        "requirements_file: requirements.txt\n"
        "resources:\n"
        "  accelerator: null\n"
        "  cpu: '1'\n"
        "  memory: 2Gi\n"
        "  use_gpu: false\n"
        "runtime:\n"
        "  enable_debug_logs: false\n"
        "  enable_tracing_data: false\n"
        "  predict_concurrency: 1\n"
        "  streaming_read_timeout: 60\n"
        "secrets:\n"
        "  baseten_chain_api_key: '***'\n"
        "system_packages: []\n"
    )


def test_truss_config_declares_the_chain_api_key_as_truss_chains_does() -> None:
    """`"***"` as Truss Chains writes it, also when the chain declares it itself."""
    assets = ir.Assets(secret_keys=("baseten_chain_api_key", "hf_access_token"))
    config = truss_config(make_chainlet(ir.RemoteConfig(assets=assets)))
    assert config["secrets"] == {
        "baseten_chain_api_key": "***",
        "hf_access_token": None,
    }


def test_truss_config_resources_accelerator_count_only_when_above_one() -> None:
    configs = synthetic_chainlets()
    assert truss_config(configs["gpu_count"])["resources"] == {
        "cpu": "8",
        "memory": "64Gi",
        "use_gpu": True,
        "accelerator": "H100:2",
    }
    assert truss_config(configs["custom_image"])["resources"] == {
        "cpu": "2",
        "memory": "1.5Gi",
        "use_gpu": True,
        "accelerator": "B10",
        "instance_type": "B10:4x16",
    }
    assert truss_config(configs["gpu_count"])["runtime"] == {
        "predict_concurrency": 16,
        "streaming_read_timeout": 60,
        "enable_debug_logs": False,
        "enable_tracing_data": False,
    }


def test_truss_config_custom_image_every_field() -> None:
    config = truss_config(synthetic_chainlets()["custom_image"])
    assert config["model_name"] == "Custom-Image_1"
    assert config["python_version"] == "py312"
    # A pyproject.toml's dependencies go into requirements.txt, with the runtime's.
    assert config["requirements_file"] == "requirements.txt"
    assert config["base_image"] == {
        "image": "123456789.dkr.ecr.us-east-1.amazonaws.com/team/image:py3.12-cuda",
        "python_executable_path": "/opt/conda/bin/python",
        "docker_auth": {
            "auth_method": "AWS_IAM",
            "registry": "123456789.dkr.ecr.us-east-1.amazonaws.com",
            "aws_access_key_id_secret_name": "ecr_key_id",
            "aws_secret_access_key_secret_name": "ecr_secret",
        },
    }
    assert config["secrets"] == {
        "hf_access_token": None,
        "openai_api_key": None,
        "baseten_chain_api_key": "***",
    }
    assert config["system_packages"] == ["ffmpeg", "libsm6"]
    assert config["environment_variables"] == {
        "HF_HUB_ENABLE_HF_TRANSFER": "1",
        "MODE": "fast",
    }
    assert config["data_dir"] == "data"
    assert config["external_data"] == [
        {"url": "https://example.com/a.bin", "local_data_path": "weights/a.bin"},
        {
            "url": "s3://bucket/b",
            "local_data_path": "b",
            "backend": "http_public",
            "name": "b",
        },
    ]
    assert config["build_commands"] == [
        "python -m pip download x",
        "echo 'done: ok' # really",
    ]
    assert config["runtime"] == {
        "predict_concurrency": 1,
        "streaming_read_timeout": 300,
        "enable_debug_logs": True,
        "enable_tracing_data": True,
        "health_checks": {
            "restart_check_delay_seconds": 10,
            "restart_threshold_seconds": 600,
            "stop_traffic_threshold_seconds": 300,
            "startup_threshold_seconds": 900,
        },
        "transport": {
            "kind": "websocket",
            "ping_interval_seconds": 5.0,
            "ping_timeout_seconds": 2.5,
        },
        "truss_server_version_override": "0.9.50",
    }
    assert config["model_metadata"] == {
        "team": "search",
        "example_model_input": {"text": "hello"},
        "chainsc": {
            "chainlet": "chain.Worker",
            "endpoint": "run_remote",
            "is_entrypoint": True,
        },
    }
    assert "model_cache" not in config
    assert "weights" not in config


def test_truss_config_python_version_falls_back_when_unknown_or_unsupported() -> None:
    def version(base_image: ir.BaseImage) -> object:
        return truss_config(
            make_chainlet(
                ir.RemoteConfig(docker_image=ir.DockerImage(base_image=base_image))
            )
        )["python_version"]

    custom = ir.BaseImageKind.CUSTOM
    assert (
        version(ir.BaseImage(custom, "nvcr.io/nvidia/pytorch:23.10-py3", None))
        == "py311"
    )
    assert version(ir.BaseImage(custom, "python:3.8-slim", "py38")) == "py311"
    assert version(ir.BaseImage(custom, "python:3.13", "py313")) == "py313"
    assert version(ir.BaseImage(ir.BaseImageKind.BASETEN, "py39", "py39")) == "py39"


def test_truss_config_transport_needs_a_kind() -> None:
    def transport(value: ir.JsonObject | None) -> object:
        runtime = truss_config(
            make_chainlet(ir.RemoteConfig(options=ir.ChainletOptions(transport=value)))
        )["runtime"]
        assert isinstance(runtime, dict)
        return runtime.get("transport")

    # `HTTPOptions()` and `GRPCOptions()` look alike in the IR: truss's default.
    assert transport(None) is None
    assert transport(obj()) is None
    assert transport(obj(kind="grpc")) == {"kind": "grpc"}
    assert transport(obj(ping_timeout_seconds=1)) == {
        "kind": "websocket",
        "ping_timeout_seconds": 1,
    }


def test_truss_config_of_a_websocket_endpoint_has_the_websocket_transport() -> None:
    def transport(value: ir.JsonObject | None) -> object:
        runtime = truss_config(
            make_chainlet(
                ir.RemoteConfig(options=ir.ChainletOptions(transport=value)),
                websocket=True,
            )
        )["runtime"]
        assert isinstance(runtime, dict)
        return runtime.get("transport")

    # `WebsocketOptions()` when none is set, as Truss Chains' generator writes it.
    assert transport(None) == {"kind": "websocket"}
    assert transport(obj(kind="websocket", ping_timeout_seconds=1.5)) == {
        "kind": "websocket",
        "ping_timeout_seconds": 1.5,
    }


def test_truss_config_metadata_keeps_user_data_and_chainsc_wins() -> None:
    def metadata(value: ir.JsonValue) -> object:
        return truss_config(
            make_chainlet(
                ir.RemoteConfig(options=ir.ChainletOptions(metadata=value)),
                is_entrypoint=False,
            )
        )["model_metadata"]

    ours = {
        "chainlet": "chain.Worker",
        "endpoint": "run_remote",
        "is_entrypoint": False,
    }
    assert metadata(None) == {"chainsc": ours}
    assert metadata(obj(chainsc="mine", tags=("a", obj(b=1)))) == {
        "chainsc": ours,
        "tags": ["a", {"b": 1}],
    }
    assert metadata((1, "two")) == {"metadata": [1, "two"], "chainsc": ours}


def test_truss_config_examples_never_carry_random_or_absolute_values() -> None:
    for name, config in example_configs().items():
        assert config["model_name"] == name.split("/", 1)[1]
        text = render_config_yaml(config, "chain.py")
        assert str(REPO) not in text
        assert str(Path.cwd()) not in text
        assert str(Path.home()) not in text


# -- the YAML ------------------------------------------------------------------


def test_render_config_yaml_round_trips_tricky_strings() -> None:
    for chainlet in synthetic_chainlets().values():
        config = truss_config(chainlet)
        text = render_config_yaml(config, "chain.py")
        assert yaml.safe_load(text) == config


def test_render_config_yaml_quotes_what_yaml_would_misread() -> None:
    config = {
        "a": "yes",
        "b": "1.0",
        "c": "",
        "d": "*x",
        "e": "12:30",
        "f": "é",
        "g": "a\nb",
        "h": "x\x85y",
    }
    text = render_config_yaml(config, "chain.py")
    assert text == (
        "# Generated by chainsc from chain.py. Do not edit.\n"
        "a: 'yes'\n"
        "b: '1.0'\n"
        "c: ''\n"
        "d: '*x'\n"
        "e: '12:30'\n"
        "f: é\n"
        'g: "a\\nb"\n'
        'h: "x\\Ny"\n'
    )
    assert yaml.safe_load(text) == config


def test_render_config_yaml_is_deterministic_and_sorted() -> None:
    forward = {"b": {"y": 1, "x": [3, 1]}, "a": "long " * 100}
    backward = {"a": "long " * 100, "b": {"x": [3, 1], "y": 1}}
    text = render_config_yaml(forward, "chain.py")
    assert text == render_config_yaml(backward, "chain.py")
    assert text.splitlines()[1:] == [
        "a: '" + "long " * 99 + "long '",
        "b:",
        "  x:",
        "  - 3",
        "  - 1",
        "  y: 1",
    ]
    assert text.endswith("\n")
    assert not text.endswith("\n\n")


# -- truss's own parser ----------------------------------------------------------


def _subset_mismatches(parsed: object, ours: object, where: str = "") -> list[str]:
    """Where truss read something else than what we wrote (truss adds defaults: fine)."""
    if isinstance(ours, dict):
        if not isinstance(parsed, dict):
            return [f"{where}: wrote a mapping, truss read {parsed!r}"]
        mismatches: list[str] = []
        for key, value in ours.items():
            if key not in parsed:
                mismatches.append(f"{where}.{key}: dropped by truss")
            else:
                mismatches += _subset_mismatches(parsed[key], value, f"{where}.{key}")
        return mismatches
    if isinstance(ours, list):
        if not isinstance(parsed, list) or len(parsed) != len(ours):
            return [f"{where}: wrote {ours!r}, truss read {parsed!r}"]
        return [
            m
            for index, (a, b) in enumerate(zip(parsed, ours, strict=True))
            for m in _subset_mismatches(a, b, f"{where}[{index}]")
        ]
    same_type = isinstance(parsed, str) == isinstance(ours, str) and isinstance(
        parsed, bool
    ) == isinstance(ours, bool)
    if parsed != ours or not same_type:
        return [f"{where}: wrote {ours!r}, truss read {parsed!r}"]
    return []


def test_truss_parses_every_config_back_unchanged(tmp_path: Path) -> None:
    python = truss_python()
    configs = {
        **example_configs(),
        **{
            f"synthetic/{name}": truss_config(c)
            for name, c in synthetic_chainlets().items()
        },
    }
    paths = []
    for index, config in enumerate(configs.values()):
        path = tmp_path / f"{index}" / "config.yaml"
        path.parent.mkdir()
        path.write_text(render_config_yaml(config, "chain.py"), encoding="utf-8")
        paths.append(str(path))

    run = subprocess.run(
        [str(python), str(TRUSS_CHECK), *paths],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["truss_version"] == TRUSS_VERSION
    failures: list[str] = []
    for name, config, result in zip(
        configs, configs.values(), report["results"], strict=True
    ):
        if not result["ok"]:
            failures.append(f"{name}: truss rejected it: {result['error']}")
            continue
        if result["forbid_extra_error"]:
            failures.append(f"{name}: {result['forbid_extra_error']}")
        failures += [
            f"{name}: {m}" for m in _subset_mismatches(result["parsed"], config)
        ]
        if result["warnings"]:
            failures.append(f"{name}: truss warned: {result['warnings']}")
    assert not failures, "\n".join(failures)

    # A few values spelled out, so the fidelity claim does not rest on the helper alone.
    parsed = {
        name: result["parsed"]
        for name, result in zip(configs, report["results"], strict=True)
    }
    assert parsed["synthetic/gpu_count"]["resources"]["accelerator"] == "H100:2"
    assert parsed["synthetic/gpu_count"]["resources"]["use_gpu"] is True
    assert parsed["synthetic/defaults"]["resources"]["accelerator"] is None
    assert parsed["synthetic/custom_image"]["secrets"] == {
        "hf_access_token": None,
        "openai_api_key": None,
        "baseten_chain_api_key": "***",
    }
    # Every Chainlet declares the chain API key, as Truss Chains' generator does.
    assert all(
        config["secrets"]["baseten_chain_api_key"] == "***"
        for config in parsed.values()
    )
    assert (
        parsed["synthetic/custom_image"]["runtime"]["transport"]["kind"] == "websocket"
    )
    assert parsed["synthetic/websocket"]["runtime"]["transport"] == {
        "kind": "websocket",
        "ping_interval_seconds": None,
        "ping_timeout_seconds": None,
    }
    assert parsed["synthetic/websocket_pings"]["runtime"]["transport"] == {
        "kind": "websocket",
        "ping_interval_seconds": 5.0,
        "ping_timeout_seconds": 2.5,
    }
    assert parsed["synthetic/tricky_strings"]["model_name"] == "on"
    assert parsed["synthetic/numeric_name"]["model_name"] == "123"
    assert parsed["synthetic/tricky_strings"]["environment_variables"] == {
        f"VAR_{i}": t for i, t in enumerate(TRICKY)
    }
    assert (
        parsed["rag/Embedder"]["model_cache"][0]["repo_id"] == "BAAI/bge-small-en-v1.5"
    )
