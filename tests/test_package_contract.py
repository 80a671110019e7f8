"""A built package honours the Truss model contract: load it, call `predict`.

The generated code is imported in a subprocess, exactly as Truss would import
`model/model.py` with `packages/` on the path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from chainsc import api
from chainsc.write import WriteRefused, write_tree
from chainsc_runtime import binary
from tests.conftest import EXAMPLES

SCRIPT = """
import json, sys
from model.model import Model

model = Model(config={}, data_dir=None, secrets={})
model.load()
# Truss passes the Starlette request; a JSON request's is only read for its Content-Type.
print(json.dumps(model.predict(json.loads(sys.argv[1]), None)))
"""


def _built(tmp_path: Path, chain: Path) -> Path:
    result = api.build_file(chain)
    assert result.files is not None
    out = tmp_path / "out"
    assert not isinstance(write_tree(out, result.files), WriteRefused)
    return out


def _predict(
    package: Path, script: str, inputs: object, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, json.dumps(inputs)],
        cwd=package,
        env={"PYTHONPATH": f"{package}:{package / 'packages'}", "PATH": "", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_built_package_loads_and_predicts_like_a_truss_model(tmp_path: Path) -> None:
    package = _built(tmp_path, EXAMPLES / "text_pipeline" / "chain.py") / "chunker"
    inputs: dict[str, dict[str, object]] = {
        "document": {
            "doc_id": "d1",
            "text": "One sentence here. Another one follows! And a third?",
        },
        "config": {"max_chunk_chars": 30},
    }
    completed = _predict(package, SCRIPT, inputs)
    assert completed.returncode == 0, completed.stderr
    chunks, stats = json.loads(completed.stdout)
    assert [chunk["text"].strip() for chunk in chunks] == [
        "One sentence here.",
        "Another one follows!",
        "And a third?",
    ]
    assert stats["num_words"] == 9
    assert stats["num_chars"] == len(str(inputs["document"]["text"]))


#: `predict` as a Truss server calls it; a Starlette response is printed as status and body.
REPLY_SCRIPT = """
import asyncio, inspect, json, sys
from starlette.responses import Response
from model.model import Model

model = Model(config={}, data_dir=None, secrets={})
model.load()
reply = model.predict(json.loads(sys.argv[1]), None)
if inspect.isawaitable(reply):
    reply = asyncio.run(reply)
assert isinstance(reply, Response), reply
print(json.dumps({"status": reply.status_code, "type": reply.media_type, "body": json.loads(reply.body)}))
"""

FAILING_CHAIN = """
import truss_chains as chains


class Divider(chains.ChainletBase):
    def run_remote(self, numerator: int, denominator: int) -> float:
        return numerator / denominator


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(self, divider: Divider = chains.depends(Divider)) -> None:
        self._divider = divider

    async def run_remote(self, numerator: int, denominator: int) -> float:
        if denominator < 0:
            raise ValueError(f"negative denominator: {denominator}")
        return numerator / denominator
"""


def test_on_a_truss_server_errors_become_the_wire_error_replies(tmp_path: Path) -> None:
    chain = tmp_path / "src" / "chain.py"
    chain.parent.mkdir()
    chain.write_text(FAILING_CHAIN, encoding="utf-8")
    out = _built(tmp_path, chain)

    # A bad request: 422 with the field errors (sync endpoint).
    bad = _predict(out / "divider", REPLY_SCRIPT, {"numerator": "x", "denominator": 2})
    assert bad.returncode == 0, bad.stderr
    reply = json.loads(bad.stdout)
    assert reply["status"] == 422
    assert reply["type"] == "application/json"
    assert [(e["loc"], e["type"]) for e in reply["body"]["detail"]] == [
        (["numerator"], "int_parsing")
    ]

    # A user exception: 500 with the remote error detail, logged (sync endpoint).
    failed = _predict(out / "divider", REPLY_SCRIPT, {"numerator": 1, "denominator": 0})
    assert failed.returncode == 0, failed.stderr
    reply = json.loads(failed.stdout)
    assert reply["status"] == 500
    error = reply["body"]["error"]
    assert (error["exception_cls_name"], error["exception_module_name"]) == (
        "ZeroDivisionError",
        "builtins",
    )
    assert error["exception_message"] == "division by zero"
    assert [frame["name"] for frame in error["user_stack_trace"]] == ["run_remote"]
    assert "`Divider.run_remote` failed" in failed.stderr
    assert "ZeroDivisionError" in failed.stderr

    # The same from an async endpoint (its dependency is never called).
    services = json.dumps({"Divider": "http://127.0.0.1:9"})
    failed = _predict(
        out / "entry",
        REPLY_SCRIPT,
        {"numerator": 1, "denominator": -1},
        CHAINSC_SERVICES=services,
    )
    assert failed.returncode == 0, failed.stderr
    reply = json.loads(failed.stdout)
    assert reply["status"] == 500
    assert reply["body"]["error"]["exception_cls_name"] == "ValueError"
    assert reply["body"]["error"]["exception_message"] == "negative denominator: -1"


def test_without_starlette_predict_raises_as_python_code_expects(
    tmp_path: Path,
) -> None:
    chain = tmp_path / "src" / "chain.py"
    chain.parent.mkdir()
    chain.write_text(FAILING_CHAIN, encoding="utf-8")
    out = _built(tmp_path, chain)
    script = "import sys\nsys.modules['starlette'] = None\n" + SCRIPT

    failed = _predict(out / "divider", script, {"numerator": 1, "denominator": 0})

    assert failed.returncode == 1
    assert failed.stderr.rstrip().endswith("ZeroDivisionError: division by zero")


#: `predict` as Truss's server calls it for a msgpack request: inputs already decoded, the
#: Starlette request saying `application/octet-stream`; the reply must be the msgpack bytes.
BINARY_SCRIPT = """
import inspect, json, sys
from starlette.requests import Request
from chainsc_runtime import binary
from model.model import Model

# Truss passes the request only to a parameter annotated with Starlette's `Request` itself.
assert inspect.signature(Model.predict).parameters["request"].annotation is Request
model = Model(config={}, data_dir=None, secrets={})
model.load()
scope = {"type": "http", "headers": [(b"content-type", b"application/octet-stream")]}
reply = model.predict(json.loads(sys.argv[1]), Request(scope))
assert isinstance(reply, bytes), reply
print(reply.hex())
"""


def test_on_a_truss_server_a_binary_request_gets_msgpack_bytes(tmp_path: Path) -> None:
    chain = tmp_path / "src" / "chain.py"
    chain.parent.mkdir()
    chain.write_text(FAILING_CHAIN, encoding="utf-8")
    out = _built(tmp_path, chain)

    completed = _predict(
        out / "divider", BINARY_SCRIPT, {"numerator": 1, "denominator": 4}
    )

    assert completed.returncode == 0, completed.stderr
    assert bytes.fromhex(completed.stdout.strip()) == binary.packb(0.25)
