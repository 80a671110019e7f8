"""Every bundled example compiles cleanly; its IR and warnings are pinned."""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from chainsc import check_file
from chainsc.diagnostics import Severity, render_text
from chainsc.ir_dump import dump_json, dump_text
from tests.conftest import EXAMPLES, example_chains

#: The one example whose full IR JSON is pinned (the one using the most features); the
#: others pin the readable summary, which is what a reviewer of a front-end change reads.
FULL_JSON_EXAMPLE = "realworld_style"


def _name(path: Path) -> str:
    return path.parent.relative_to(EXAMPLES).as_posix()


@pytest.mark.parametrize("chain", example_chains(), ids=_name)
def test_example_has_no_errors_and_pins_its_ir(
    chain: Path, snapshot: SnapshotAssertion
) -> None:
    result = check_file(chain)
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert not errors, render_text(errors, result.sources)
    assert result.chain is not None
    assert render_text(result.diagnostics, result.sources) == snapshot(
        name="diagnostics"
    )
    assert dump_text(result.chain) == snapshot(name="summary")
    if _name(chain) == FULL_JSON_EXAMPLE:
        assert dump_json(result.chain) == snapshot(name="ir_json")


def test_the_full_json_example_exists() -> None:
    assert FULL_JSON_EXAMPLE in {_name(chain) for chain in example_chains()}


def test_examples_cover_the_front_end_features() -> None:
    results = [check_file(chain).chain for chain in example_chains()]
    chains = [c for c in results if c is not None]
    chainlets = [c for chain in chains for c in chain.chainlets]
    assert len(example_chains()) >= 5
    assert any(c.endpoint.is_async for c in chainlets)
    assert any(c.endpoint.is_streaming for c in chainlets)
    assert any(c.kind.value == "model" for c in chainlets)
    assert any(c.bases for c in chainlets)
    assert any(chain.stubs for chain in chains)
    assert any(len(chain.modules) > 1 for chain in chains)
    assert any(c.remote_config.compute.gpu for c in chainlets)
    assert any(t.kind.value == "enum" for chain in chains for t in chain.types)
