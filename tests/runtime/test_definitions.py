"""The authoring API: same names, defaults and behaviour as Truss Chains 0.18."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pydantic
import pytest

import chainsc_runtime as chains
from chainsc_runtime.definitions import (
    ChainletDependencyMarker,
    ContextDependencyMarker,
)

REPO = Path(__file__).resolve().parents[2]


class Helper(chains.ChainletBase):
    def run_remote(self, x: int) -> int:
        return x


def test_definitions_depends_returns_a_marker_with_rpc_options() -> None:
    marker = chains.depends(
        Helper, retries=3, timeout_sec=5, use_binary=True, concurrency_limit=7
    )
    assert isinstance(marker, ChainletDependencyMarker)
    assert marker.chainlet_cls is Helper
    assert marker.options == chains.RPCOptions(
        retries=3, timeout_sec=5.0, use_binary=True, concurrency_limit=7
    )
    with pytest.raises(
        chains.ChainsRuntimeError, match=r"`depends\(Helper\)` was used outside"
    ):
        marker.run_remote(1)


def test_definitions_depends_context_marker() -> None:
    marker = chains.depends_context()
    assert isinstance(marker, ContextDependencyMarker)
    with pytest.raises(chains.ChainsRuntimeError, match="depends_context"):
        _ = marker.secrets
    assert not hasattr(marker, "__wrapped__")  # introspection still works


def test_definitions_mark_entrypoint_both_forms() -> None:
    @chains.mark_entrypoint
    class A(chains.ChainletBase):
        pass

    @chains.mark_entrypoint("My Chain")
    class B(chains.ChainletBase):
        pass

    class C(A):
        pass

    assert A.meta_data.is_entrypoint
    assert A.meta_data.chain_name is None
    assert B.meta_data.is_entrypoint
    assert B.meta_data.chain_name == "My Chain"
    assert not C.meta_data.is_entrypoint  # not inherited, as in Truss
    assert not Helper.meta_data.is_entrypoint


def test_definitions_mark_entrypoint_rejects_non_chainlets() -> None:
    with pytest.raises(chains.ChainsUsageError, match="Only Chainlet classes"):
        chains.mark_entrypoint(int)


def test_definitions_model_base_is_an_entrypoint() -> None:
    class M(chains.ModelBase):
        def predict(self, x: int) -> int:
            return x

    assert M.meta_data.is_entrypoint


def test_definitions_defaults_equal_truss() -> None:
    """The defaults documented for truss_chains 0.18.36 (public_types.py)."""
    assert chains.RPCOptions().model_dump() == {
        "retries": 1,
        "timeout_sec": 600.0,
        "use_binary": False,
        "concurrency_limit": 300,
    }
    compute = chains.Compute().get_spec()
    assert (compute.cpu_count, compute.memory, compute.gpu, compute.gpu_count) == (
        1,
        "2Gi",
        None,
        1,
    )
    assert (compute.predict_concurrency, compute.instance_type) == (1, None)
    image = chains.DockerImage()
    assert image.base_image is chains.BasetenImage.PY311
    assert (image.pip_requirements, image.apt_requirements) == ([], [])
    assert (image.requirements_file, image.data_dir, image.external_package_dirs) == (
        None,
        None,
        None,
    )
    options = chains.ChainletOptions()
    assert (
        options.enable_b10_tracing,
        options.enable_debug_logs,
        options.metadata,
    ) == (False, False, None)
    assert (
        dict(options.env_variables),
        options.streaming_read_timeout,
        options.transport,
    ) == ({}, 60, None)
    config = chains.RemoteConfig()
    assert (config.name, config.build_commands) == (None, [])
    assert config.get_asset_spec().secrets == {}
    assert [m.value for m in chains.BasetenImage] == ["py39", "py310", "py311"]
    assert chains.CustomImage(image="python:3.11").python_executable_path is None


def test_definitions_compute_and_assets_constructors() -> None:
    compute = chains.Compute(4, "8Gi", "H100", 2, "cpu_count").get_spec()
    assert (compute.cpu_count, compute.memory, compute.gpu, compute.gpu_count) == (
        4,
        "8Gi",
        "H100",
        2,
    )
    assert compute.predict_concurrency == 4
    assets = chains.Assets(secret_keys=["hf_token"], cached=[{"repo_id": "x"}])
    assert assets.get_spec().secrets == {"hf_token": "***"}
    assert assets.get_spec().cached == [{"repo_id": "x"}]


def test_definitions_config_models_are_strict_like_truss() -> None:
    with pytest.raises(pydantic.ValidationError):
        chains.DockerImage(pip_requirements=("a",))
    with pytest.raises(pydantic.ValidationError, match="extra"):
        chains.RemoteConfig(unknown=1)
    with pytest.raises(chains.ChainsUsageError, match="base_image` as string"):
        chains.DockerImage(base_image="python:3.11")
    with pytest.raises(pydantic.ValidationError):
        chains.RemoteConfig(compute={"cpu_count": 2})


def test_definitions_make_abs_path_here_is_relative_to_the_caller() -> None:
    path = chains.make_abs_path_here("../runtime/test_definitions.py")
    assert path.abs_path == __file__
    with pytest.raises(chains.MissingDependencyError, match="no file was found"):
        _ = chains.make_abs_path_here("missing.txt").abs_path


def test_definitions_deployment_context() -> None:
    context = chains.DeploymentContext(secrets={"baseten_chain_api_key": "k", "x": "y"})
    assert "k" not in repr(context)
    assert context.get_baseten_api_key() == "k"
    assert (context.data_dir, context.environment) == (None, None)
    with pytest.raises(chains.MissingDependencyError, match="Other"):
        context.get_service_descriptor("Other")
    with pytest.raises(chains.MissingDependencyError, match="baseten_chain_api_key"):
        chains.DeploymentContext(
            secrets={"baseten_chain_api_key": "***"}
        ).get_baseten_api_key()


def test_definitions_remote_error_detail_format() -> None:
    detail = chains.RemoteErrorDetail(
        exception_cls_name="QuotaError",
        exception_module_name="app.errors",
        exception_message="over",
        user_stack_trace=[
            chains.RemoteErrorDetail.StackFrame(
                filename="a.py", lineno=3, name="f", line="g()"
            )
        ],
    )
    assert detail.format() == (
        "Chainlet-Traceback (most recent call last):\n"
        '  File "a.py", line 3, in f\n    g()\n'
        "QuotaError: over\n(Exception class defined in `app.errors`.)"
    )


def test_definitions_runtime_constants() -> None:
    assert chains.RUNTIME_VERSION
    assert any(r.startswith("httpx") for r in chains.REQUIREMENTS)
    assert any(r.startswith("pydantic") for r in chains.REQUIREMENTS)
    assert set(chains.__all__) <= set(dir(chains))


def test_definitions_runtime_works_vendored_under_another_name(tmp_path: Path) -> None:
    """Copied into a package (as the emitter does), the copy is what imports and serves, not the installed one."""
    target = tmp_path / "chainsc_runtime"
    target.mkdir()
    for path in sorted((REPO / "runtime_lib").glob("*.py")):
        (target / path.name).write_bytes(path.read_bytes())
    code = (
        "import chainsc_runtime as chains, pydantic, sys\n"
        "from chainsc_runtime import serving\n"
        "class Hello(chains.ChainletBase):\n"
        "    def run_remote(self, name: str) -> str:\n"
        "        return 'hi ' + name\n"
        "class Input(pydantic.BaseModel):\n"
        "    name: str\n"
        "class Model(serving.ChainletModel):\n"
        "    chainlet_cls = Hello\n"
        "    endpoint = serving.EndpointSpec('run_remote', False, False, Input, pydantic.TypeAdapter(str))\n"
        "m = Model(); m.load(); print(m.dispatcher.handle({'name': 'x'}))\n"
        "import os\n"
        "assert os.path.dirname(chains.__file__) == os.path.join(os.getcwd(), 'chainsc_runtime'), chains.__file__\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi x\n"
