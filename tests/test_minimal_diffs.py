"""Minimal diffs: an edit changes only the packages it must change."""

from __future__ import annotations

import shutil
from pathlib import Path

from chainsc import api
from tests.conftest import EXAMPLES


def _build(chain: Path) -> dict[str, bytes]:
    result = api.build_file(chain)
    assert result.files is not None, result.diagnostics
    return dict(result.files)


def _changed(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {
        path
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path)
    }


def _project(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "text_pipeline", tmp_path / "text_pipeline")
    return tmp_path / "text_pipeline" / "chain.py"


def test_editing_a_body_changes_only_that_package_and_the_manifest(
    tmp_path: Path,
) -> None:
    chain = _project(tmp_path)
    before = _build(chain)
    text = chain.read_text()
    edited = text.replace(
        "        chunks: list[Chunk] = []\n",
        "        chunks: list[Chunk] = []  # edited\n",
        1,
    )
    assert edited != text
    chain.write_text(edited)
    changed = _changed(before, _build(chain))
    assert changed == {"chunker/packages/chain.py", "chain.json"}


def test_a_body_edit_that_moves_lines_changes_only_the_line_maps_elsewhere(
    tmp_path: Path,
) -> None:
    """Other packages name the user's lines in their tracebacks: their maps follow."""
    chain = _project(tmp_path)
    before = _build(chain)
    text = chain.read_text()
    edited = text.replace(
        "        chunks: list[Chunk] = []\n",
        "        chunks: list[Chunk] = []\n        # one more line\n",
        1,
    )
    assert edited != text
    chain.write_text(edited)
    after = _build(chain)
    changed = _changed(before, after)
    assert {"chunker/packages/chain.py", "chain.json"} <= changed
    elsewhere = {
        path for path in changed - {"chain.json"} if not path.startswith("chunker/")
    }
    # Only the data file of the line maps, in packages that carry lines below the edit.
    assert elsewhere
    assert all(path.endswith("/chainsc_generated/sources.py") for path in elsewhere)


def test_editing_a_signature_changes_that_package_its_clients_and_the_summaries(
    tmp_path: Path,
) -> None:
    chain = _project(tmp_path)
    before = _build(chain)
    text = chain.read_text()
    edited = text.replace(
        'style: str = "bullets"\n', 'style: str = "bullets", max_points: int = 5\n', 1
    )
    assert edited != text
    chain.write_text(edited)
    changed = _changed(before, _build(chain))
    summarizer = {path for path in changed if path.startswith("summarizer/")}
    assert summarizer >= {
        "summarizer/packages/chain.py",
        "summarizer/packages/chainsc_generated/endpoint.py",
    }
    # Outside its own package: only the client in its dependent (in place of the
    # Summarizer class in its slice of chain.py) and the chain-level summaries.
    assert changed - summarizer == {
        "text_pipeline/packages/chain.py",
        # The client is a line longer: the lines below it map back one line further.
        "text_pipeline/packages/chainsc_generated/sources.py",
        "chain.json",
        "README.md",
    }
