"""Dotted module paths through namespace packages (PEP 420: a directory without `__init__.py`).

`import asr_workers.whisper`, then `asr_workers.whisper.WhisperModel` as a dependency target
and an annotation: resolved like Python does, and the packages carry `asr_workers/whisper.py`
with `asr_workers/` left a namespace package, as Truss copies it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from tests.importcheck import import_package
from tests.realworld_chains import write_project


def _inspect(chain: Path) -> dict[str, Any]:
    result = run_cli("inspect", str(chain), "--json")
    assert result.returncode == 0, result.stderr
    ir: dict[str, Any] = json.loads(result.stdout)
    return ir


def test_dependencies_and_types_through_dotted_paths_of_a_namespace_package(
    tmp_path: Path,
) -> None:
    ir = _inspect(write_project("namespace", tmp_path))
    transcribe = next(c for c in ir["chainlets"] if c["name"] == "Transcribe")
    assert [(d["param"], d["target"]) for d in transcribe["dependencies"]] == [
        ("whisper", "asr_workers.whisper.WhisperModel"),
        ("diarizer", "asr_workers.diarize.speakers.Diarizer"),
    ]
    assert transcribe["endpoint"]["returns"]["kind"] == "user"
    assert transcribe["endpoint"]["returns"]["name"] == "asr_workers.schema.Transcript"
    # The namespace directories are no modules of their own: they have no source.
    assert [(m["name"], m["path"], m["is_package"]) for m in ir["modules"]] == [
        ("asr_workers.diarize.speakers", "asr_workers/diarize/speakers.py", False),
        ("asr_workers.schema", "asr_workers/schema.py", False),
        ("asr_workers.whisper", "asr_workers/whisper.py", False),
        ("pipeline", "pipeline.py", False),
    ]


def test_packages_carry_the_modules_and_leave_namespace_directories_without_init(
    tmp_path: Path,
) -> None:
    chain = write_project("namespace", tmp_path)
    out = tmp_path / "out"
    built = run_cli("build", str(chain), "-o", str(out))
    assert built.returncode == 0, built.stderr
    carried = sorted(
        path.relative_to(out).as_posix()
        for path in out.glob("*/packages/**/*.py")
        if "chainsc_" not in path.as_posix()
    )
    assert carried == [
        "diarizer/packages/asr_workers/diarize/speakers.py",
        # The entrypoint's `import asr_workers.whisper` needs the module, its Chainlet a client.
        "transcribe/packages/asr_workers/diarize/speakers.py",
        "transcribe/packages/asr_workers/schema.py",
        "transcribe/packages/asr_workers/whisper.py",
        "transcribe/packages/pipeline.py",
        "whisper_model/packages/asr_workers/schema.py",
        "whisper_model/packages/asr_workers/whisper.py",
    ]
    for package in ("diarizer", "transcribe", "whisper_model"):
        assert import_package(out / package) is None
    # Still a namespace package where it runs: no `__file__`, like the user's directory.
    probe = "import sys; sys.path[:0] = ['packages']; import asr_workers.whisper, asr_workers; print(asr_workers.__file__)"
    ran = subprocess.run(
        [sys.executable, "-I", "-B", "-c", probe],
        cwd=out / "transcribe",
        capture_output=True,
        text=True,
        check=False,
    )
    assert (ran.returncode, ran.stdout.strip()) == (0, "None"), ran.stderr


def test_a_regular_package_reached_through_a_dotted_import_is_carried_too(
    tmp_path: Path,
) -> None:
    chain = write_project("namespace", tmp_path)
    (chain.parent / "asr_workers" / "__init__.py").write_text('"""Speech workers."""\n')
    out = tmp_path / "out"
    built = run_cli("build", str(chain), "-o", str(out))
    assert built.returncode == 0, built.stderr
    assert (out / "transcribe" / "packages" / "asr_workers" / "whisper.py").is_file()
    # A regular package keeps its `__init__.py`; the namespace below it gets none.
    assert (out / "transcribe" / "packages" / "asr_workers" / "__init__.py").is_file()
    assert not (
        out / "transcribe" / "packages" / "asr_workers" / "diarize" / "__init__.py"
    ).exists()
    for package in ("diarizer", "transcribe", "whisper_model"):
        assert import_package(out / package) is None


def test_names_a_namespace_package_does_not_have_locally_are_third_party(
    tmp_path: Path,
) -> None:
    chain = write_project("namespace", tmp_path)
    text = chain.read_text()
    # Another portion of the namespace (installed elsewhere) may provide `asr_workers.vad`:
    # not a missing local module. A Chainlet from there is not in the chain's sources.
    chain.write_text(
        text.replace(
            "import asr_workers.whisper\n",
            "import asr_workers.vad\nimport asr_workers.whisper\n",
        ).replace(
            "chains.depends(asr_workers.diarize.speakers.Diarizer)",
            "chains.depends(asr_workers.vad.Detector)",
        )
    )
    result = run_cli("check", str(chain))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "error[" in line]
    assert errors == [
        "pipeline.py:14:33: error[CSC301]: dependency `asr_workers.vad.Detector` is not defined in the chain's sources "
        "(`asr_workers.vad` is not a module under the chain root)"
    ]
