"""The packages of an engine builder and a TrussChainlet are what Truss Chains generates.

chainsc builds each chain of `tests/kinds_chains.py`; truss 0.18.36's own generator
(`code_gen.gen_truss_chainlet`, in the truss venv: `truss_kinds_gen.py`) generates the
same Chainlets' Truss directories from the same file. Both `config.yaml`s are read by
truss's own parser (`truss_check.py`), and what it reads must be the same, except where
chainsc deliberately differs (`DIFFERENCES`); a TrussChainlet's package must hold the
same files, byte for byte.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from chainsc.api import build_file
from tests.conftest import truss_python
from tests.kinds_chains import CARRIED_ECHO_FILES, write_engine_chain, write_truss_chain

HERE = Path(__file__).parent
TRUSS_CHECK = HERE / "truss_check.py"
TRUSS_KINDS_GEN = HERE / "truss_kinds_gen.py"

#: Where chainsc's `config.yaml` deliberately differs from Truss Chains', and why
#: (`compiler/emit/truss_config.py`): applied to chainsc's config as truss read it.
DIFFERENCES = (
    # The user's secrets are `null`, not `"***"` (the value never reaches Baseten's engine).
    "secrets: null for ***",
    # `model_metadata.chainsc` names the Chainlet, as in every package of chainsc's.
    "model_metadata.chainsc",
)


def built(chain: Path) -> dict[str, bytes]:
    result = build_file(chain)
    assert not result.has_errors, [d.message for d in result.diagnostics]
    assert result.files is not None
    return dict(result.files)


def truss_generated(chain: Path, tmp_path: Path) -> dict[str, Any]:
    """What truss's generator makes of `chain`'s engine builders and TrussChainlets."""
    scratch = tmp_path / "truss-tmp"
    scratch.mkdir()
    run = subprocess.run(
        [str(truss_python()), str(TRUSS_KINDS_GEN), str(chain)],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    assert run.returncode == 0, run.stderr
    found: dict[str, Any] = json.loads(run.stdout)
    return found


def truss_parsed(config_yaml: bytes, tmp_path: Path) -> dict[str, Any]:
    """chainsc's `config.yaml` as truss's parser reads it (it must accept it, silently)."""
    path = tmp_path / "ours" / "config.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(config_yaml)
    run = subprocess.run(
        [str(truss_python()), str(TRUSS_CHECK), str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    (result,) = json.loads(run.stdout)["results"]
    assert result["ok"], result["error"]
    assert result["forbid_extra_error"] is None
    parsed: dict[str, Any] = result["parsed"]
    return parsed


def test_engine_builder_package_is_truss_chains_config(tmp_path: Path) -> None:
    chain = write_engine_chain(tmp_path)
    files = built(chain)
    # The engine is Baseten's: its package is its config.yaml, nothing to run.
    assert sorted(path for path in files if path.startswith("llama/")) == [
        "llama/config.yaml"
    ]
    manifest = json.loads(files["chain.json"])
    assert manifest["chainlets"]["chain.Llama"]["kind"] == "engine_builder"
    ours = truss_parsed(files["llama/config.yaml"], tmp_path)
    truss = truss_generated(chain, tmp_path)["Llama"]
    assert set(truss["files"]) == {"config.yaml"}
    expected = copy.deepcopy(truss["config"])

    # The deliberate differences, named: chainsc's config reads as truss's but for these.
    assert expected["secrets"] == {"hf_access_token": "***"}
    assert ours["secrets"] == {"hf_access_token": None}
    ours["secrets"] = dict.fromkeys(ours["secrets"], "***")
    assert ours["model_metadata"].pop("chainsc") == {
        "chainlet": "chain.Llama",
        "endpoint": "run_remote",
        "is_entrypoint": False,
    }
    assert ours == expected

    # A few values spelled out, so the claim does not rest on the comparison alone.
    assert ours["trt_llm"]["build"]["max_batch_size"] == 32
    assert ours["trt_llm"]["build"]["checkpoint_repository"]["repo"] == (
        "meta-llama/Llama-3.1-8B-Instruct"
    )
    assert ours["trt_llm"]["inference_stack"] == "v1"
    assert ours["resources"]["accelerator"] == "H100"
    assert ours["model_metadata"]["tags"] == ["openai-compatible"]
    assert "baseten_chain_api_key" not in ours["secrets"]


def test_truss_chainlet_package_is_its_truss_directory(tmp_path: Path) -> None:
    chain = write_truss_chain(tmp_path)
    files = built(chain)
    ours_files = {
        path.removeprefix("echo/"): content
        for path, content in files.items()
        if path.startswith("echo/")
    }
    truss = truss_generated(chain, tmp_path)["Echo"]
    # The same files (truss's ignore patterns left the same ones out), byte for byte
    # but for config.yaml, which both rewrite with the Chainlet's name.
    assert set(ours_files) == set(truss["files"]) == CARRIED_ECHO_FILES
    for path, digest in truss["files"].items():
        if path != "config.yaml":
            assert hashlib.sha256(ours_files[path]).hexdigest() == digest, path
    ours = truss_parsed(ours_files["config.yaml"], tmp_path)
    assert ours == truss["config"]
    assert ours["model_name"] == "Echo"
    assert ours["secrets"] == {"echo_token": None}  # no chain API key: it calls no one
    manifest = json.loads(files["chain.json"])
    assert manifest["chainlets"]["chain.Echo"]["kind"] == "truss"
    assert "kind" not in manifest["chainlets"]["chain.Shout"]


SPELLED = """\
import truss_chains as chains
from truss.base import trt_llm_config

BUILD = trt_llm_config.TrussTRTLLMBuildConfiguration(
    checkpoint_repository=trt_llm_config.CheckpointRepository(
        source="HF", repo="meta-llama/Llama-3.1-8B-Instruct"
    ),
)


@chains.mark_entrypoint
class Llama(chains.EngineBuilderLLMChainlet):
    remote_config = chains.RemoteConfig(compute=chains.Compute(gpu="L4"))
    engine_builder_config = {written}
"""


@pytest.mark.parametrize(
    "written",
    [
        # The legacy spelling: the v1 fields as keywords of `TRTLLMConfiguration`.
        "trt_llm_config.TRTLLMConfiguration(build=BUILD)",
        "trt_llm_config.TRTLLMConfiguration(trt_llm_config.TRTLLMConfigurationV1(build=BUILD))",
        "trt_llm_config.TRTLLMConfiguration(root={'build': BUILD})",
    ],
)
def test_engine_builder_config_spellings_read_the_same(
    tmp_path: Path, written: str
) -> None:
    """Every way truss takes the root model writes the same `trt_llm`."""
    (tmp_path / "chain.py").write_text(SPELLED.format(written=written))
    config = built(tmp_path / "chain.py")["llama/config.yaml"].decode()
    assert config.endswith(
        "trt_llm:\n"
        "  build:\n"
        "    checkpoint_repository:\n"
        "      repo: meta-llama/Llama-3.1-8B-Instruct\n"
        "      source: HF\n"
    )
