"""golden/'s layout: each example's build output, with the vendored runtime recorded once.

`golden/<example>/` holds every file `chainsc build examples/<example>/chain.py` writes,
byte for byte, except the copies of the runtime under `<package>/packages/chainsc_runtime/`:
those are recorded once, in `golden/RUNTIME.json` (the runtime's version and the sha256 of
each module). Which runtime modules each package vendors is in its `chain.json` ("files"),
and `chain.json`'s `package_sha256` covers their bytes, so the golden tree still states
every package's exact bytes (`materialize` puts them back and checks).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import REPO

GOLDEN = REPO / "golden"
RUNTIME_RECORD = GOLDEN / "RUNTIME.json"
RUNTIME_SOURCES = REPO / "runtime_lib"
#: The directory of the vendored runtime inside a package.
VENDORED = "packages/chainsc_runtime/"


def is_vendored(path: str) -> bool:
    """Whether a path of a build tree is a vendored runtime file (`<package>/packages/chainsc_runtime/...`)."""
    package, _, rest = path.partition("/")
    return bool(package) and rest.startswith(VENDORED)


def runtime_module(path: str) -> str:
    """The runtime module a vendored path is a copy of (`transport.py`)."""
    return path.partition("/")[2].removeprefix(VENDORED)


def runtime_record() -> dict[str, object]:
    """What `golden/RUNTIME.json` must say: the runtime of this checkout (`runtime_lib/`), read from its files."""
    from chainsc.runtime_files import runtime_from_files  # noqa: PLC0415 - after conftest's path set-up

    files = {
        path.relative_to(RUNTIME_SOURCES).as_posix(): path.read_bytes()
        for path in sorted(RUNTIME_SOURCES.rglob("*.py"))
        if "__pycache__" not in path.parts
    }
    runtime = runtime_from_files(files)
    return {
        "about": "The runtime every package of golden/ vendors (runtime_lib/, as packages/chainsc_runtime/): "
        "recorded here once instead of a copy per package. Each package's chain.json lists the modules "
        "it vendors; tests/test_golden.py checks them against this record and runtime_lib/.",
        "runtime_version": runtime.version,
        "modules": runtime.sha256(),
    }


def render_record(record: Mapping[str, object]) -> str:
    """`golden/RUNTIME.json`'s text."""
    return json.dumps(record, indent=2, sort_keys=True) + "\n"


def materialize(example: str, destination: Path) -> Path:
    """Copy `golden/<example>` to `destination` with its vendored runtime files put back.

    Each comes from `runtime_lib/`, checked against `golden/RUNTIME.json` first; then every
    package's bytes are checked against its `package_sha256` in `chain.json`.
    """
    source = GOLDEN / example
    shutil.copytree(source, destination)
    recorded = json.loads(RUNTIME_RECORD.read_text(encoding="utf-8"))["modules"]
    manifest = json.loads((source / "chain.json").read_text(encoding="utf-8"))
    for path in manifest["files"]:
        if not is_vendored(path):
            continue
        module = runtime_module(path)
        content = (RUNTIME_SOURCES / module).read_bytes()
        assert hashlib.sha256(content).hexdigest() == recorded[module], (
            f"runtime_lib/{module} is not the recorded one"
        )
        target = destination / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    for chainlet in manifest["chainlets"].values():
        package = chainlet["package"]
        listed = {
            path: (destination / path).read_bytes()
            for path in manifest["files"]
            if path.startswith(f"{package}/")
        }
        assert tree_hash(listed) == chainlet["package_sha256"], (
            f"{example}/{package} is not the package chain.json states"
        )
    return destination


def tree_hash(files: Mapping[str, bytes]) -> str:
    """`chain.json`'s `package_sha256` of a package's files (as `chainsc.emit.plan` computes it)."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(
            path.encode("utf-8") + b"\0" + hashlib.sha256(files[path]).digest()
        )
    return digest.hexdigest()
