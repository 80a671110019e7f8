"""Static evaluation of `remote_config` and `depends(...)` into the IR."""

from __future__ import annotations

from pathlib import Path

import chainsc_runtime.public_types
from chainsc import check_file, ir
from chainsc.evaluate import API_CONSTANTS


def _chain(
    tmp_path: Path, source: str, files: dict[str, str] | None = None
) -> ir.Chain:
    for name, text in (files or {}).items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    path = tmp_path / "chain.py"
    path.write_text(source)
    result = check_file(path)
    errors = [d for d in result.diagnostics if d.severity.value == "error"]
    assert not errors, errors
    assert result.chain is not None
    return result.chain


def test_constants_arithmetic_fstrings_and_enums(tmp_path: Path) -> None:
    chain = _chain(
        tmp_path,
        """import truss_chains as chains
from truss.base import truss_config

_cpu_count = 8
VERSION = "2.1"
IMAGE = chains.DockerImage(
    base_image=chains.BasetenImage.PY310,
    pip_requirements=["numpy", f"torch=={VERSION}"] + ["pydantic>=2"],
    apt_requirements=["ffmpeg"],
)


class Heavy(chains.ChainletBase):
    _memory = "16" + "Gi"
    remote_config = chains.RemoteConfig(
        docker_image=IMAGE,
        compute=chains.Compute(
            cpu_count=_cpu_count, memory=_memory, gpu=truss_config.Accelerator.H100, gpu_count=2,
            predict_concurrency=_cpu_count * 3,
        ),
        assets=chains.Assets(secret_keys=["hf_access_token"]),
        options=chains.ChainletOptions(env_variables={"MODE": f"v{VERSION}"}, enable_debug_logs=True),
        name="heavy-model",
    )

    def run_remote(self, x: int) -> int:
        return x
""",
    )
    (chainlet,) = chain.chainlets
    config = chainlet.remote_config
    assert config.name == "heavy-model"
    assert chainlet.display_name == "heavy-model"
    assert config.compute == ir.Compute(
        cpu_count=8,
        memory="16Gi",
        gpu="H100",
        gpu_count=2,
        predict_concurrency=24,
        instance_type=None,
    )
    assert config.docker_image.base_image.python_version == "py310"
    assert config.docker_image.pip_requirements == (
        "numpy",
        "torch==2.1",
        "pydantic>=2",
    )
    assert config.docker_image.apt_requirements == ("ffmpeg",)
    assert config.assets.secret_keys == ("hf_access_token",)
    assert config.options.env_variables == (("MODE", "v2.1"),)
    assert config.options.enable_debug_logs is True


def test_predict_concurrency_cpu_count_and_constants_from_a_local_module(
    tmp_path: Path,
) -> None:
    chain = _chain(
        tmp_path,
        """import truss_chains as chains
from settings import COMPUTE, REQS


class A(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=COMPUTE,
        docker_image=chains.DockerImage(requirements_file=REQS),
    )

    def run_remote(self) -> None:
        pass
""",
        {
            "settings.py": 'import truss_chains as chains\n\nCOMPUTE = chains.Compute(cpu_count=4, predict_concurrency="cpu_count")\nREQS = chains.make_abs_path_here("deps/requirements.txt")\n',
            "deps/requirements.txt": "numpy\n",
        },
    )
    (chainlet,) = chain.chainlets
    assert chainlet.remote_config.compute.predict_concurrency == 4
    assert (
        chainlet.remote_config.docker_image.requirements_file == "deps/requirements.txt"
    )
    assert [m.path for m in chain.modules] == ["chain.py", "settings.py"]


def test_public_types_constants_are_static_values_equal_to_the_runtime_ones(
    tmp_path: Path,
) -> None:
    chain = _chain(
        tmp_path,
        """import truss_chains as chains
from truss_chains import public_types
from truss_chains.public_types import CHAIN_API_KEY_SECRET_NAME


class A(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(cpu_count=3, predict_concurrency=public_types.CPU_COUNT),
        assets=chains.Assets(secret_keys=[CHAIN_API_KEY_SECRET_NAME]),
    )

    def run_remote(self) -> None:
        pass
""",
    )
    (chainlet,) = chain.chainlets
    assert chainlet.remote_config.compute.predict_concurrency == 3
    assert chainlet.remote_config.assets.secret_keys == ("baseten_chain_api_key",)
    for path, value in API_CONSTANTS.items():
        assert (
            getattr(chainsc_runtime.public_types, path.removeprefix("chains.")) == value
        ), path


