"""Every generated chain layout builds, and every package it gives imports in a fresh interpreter.

Issue item 7: whether a package imports where Truss (or `chainsc run`) loads it depends on how
the user laid out the chain: its file name, where the I/O types live, which modules hold which
Chainlets. `tests/layouts/generate.py` lays one small chain out in many ways; here each layout
is built with chainsc and each package's `model.model` is imported in an interpreter of its
own (`tests/importcheck.py`). A subset is served with `chainsc run` and called once; the answer
has a part per hop. Truss's own `run_local` runs every Truss-valid layout and must give the
same expected answer, which proves the layouts are real Truss chains.

A failing layout is reported with its name (which says the file name, the types' home and the
worker kinds), its tags, where its sources are, and per failing package the error, the line
that raised it and the chain of imports that led there.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from chainsc import api
from chainsc.diagnostics import Severity
from chainsc.write import WriteRefused, write_tree
from tests.conftest import REPO, truss_python
from tests.importcheck import check_import, check_imports
from tests.layouts.generate import (
    ENTRY_MODULES,
    KINDS,
    OPTIONAL_FEATURES,
    TYPE_HOMES,
    Layout,
    generate,
)

#: Two full crosses of chain file name x home of the I/O types.
COUNT = 2 * len(ENTRY_MODULES) * len(TYPE_HOMES)
LAYOUTS = generate(COUNT, OPTIONAL_FEATURES)
TRUSS_RUNNER = Path(__file__).parent / "layouts" / "truss_run_local.py"


@dataclass(frozen=True, slots=True)
class _Built:
    layout: Layout
    source: Path
    out: Path
    #: Rendered errors of the build; empty when it built.
    errors: tuple[str, ...]


def _build(layout: Layout, directory: Path) -> _Built:
    chain = layout.write(directory / "src")
    result = api.build_file(chain)
    out = directory / "out"
    if result.files is None:
        errors = tuple(
            f"{d.code} {d.span.path}:{d.span.line}:{d.span.col} {d.message}"
            for d in result.diagnostics
            if d.severity == Severity.ERROR
        )
        return _Built(layout, chain.parent, out, errors or ("the build wrote nothing",))
    assert not isinstance(write_tree(out, result.files), WriteRefused)
    return _Built(layout, chain.parent, out, ())


def _packages(built: _Built) -> list[Path]:
    return sorted(
        path for path in built.out.iterdir() if (path / "model" / "model.py").is_file()
    )


# -- the generator ---------------------------------------------------------------------


_DIGEST = (
    "import hashlib, json; from tests.test_layouts import LAYOUTS; "
    "print(hashlib.sha256(json.dumps([(l.name, l.files, l.expected) for l in LAYOUTS]).encode()).hexdigest())"
)


def test_generator_is_deterministic_and_crosses_every_dimension() -> None:
    again = generate(COUNT, OPTIONAL_FEATURES)
    assert [layout.files for layout in again] == [layout.files for layout in LAYOUTS]
    digests = {
        subprocess.run(
            [sys.executable, "-c", _DIGEST],
            capture_output=True, text=True, check=True, cwd=REPO, env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }  # fmt: skip
    assert len(digests) == 1, "the layouts depend on the hash seed"
    assert len({layout.name for layout in LAYOUTS}) == COUNT
    tags = {tag for layout in LAYOUTS for tag in layout.features}
    pairs = {
        (layout.chain_file, tag)
        for layout in LAYOUTS
        for tag in layout.features
        if tag.startswith("types:")
    }
    assert len(pairs) == len(ENTRY_MODULES) * len(TYPE_HOMES)
    expected = {
        *(f"kind:{kind}" for kind in KINDS),
        *(f"home:{kind}={home}" for kind in ("binary", "inherited", "deep", "str_stream", "bytes_stream") for home in ("chain", "sibling", "package")),
        "after:future", "after:strings", "base:same", "base:other", "counter:sibling", "counter:package",
        "entry:sync", "entry:async", "output:model", "output:str", "output:stream",
        "api:alias", "api:from", "import:names", "import:module", "import:dotted", "relative", "sync_stream",
    }  # fmt: skip
    assert expected <= tags, sorted(expected - tags)
    assert any(not layout.truss_valid for layout in LAYOUTS)
    for layout in LAYOUTS:
        assert not layout.needs - OPTIONAL_FEATURES, layout.name
        for relative, text in layout.files.items():
            compile(text, f"{layout.name}/{relative}", "exec")  # never executed


# -- build and import every layout ------------------------------------------------------


def _failure_report(built: _Built, failures: list[str]) -> str:
    layout = built.layout
    head = f"{layout.name}  [{' '.join(layout.features)}]\n  sources: {built.source}"
    return head + "".join(f"\n  {line}" for line in failures)


def _cause(error: str) -> str:
    """The error with its names and paths blanked: failures of one kind group together."""
    return re.sub(r"\([^()]*\.py\)", "(…)", re.sub(r"'[^']*'", "'…'", error))


def test_every_layout_builds_and_every_package_imports_in_a_fresh_interpreter(
    tmp_path: Path,
) -> None:
    built = [_build(layout, tmp_path / layout.name) for layout in LAYOUTS]
    owners: dict[Path, _Built] = {}
    for one in built:
        for package in _packages(one):
            owners[package.resolve()] = one
    outcomes = check_imports(list(owners))
    failures: dict[str, list[str]] = {}
    for one in built:
        for error in one.errors:
            failures.setdefault(one.layout.name, []).append(f"does not build: {error}")
    for outcome in outcomes:
        if not outcome.ok:
            one = owners[outcome.package]
            text = outcome.describe().replace("\n", "\n  ")
            failures.setdefault(one.layout.name, []).append(
                f"package `{outcome.package.name}`: {text}"
            )
    by_name = {one.layout.name: one for one in built}
    reports = [
        _failure_report(by_name[name], lines)
        for name, lines in sorted(failures.items())
    ]
    failed_packages = sum(not outcome.ok for outcome in outcomes)
    causes = Counter(
        _cause(outcome.error) for outcome in outcomes if outcome.error is not None
    )
    summary = (
        f"{len(failures)} of {len(LAYOUTS)} layouts fail ({failed_packages} of {len(outcomes)} packages "
        "do not import in a fresh interpreter). By cause (packages):\n"
        + "".join(f"  {count:4d}  {cause}\n" for cause, count in causes.most_common())
        + "\n"
    )
    assert not failures, summary + "\n\n".join(reports)
    # Every layout gave one package per Chainlet its entrypoint reaches.
    for one in built:
        assert len(_packages(one)) == len(one.layout.chainlets), one.layout.name


def test_forked_and_fresh_interpreters_give_the_same_outcome(tmp_path: Path) -> None:
    """`check_imports` forks from a warmed interpreter (fast); `check_import` starts a new one."""
    # A layout whose file sorts before `chainsc_generated` and one after it (the names that
    # decided the old import cycle): both outcomes are compared.
    chosen = [
        next(layout for layout in LAYOUTS if layout.chain_file == name)
        for name in ("app.py", "zeta.py")
    ]
    packages = [
        package
        for layout in chosen
        for package in _packages(_build(layout, tmp_path / layout.name))
    ]
    assert len(packages) >= 4
    forked = check_imports(packages)
    fresh = [check_import(package) for package in packages]

    def key(outcome: object) -> tuple[object, ...]:
        return tuple(
            getattr(outcome, name)
            for name in ("package", "error", "where", "import_chain", "stand_ins")
        )

    assert [key(outcome) for outcome in forked] == [key(outcome) for outcome in fresh]


def test_an_import_failure_is_reported_with_its_line_and_import_chain(
    tmp_path: Path,
) -> None:
    """A package whose user module imports a name its dependency module lacks."""
    package = tmp_path / "pkg"
    (package / "model").mkdir(parents=True)
    (package / "model" / "__init__.py").write_text("")
    (package / "model" / "model.py").write_text("from app import Entry\n")
    (package / "packages").mkdir()
    (package / "packages" / "app.py").write_text(
        "import torch\n\nfrom helpers import missing\n\nEntry = 1\n"
    )
    (package / "packages" / "helpers.py").write_text("present = 1\n")
    for outcome in (check_import(package), check_imports([package])[0]):
        assert outcome.error is not None
        assert outcome.error.startswith(
            "ImportError: cannot import name 'missing' from 'helpers'"
        )
        assert outcome.where == "packages/app.py:3: from helpers import missing"
        assert outcome.import_chain == ("model/model.py:1", "packages/app.py:3")
        assert outcome.stand_ins == ("torch",)  # absent here: an inert stand-in
    (package / "packages" / "helpers.py").write_text("missing = 2\n")
    assert check_import(package).ok


# -- Truss itself runs the layouts ------------------------------------------------------


def test_truss_run_local_gives_every_valid_layout_its_expected_answer(
    tmp_path: Path,
) -> None:
    python = truss_python()
    valid = [layout for layout in LAYOUTS if layout.truss_valid]
    assert len(valid) > COUNT // 2
    cases = []
    for layout in valid:
        chain = layout.write(tmp_path / layout.name)
        cases.append(
            {
                "name": layout.name,
                "dir": str(chain.parent),
                "chain_file": layout.chain_file,
                "request": layout.request,
            }
        )
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    completed = subprocess.run(
        [str(python), str(TRUSS_RUNNER), str(tmp_path / "cases.json")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    results = json.loads(completed.stdout.splitlines()[-1])
    wrong = [
        f"{layout.name}: Truss says {result.get('error') or result.get('result')!r}, expected {layout.expected!r}"
        for layout, result in zip(valid, results, strict=True)
        if result.get("result") != layout.expected
    ]
    assert not wrong, "\n".join(wrong)


# -- a name that cannot work --------------------------------------------------------------


def test_a_chain_file_named_model_is_rejected_or_its_packages_import(
    tmp_path: Path,
) -> None:
    layout = LAYOUTS[0]
    source = layout.files[layout.chain_file]
    files = {
        ("model.py" if path == layout.chain_file else path): text
        for path, text in layout.files.items()
    }
    renamed = Layout(
        **{
            **{name: getattr(layout, name) for name in Layout.__slots__},
            "files": files,
            "chain_file": "model.py",
        }
    )
    assert renamed.files["model.py"] == source
    built = _build(renamed, tmp_path)
    if built.errors:
        return  # rejected with a diagnostic: fine
    outcomes = check_imports(_packages(built))
    assert all(outcome.ok for outcome in outcomes), [
        outcome.describe() for outcome in outcomes
    ]


# -- serve a subset and call it ----------------------------------------------------------

#: What the served subset must cover; for each, the layout with the most hops that has it.
_SERVED_WANTS: dict[str, Callable[[set[str]], bool]] = {
    "async str stream, streamed answer": lambda tags: (
        {"kind:str_stream", "output:stream"} <= tags
    ),
    "sync bytes stream": lambda tags: "sync_stream" in tags,
    "async bytes stream": lambda tags: (
        "kind:bytes_stream" in tags and "sync_stream" not in tags
    ),
    "binary dependency": lambda tags: "kind:binary" in tags and "entry:sync" in tags,
    "base class in another module": lambda tags: (
        {"kind:inherited", "base:other"} <= tags
    ),
    "dependency of a dependency in a package": lambda tags: (
        {"kind:deep", "counter:package"} <= tags
    ),
    "workers in a sibling module": lambda tags: any(
        tag.startswith("home:") and tag.endswith("=sibling") for tag in tags
    ),
    "types in a namespace package": lambda tags: "types:namespace" in tags,
}


def _served() -> list[Layout]:
    chosen: list[Layout] = []
    for want in _SERVED_WANTS.values():
        candidates = [
            layout
            for layout in LAYOUTS
            if want(set(layout.features)) and layout not in chosen
        ]
        if (
            candidates
        ):  # test_the_served_subset_covers_what_it_must says when one is missing
            chosen.append(
                max(
                    candidates,
                    key=lambda layout: (len(layout.chainlets), -LAYOUTS.index(layout)),
                )
            )
    return chosen


def test_the_served_subset_covers_what_it_must() -> None:
    served = _served()
    assert len(served) == len(_SERVED_WANTS)
    for what, want in _SERVED_WANTS.items():
        assert any(want(set(layout.features)) for layout in served), what


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
@pytest.mark.parametrize("layout", _served(), ids=lambda layout: layout.name)
def test_layout_served_with_chainsc_run_answers_through_every_hop(
    layout: Layout, tmp_path: Path
) -> None:
    built = _build(layout, tmp_path)
    assert not built.errors, built.errors
    port = _free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "chainsc", "run", str(built.out), "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            log: list[str] = []
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                line = process.stdout.readline()
                if not line:
                    break
                log.append(line)
                if "ready; entrypoint" in line:
                    break
            assert any("ready; entrypoint" in line for line in log), (
                f"{layout.name} did not start:\n" + "".join(log)
            )
            call = urllib.request.Request(
                f"http://127.0.0.1:{port}/run_remote",
                data=json.dumps(layout.request).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(call, timeout=60) as response:
                body = response.read()
            answer = body.decode() if layout.streaming else json.loads(body)
            assert answer == layout.expected, (
                f"{layout.name} ({' '.join(layout.features)})"
            )
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
            assert process.stdout is not None
            process.stdout.read()
    assert code == 0
