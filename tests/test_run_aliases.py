"""`chainsc run` on chains that chainsc used to reject or miscompile: constrained aliases, namespace
packages, a chain in a package that imports its siblings by absolute name and relatively, and
standard-library types (`datetime`, `Decimal`) in pydantic models.

The aliases' constraints are the user's own types in the generated Input model, so a bad
argument gets a 422 with the field's error, and the served schema is the aliased type's.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import run_cli
from tests.realworld_chains import write_project
from tests.test_run import _build, _free_port, _processes_in, _start_run, _wait_for

pytestmark = pytest.mark.slow


@contextmanager
def _serving(out: Path) -> Iterator[str]:
    """`chainsc run out` until the block ends; the entrypoint's URL."""
    port = _free_port()
    with _start_run(out, port) as process:
        try:
            _wait_for(process, "ready; entrypoint")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
            assert process.stdout is not None
            process.stdout.read()
    assert code == 0
    assert _processes_in(out) == []


def _errors(response: httpx.Response) -> list[tuple[Any, ...]]:
    body = response.json()
    return [tuple(error["loc"]) for error in body["detail"]]


def test_constrained_aliases_are_enforced_and_described_when_served(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    _build(write_project("aliases", tmp_path), out)
    with _serving(out) as url, httpx.Client(timeout=60) as client:
        # Good input: through the entrypoint and its dependency, whose client uses aliases too.
        called = run_cli(
            "call",
            "--url",
            url,
            "--json",
            json.dumps({"query": "  chains compose  ", "k": 1}),
        )
        assert called.returncode == 0, called.stdout + called.stderr
        hits = json.loads(called.stdout)
        assert len(hits) == 1
        assert hits[0]["labels"] == ["chains compose"]  # NonEmptyStr strips whitespace
        assert hits[0]["speaker"] is None
        # Bad input: each constraint of an alias is a 422 naming the field.
        blank = client.post(f"{url}/run_remote", json={"query": "   "})
        assert blank.status_code == 422, blank.text
        assert ("query",) in {loc[-1:] for loc in _errors(blank)}
        too_many = client.post(f"{url}/run_remote", json={"query": "x", "k": 11})
        assert too_many.status_code == 422, too_many.text
        assert ("k",) in {loc[-1:] for loc in _errors(too_many)}
        # The schema is the aliased type's, constraints included.
        schema = client.get(f"{url}/openapi.json").json()
    properties = _input_properties(schema)
    assert properties["query"]["type"] == "string"
    assert properties["query"]["minLength"] == 1
    assert (properties["k"]["minimum"], properties["k"]["maximum"]) == (1, 10)


def _input_properties(schema: dict[str, Any]) -> dict[str, Any]:
    """The properties of the `run_remote` request body, `$ref`s followed."""
    body = schema["paths"]["/run_remote"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    components = schema.get("components", {}).get("schemas", {})
    while "$ref" in body:
        body = components[body["$ref"].rpartition("/")[2]]
    properties: dict[str, Any] = body["properties"]
    return properties


def test_a_chain_with_dependencies_in_a_namespace_package_serves(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    _build(write_project("namespace", tmp_path), out)
    with _serving(out) as url:
        called = run_cli(
            "call",
            "--url",
            url,
            "--json",
            json.dumps({"audio_url": "s3://bucket/hello_world.wav"}),
        )
    assert called.returncode == 0, called.stdout + called.stderr
    assert json.loads(called.stdout) == {
        "text": "speaker-0: hello world",
        "language": "en",
    }


def test_a_chain_in_a_package_importing_siblings_both_ways_serves(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    _build(write_project("package_mixed", tmp_path), out)
    arguments = {
        "title": "Chains in packages are modules too",
        "text": "The chain imports its helpers; the helpers import text, and the chain serves.",
    }
    with _serving(out) as url:
        called = run_cli("call", "--url", url, "--json", json.dumps(arguments))
    assert called.returncode == 0, called.stdout + called.stderr
    # `helpers.title`/`helpers.top` (module `helpers`), `TITLE_LIMIT` (module `app.helpers`),
    # the stop words read next to `text/stopwords.py`: all at run time, through a hop.
    assert json.loads(called.stdout) == {
        "title": "Chains in packa\u2026",
        "keywords": ["chain", "helpers", "imports"],
    }


def test_datetimes_and_decimals_in_pydantic_models_go_through_a_hop_and_back_exactly(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    _build(write_project("stdlib_io", tmp_path), out)
    order = {
        "id": "12345678-1234-5678-1234-567812345678",
        "placed": "2026-01-31T23:30:00+01:00",
        "prices": ["0.10", "0.20", "19.99"],
        "tax_rate": "0.08",
    }
    with _serving(out) as url, httpx.Client(timeout=60) as client:
        called = run_cli("call", "--url", url, "--json", json.dumps({"order": order}))
        assert called.returncode == 0, called.stdout + called.stderr
        # The constrained Decimal is the user's own: out of range, or too many places, is a 422.
        too_high = client.post(
            f"{url}/run_remote", json={"order": {**order, "tax_rate": "1.5"}}
        )
        assert too_high.status_code == 422, too_high.text
        too_fine = client.post(
            f"{url}/run_remote", json={"order": {**order, "tax_rate": "0.085"}}
        )
        assert too_fine.status_code == 422, too_fine.text
        assert {loc[-2:] for loc in _errors(too_high) + _errors(too_fine)} == {
            ("order", "tax_rate")
        }
    # Exact decimals (0.10 + 0.20 + 19.99, not a float's 20.289999...), the offset of the
    # datetime kept, the date and the timedelta as pydantic writes them, through both hops.
    assert json.loads(called.stdout) == {
        "order": "12345678-1234-5678-1234-567812345678",
        "subtotal": "20.29",
        "total": "21.91",
        "issued": "2026-01-31T23:30:00+01:00",
        "due": "2026-03-02",
        "terms": "P30D",
    }
