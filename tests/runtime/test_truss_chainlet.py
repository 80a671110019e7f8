"""`TrussHandle`: a TrussChainlet dependency's URL and headers, as Truss Chains gives them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from chainsc_runtime import RPCOptions
from chainsc_runtime.errors import MissingDependencyError
from chainsc_runtime.transport import ServiceTarget
from chainsc_runtime.truss_chainlet import (
    CallArgs,
    TrussHandle,
    get_baseten_chain_api_key,
    get_service_urls,
)
from tests.conftest import truss_python

TRUSS_HANDLE_CHECK = Path(__file__).with_name("truss_handle_check.py")

#: A `dynamic_chainlet_config` as Baseten mounts it: each form of entry.
DYNAMIC_CONFIG: dict[str, dict[str, Any]] = {
    "Public": {
        "predict_url": "https://chain-1.api.baseten.co/environments/p/run_remote"
    },
    "Internal": {
        "internal_url": {
            "gateway_run_remote_url": "https://gateway.internal/chain/run_remote",
            "hostname": "chain-1.svc.cluster.local",
        }
    },
    "Both": {
        "predict_url": "https://chain-2.api.baseten.co/run_remote",
        "internal_url": {
            "gateway_run_remote_url": "https://gateway.internal/chain-2/run_remote",
            "hostname": "chain-2.svc.cluster.local",
        },
    },
}

#: Every way a dependent asks for call arguments, on each entry.
CALLS: list[dict[str, Any]] = [
    {"name": name, "method": method, "kwargs": kwargs}
    for name in DYNAMIC_CONFIG
    for method, kwargs in (
        ("http_call_args", {"api_key": "k"}),
        ("http_call_args", {"api_key": "k", "prefer_internal": True}),
        ("http_call_args", {"api_key": "k", "sync_path": "v1/models/model:predict"}),
        ("http_call_args", {"api_key": "k", "sync_path": "/custom/route"}),
        ("http_call_args", {}),  # no key: the chain's, which is not set here
        ("ws_call_args", {"api_key": "k"}),
        ("ws_call_args", {"api_key": "k", "sync_path": "ws"}),
    )
]


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The dynamic config mounted, and none of chainsc's own variables or keys set."""
    (tmp_path / "dynamic_chainlet_config").write_text(json.dumps(DYNAMIC_CONFIG))
    monkeypatch.setenv("CHAINSC_DYNAMIC_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("CHAINSC_SECRETS_DIR", str(tmp_path / "no-secrets"))
    for name in ("CHAINSC_SERVICES", "CHAINSC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CHAINSC_SECRET_BASETEN_CHAIN_API_KEY", raising=False)
    get_baseten_chain_api_key.cache_clear()
    return tmp_path


def ours(call: dict[str, Any]) -> dict[str, object]:
    try:
        args = getattr(TrussHandle(call["name"]), call["method"])(**call["kwargs"])
    except Exception as exc:  # any failure is the answer, as for truss's
        return {"error": type(exc).__name__}
    return {"url": args.url, "headers": args.headers}


def test_truss_handle_answers_as_truss_chains_own(platform: Path) -> None:
    """Every call's URL and headers are truss 0.18.36's; where truss fails, so does chainsc."""
    run = subprocess.run(
        [str(truss_python()), str(TRUSS_HANDLE_CHECK)],
        input=json.dumps({"dir": str(platform), "calls": CALLS}),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(platform)},
    )
    assert run.returncode == 0, run.stderr
    truss = json.loads(run.stdout)
    for call, expected in zip(CALLS, truss, strict=True):
        found = ours(call)
        if "error" in expected:
            assert "error" in found, (call, found)
        else:
            assert found == expected, call
    # A few answers spelled out, so the claim does not rest on truss's alone.
    answers = {json.dumps(call, sort_keys=True): ours(call) for call in CALLS}
    assert answers[json.dumps(CALLS[2], sort_keys=True)] == {
        "url": "https://chain-1.api.baseten.co/environments/p/sync/v1/models/model:predict",
        "headers": {"Authorization": "Api-Key k"},
    }
    internal = {
        "name": "Internal",
        "method": "http_call_args",
        "kwargs": {"api_key": "k"},
    }
    assert answers[json.dumps(internal, sort_keys=True)] == {
        "url": "https://gateway.internal/chain/run_remote",
        "headers": {"Authorization": "Api-Key k", "Host": "chain-1.svc.cluster.local"},
    }


def test_truss_handle_of_a_dependency_is_made_from_its_target() -> None:
    """How `ChainletModel.load()` makes it: the target found, the chain's key (if any)."""

    class Echo(TrussHandle):
        SERVICE = "Echo"

    handle = Echo(
        service="Echo",
        target=ServiceTarget.at_base_url("http://127.0.0.1:8001", "CHAINSC_SERVICES"),
        options=RPCOptions(),
        api_key=None,
    )
    assert handle.http_call_args() == CallArgs("http://127.0.0.1:8001/run_remote", {})
    assert handle.http_call_args(sync_path="v1/models/model:predict").url == (
        "http://127.0.0.1:8001/sync/v1/models/model:predict"
    )
    assert handle.ws_call_args().url == "ws://127.0.0.1:8001/websocket"
    keyed = Echo(
        target=ServiceTarget.at_base_url("http://127.0.0.1:8001"), api_key="chain-key"
    )
    assert keyed.http_call_args().headers == {"Authorization": "Api-Key chain-key"}
    handle.close()


def test_truss_handle_by_name_or_class_and_the_key(
    platform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Public(TrussHandle):
        pass

    assert (
        get_service_urls(Public).predict_url == DYNAMIC_CONFIG["Public"]["predict_url"]
    )
    with pytest.raises(MissingDependencyError, match="baseten_chain_api_key"):
        TrussHandle("Public").http_call_args()  # the platform needs the chain's key
    monkeypatch.setenv("CHAINSC_SECRET_BASETEN_CHAIN_API_KEY", "from-secret")
    get_baseten_chain_api_key.cache_clear()
    assert TrussHandle("Public").http_call_args().headers == {
        "Authorization": "Api-Key from-secret"
    }
    with pytest.raises(MissingDependencyError, match="Nowhere"):
        TrussHandle("Nowhere")
    with pytest.raises(TypeError):
        get_service_urls(3)  # type: ignore[arg-type]
