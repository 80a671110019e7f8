"""Truss parity of configuration: each `remote_config` judged by truss 0.18.36 and by chainsc.

Each value below is put in the `remote_config` of a one-Chainlet chain; truss imports the
chain (its framework validation, pydantic models and `truss_config` validators) and
generates its `config.yaml` (the validators that run then), in a venv of its own; chainsc
checks it. Both must accept it or both refuse it, except where chainsc differs on purpose
(`DELIBERATE`, also in `docs/truss_rules.md`).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from chainsc import check_file
from tests.conftest import truss_python

#: (name, the arguments of `chains.RemoteConfig(...)`).
CONFIGS: tuple[tuple[str, str], ...] = (
    (
        "mr_empty_repo",
        'assets=chains.Assets(cached=[truss_config.ModelRepo(repo_id="", use_volume=False)])',
    ),
    (
        "mr_revision_1",
        'assets=chains.Assets(cached=[truss_config.ModelRepo(repo_id="a/b", revision="x", use_volume=False)])',
    ),
    (
        "mr_volume_no_rev",
        'assets=chains.Assets(cached=[truss_config.ModelRepo(repo_id="a/b", use_volume=True, volume_folder="f")])',
    ),
    (
        "mr_volume_ok",
        'assets=chains.Assets(cached=[truss_config.ModelRepo(repo_id="a/b", use_volume=True, revision="main", volume_folder="f")])',
    ),
    (
        "mr_volume_no_folder",
        'assets=chains.Assets(cached=[truss_config.ModelRepo(repo_id="a/b", use_volume=True, revision="main")])',
    ),
    (
        "mr_volume_empty_folder",
        'assets=chains.Assets(cached=[truss_config.ModelRepo(repo_id="a/b", use_volume=True, revision="main", volume_folder="")])',
    ),
    (
        "mr_kind_s3",
        'assets=chains.Assets(cached=[truss_config.ModelRepo(repo_id="a/b", use_volume=False, kind="s3")])',
    ),
    (
        "mr_kind_bad",
        'assets=chains.Assets(cached=[truss_config.ModelRepo(repo_id="a/b", use_volume=False, kind="ftp")])',
    ),
    (
        "mr_s3_volume_norev",
        'assets=chains.Assets(cached=[truss_config.ModelRepo(repo_id="a/b", use_volume=True, kind="s3", volume_folder="f")])',
    ),
    (
        "mr_mixed_volume",
        'assets=chains.Assets(cached=[truss_config.ModelRepo(repo_id="a/b", use_volume=True, revision="main", volume_folder="f"), truss_config.ModelRepo(repo_id="c/d", use_volume=False)])',
    ),
    (
        "mr_extra",
        'assets=chains.Assets(cached=[truss_config.ModelRepo(repo_id="a/b", use_volume=False, colour="red")])',
    ),
    (
        "ws_ok",
        'assets=chains.Assets(weights=[truss_config.WeightsSource(source="hf://a/b", mount_location="/app/w")])',
    ),
    (
        "ws_noscheme",
        'assets=chains.Assets(weights=[truss_config.WeightsSource(source="a/b", mount_location="/app/w")])',
    ),
    (
        "ws_badscheme",
        'assets=chains.Assets(weights=[truss_config.WeightsSource(source="ftp://a/b", mount_location="/app/w")])',
    ),
    (
        "ws_s3_empty",
        'assets=chains.Assets(weights=[truss_config.WeightsSource(source="s3://", mount_location="/app/w")])',
    ),
    (
        "ws_s3_at",
        'assets=chains.Assets(weights=[truss_config.WeightsSource(source="s3://b/p@v", mount_location="/app/w")])',
    ),
    (
        "ws_https_bad",
        'assets=chains.Assets(weights=[truss_config.WeightsSource(source="https:///x", mount_location="/app/w")])',
    ),
    (
        "ws_hf_bad",
        'assets=chains.Assets(weights=[truss_config.WeightsSource(source="hf:///x", mount_location="/app/w")])',
    ),
    (
        "ws_relative_mount",
        'assets=chains.Assets(weights=[truss_config.WeightsSource(source="hf://a/b", mount_location="app/w")])',
    ),
    (
        "ws_dup_mount",
        'assets=chains.Assets(weights=[truss_config.WeightsSource(source="hf://a/b", mount_location="/w"), truss_config.WeightsSource(source="hf://c/d", mount_location="/w")])',
    ),
    (
        "ws_auth_both",
        'assets=chains.Assets(weights=[truss_config.WeightsSource(source="s3://b/p", mount_location="/w", auth_secret_name="s", auth=truss_config.WeightsAuth(auth_method="CUSTOM_SECRET", auth_secret_name="t"))])',
    ),
    (
        "ws_auth_missing",
        'assets=chains.Assets(weights=[truss_config.WeightsSource(source="s3://b/p", mount_location="/w", auth=truss_config.WeightsAuth(auth_method="AWS_OIDC"))])',
    ),
    (
        "ed_ok",
        'assets=chains.Assets(external_data=[truss_config.ExternalDataItem(url="https://x/y", local_data_path="d/f")])',
    ),
    (
        "ed_missing",
        'assets=chains.Assets(external_data=[truss_config.ExternalDataItem(url="https://x/y")])',
    ),
    ("acc_bad", 'compute=chains.Compute(gpu="Z100")'),
    ("acc_count", 'compute=chains.Compute(gpu="A10G:2")'),
    ("acc_count_bad", 'compute=chains.Compute(gpu="A10G:x")'),
    (
        "acc_enum",
        "compute=chains.Compute(gpu=truss_config.Accelerator.H100, gpu_count=0)",
    ),
    ("cpu_str", 'compute=chains.Compute(cpu_count="2")'),
    ("mem_bad", 'compute=chains.Compute(memory="2Gx")'),
    (
        "hc_dict",
        'options=chains.ChainletOptions(health_checks={"restart_threshold_seconds": 300})',
    ),
    (
        "hc_obj",
        "options=chains.ChainletOptions(health_checks=truss_config.HealthChecks(restart_threshold_seconds=300))",
    ),
    (
        "hc_bad",
        'options=chains.ChainletOptions(health_checks=truss_config.HealthChecks(restart_threshold_seconds="x"))',
    ),
    ("env_int", 'options=chains.ChainletOptions(env_variables={"A": 1})'),
    ("meta_obj", 'options=chains.ChainletOptions(metadata={"a": [1, 2, {"b": None}]})'),
    ("srt_str", 'options=chains.ChainletOptions(streaming_read_timeout="60")'),
    (
        "tsvo_bad",
        'docker_image=chains.DockerImage(truss_server_version_override="abc")',
    ),
    (
        "tsvo_ok",
        'docker_image=chains.DockerImage(truss_server_version_override="0.9.80")',
    ),
    (
        "custom_py",
        'docker_image=chains.DockerImage(base_image=chains.CustomImage(image="python:3.11", python_executable_path="python"))',
    ),
    (
        "custom_noimg",
        "docker_image=chains.DockerImage(base_image=chains.CustomImage())",
    ),
    (
        "auth_ok",
        'docker_image=chains.DockerImage(base_image=chains.CustomImage(image="x", docker_auth=truss_config.DockerAuthSettings(auth_method="GCP_SERVICE_ACCOUNT_JSON", secret_name="s", registry="r")))',
    ),
    (
        "auth_bad",
        'docker_image=chains.DockerImage(base_image=chains.CustomImage(image="x", docker_auth=truss_config.DockerAuthSettings(auth_method="NOPE", secret_name="s", registry="r")))',
    ),
    ("secret_bad", 'assets=chains.Assets(secret_keys=["bad name!"])'),
    ("secret_ok", 'assets=chains.Assets(secret_keys=["hf_access_token"])'),
    ("name_empty", 'name=""'),
    ("build_cmds", 'build_commands=["echo hi"]'),
    ("build_cmds_bad", 'build_commands="echo hi"'),
    ("apt_bad", 'docker_image=chains.DockerImage(apt_requirements="ffmpeg")'),
    (
        "transport_grpc",
        "options=chains.ChainletOptions(transport=truss_config.GRPCOptions())",
    ),
)

#: Where chainsc refuses what truss takes, on purpose.
DELIBERATE = {
    # pydantic's lax mode reads "2" as 2 for `Compute`; chainsc reads values with their Python types.
    "cpu_str",
    # truss ignores unknown fields of its config helpers at import (and refuses them at push).
    "mr_extra",
}

CHAIN = """import truss_chains as chains
from truss.base import truss_config