def test_depends_options_and_defaults(tmp_path: Path) -> None:
    chain = _chain(
        tmp_path,
        """import truss_chains as chains

TIMEOUT = 30


class Dep(chains.ChainletBase):
    def run_remote(self) -> str:
        return ""


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(self, a: Dep = chains.depends(Dep, retries=3, timeout_sec=TIMEOUT / 2, use_binary=True, concurrency_limit=8)) -> None:
        self._a = a

    def run_remote(self) -> str:
        return self._a.run_remote()
""",
    )
    entry = next(c for c in chain.chainlets if c.is_entrypoint)
    (dependency,) = entry.dependencies
    assert dependency.target == "chain.Dep"
    assert dependency.options == ir.RPCOptions(
        retries=3, timeout_sec=15.0, use_binary=True, concurrency_limit=8
    )
    assert [c.name for c in chain.chainlets] == ["Dep", "Entry"]


def test_spellings_truss_refuses_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "chain.py"
    path.write_text(
        """import truss_chains as chains
from truss.base import truss_config


class A(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(base_image="python:3.11-slim"),
        assets=chains.Assets(cached=[truss_config.ModelRepo(repo_id="org/model")]),
    )

    def run_remote(self) -> None:
        pass
"""
    )
    result = check_file(path)
    assert [
        (d.code, d.severity.value, d.span.line, d.span.col) for d in result.diagnostics
    ] == [
        ("CSC403", "error", 7, 52),
        ("CSC403", "error", 8, 38),
    ]
    assert "CustomImage(image='python:3.11-slim')" in (result.diagnostics[0].help or "")
    assert "use_volume=False" in (result.diagnostics[1].help or "")
    assert result.chain is None


def test_a_transport_is_a_helper_or_a_dict_of_its_kind(tmp_path: Path) -> None:
    """Truss validates `transport={"kind": ...}` into the helper the kind names."""
    chain = _chain(
        tmp_path,
        """import truss_chains as chains
from truss.base import truss_config

PINGS = {"kind": "websocket", "ping_interval_seconds": 3, "ping_timeout_seconds": 1.5}


@chains.mark_entrypoint
class Socket(chains.ChainletBase):
    remote_config = chains.RemoteConfig(options=chains.ChainletOptions(transport=PINGS))

    async def run_remote(self, websocket: chains.WebSocketProtocol) -> None:
        pass


class Helper(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        options=chains.ChainletOptions(
            transport=truss_config.WebsocketOptions(ping_timeout_seconds=2)
        )
    )

    async def run_remote(self, websocket: chains.WebSocketProtocol) -> None:
        pass
""",
    )
    by_name = {c.name: c for c in chain.chainlets}
    assert by_name["Socket"].endpoint.kind is ir.EndpointKind.WEBSOCKET
    assert by_name["Socket"].remote_config.options.transport == ir.JsonObject(
        (
            ("kind", "websocket"),
            ("ping_interval_seconds", 3),
            ("ping_timeout_seconds", 1.5),
        )
    )
    assert by_name["Helper"].remote_config.options.transport == ir.JsonObject(
        (("ping_timeout_seconds", 2),)
    )


def test_a_transport_dict_names_a_kind_and_its_fields(tmp_path: Path) -> None:
    path = tmp_path / "chain.py"
    path.write_text(
        """import truss_chains as chains


class Tcp(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        options=chains.ChainletOptions(transport={"kind": "tcp"})
    )

    async def run_remote(self) -> None:
        pass


@chains.mark_entrypoint
class Http(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        options=chains.ChainletOptions(transport={"kind": "http", "ping_timeout_seconds": 1})
    )

    async def run_remote(self) -> None:
        pass
"""
    )
    found = [
        (d.code, d.span.line, d.message)
        for d in check_file(path).diagnostics
        if d.severity.value == "error"
    ]
    assert found == [
        (
            "CSC403",
            6,
            'a `transport` dict needs a `"kind"`: `"http"`, `"websocket"` or `"grpc"`',
        ),
        (
            "CSC402",
            16,
            "`HTTPOptions` (`transport` of kind `http`) has no field `ping_timeout_seconds`",
        ),
    ]
