"""`chainsc build` end to end: the real CLI in a subprocess, real directories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CHAINSC, EXAMPLES, REPO, run_cli


def _copy_example(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target)
    return target / "chain.py"


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_build_writes_one_package_per_chainlet_and_a_manifest(tmp_path: Path) -> None:
    chain = _copy_example(tmp_path, "text_pipeline")
    out = tmp_path / "out"
    result = run_cli("build", str(chain), "-o", str(out))
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "chain.json").read_text())
    assert manifest["entrypoint"] == "chain.TextPipeline"
    assert sorted(c["package"] for c in manifest["chainlets"].values()) == [
        "chunker",
        "keyword_extractor",
        "summarizer",
        "text_pipeline",
    ]
    assert manifest["files"] == sorted(_tree(out))
    for package in ("chunker", "text_pipeline"):
        for part in (
            "config.yaml",
            "requirements.txt",
            "model/model.py",
            "packages/chainsc_generated/endpoint.py",
        ):
            assert (out / package / part).is_file(), f"{package}/{part}"
    assert str(tmp_path) not in "".join(
        p.read_text(errors="replace") for p in out.rglob("*") if p.is_file()
    )


def test_check_is_clean_after_build_and_reports_every_kind_of_drift(
    tmp_path: Path,
) -> None:
    chain = _copy_example(tmp_path, "split_package")
    out = tmp_path / "out"
    assert run_cli("build", str(chain), "-o", str(out)).returncode == 0
    before = _tree(out)
    clean = run_cli("build", str(chain), "-o", str(out), "--check")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout == ""

    (out / "README.md").write_text("edited\n")
    (out / "catalog_indexer" / "config.yaml").unlink()
    manifest = json.loads((out / "chain.json").read_text())
    manifest["files"] = sorted([*manifest["files"], "orphan.txt"])
    (out / "chain.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    )
    (out / "orphan.txt").write_text("left over\n")
    drift = run_cli("build", str(chain), "-o", str(out), "--check")
    assert drift.returncode == 1
    assert "diff --git a/README.md b/README.md" in drift.stdout
    assert "+++ b/catalog_indexer/config.yaml" in drift.stdout
    assert "diff --git a/orphan.txt b/orphan.txt" in drift.stdout
    assert "2 changed, 1 missing, 1 extra" in drift.stderr

    # --check never writes; a build repairs everything and removes the orphan.
    assert (out / "README.md").read_text() == "edited\n"
    assert run_cli("build", str(chain), "-o", str(out)).returncode == 0
    assert _tree(out) == before


def test_failed_build_writes_nothing(tmp_path: Path) -> None:
    chain = tmp_path / "chain.py"
    chain.write_text(
        "import truss_chains as chains\n\n\nclass A(chains.ChainletBase):\n    def run_remote(self, x) -> int:\n        return 1\n"
    )
    out = tmp_path / "out"
    result = run_cli("build", str(chain), "-o", str(out))
    assert result.returncode == 1
    assert "CSC204" in result.stderr
    assert not out.exists()


def test_build_refuses_a_foreign_directory_unless_forced_and_keeps_user_files(
    tmp_path: Path,
) -> None:
    chain = _copy_example(tmp_path, "streaming")
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.md").write_text("mine\n")
    refused = run_cli("build", str(chain), "-o", str(out))
    assert refused.returncode == 2  # a usage error: the README's exit codes
    assert "not written by chainsc" in refused.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.md"]
    forced = run_cli("build", str(chain), "-o", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out / "notes.md").read_text() == "mine\n"
    assert (out / "chain.json").is_file()


@pytest.mark.slow
def test_output_is_identical_across_cwd_paths_and_hash_seeds(tmp_path: Path) -> None:
    chain = _copy_example(tmp_path, "rag")
    trees = []
    for index, (cwd, chain_arg, seed) in enumerate(
        [
            (chain.parent, "chain.py", "0"),
            (tmp_path, str(chain), "12345"),
            (REPO, os.path.relpath(chain, REPO), "random"),
        ]
    ):
        out = tmp_path / f"out{index}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [str(CHAINSC), "build", chain_arg, "-o", str(out)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        trees.append(_tree(out))
    assert trees[0] == trees[1] == trees[2]