class A(chains.ChainletBase):
    remote_config = chains.RemoteConfig({config})

    def run_remote(self) -> str:
        return ""
"""

#: Imports each chain with truss and generates its config: "ok", or the error.
_TRUSS_VERDICTS = r"""
import json, logging, pathlib, sys, tempfile
logging.disable(logging.CRITICAL)
from truss_chains import framework
from truss_chains.deployment import code_gen
verdicts = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.py")):
    try:
        with framework.ChainletImporter.import_target(path) as cls:
            descriptor = framework.get_descriptor(cls)
            config = code_gen._gen_truss_config(pathlib.Path(tempfile.mkdtemp()), descriptor, {}, "m", False)
            config.write_to_yaml_file(pathlib.Path(tempfile.mkdtemp()) / "config.yaml")
        verdicts[path.stem] = "ok"
    except Exception as exc:
        verdicts[path.stem] = f"{type(exc).__name__}: {exc}"
print(json.dumps(verdicts))
"""


@pytest.fixture(scope="module")
def truss_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    python = truss_python()
    directory = tmp_path_factory.mktemp("configs")
    for name, config in CONFIGS:
        (directory / f"{name}.py").write_text(CHAIN.format(config=config))
    proc = subprocess.run(
        [str(python), "-c", _TRUSS_VERDICTS, str(directory)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    verdicts: dict[str, str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return verdicts


@pytest.mark.parametrize(("name", "config"), CONFIGS, ids=[name for name, _ in CONFIGS])
def test_chainsc_judges_configuration_as_truss_does(
    name: str, config: str, truss_verdicts: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "chain.py"
    path.write_text(CHAIN.format(config=config))
    errors = [d for d in check_file(path).diagnostics if d.severity.value == "error"]
    truss_accepts = truss_verdicts[name] == "ok"
    if name in DELIBERATE:
        assert truss_accepts, truss_verdicts[name]
        assert errors, name
        return
    assert truss_accepts == (not errors), (
        f"{name}: truss says {truss_verdicts[name]}, chainsc {errors}"
    )
