"""Import a generated package's Truss entry (`model.model`) in a fresh interpreter.

Why: a package can pass every in-process test and still fail where it matters, when
Truss's server (or `chainsc run`) imports it in a new process: an import cycle between the
user's modules and the generated ones, a module shadowed by a generated name, a slice that
dropped a definition. Each package gets an interpreter of its own, because the packages of
one chain hold modules of the same names (`sys.modules` must not leak from one to the next).

The child mirrors Truss's model server: only the package's `model/` is visible at the top
(Truss copies it to `/app/model`; the package's `client.py` and `server.py` are not in a
Truss image), `packages/` is appended to `sys.path` (`bundled_packages_dir`), then
`model.model` is imported. Third-party modules that the user's code imports and that are
not installed here (torch, transformers, ...) are stood in by inert stubs, so what is tested
is the package's own import structure. The chainsc modules, `truss`, `truss_chains` and
local modules are never stubbed: a missing one is a real failure.

`import_package` / `check_import` start one fresh interpreter per package (~0.3 s of CPU
each, most of it importing pydantic, aiohttp and httpx). `check_imports`, for many packages,
starts one interpreter that imports those third-party modules (and the stdlib modules the
runtime uses, by importing `runtime_lib` and then forgetting it) and forks one child per
package from it: no module of any package is ever imported before the fork, so each child is
as fresh for the package as a new interpreter (`tests/test_layouts.py` checks both ways give
the same outcomes), at ~40 ms a package.

Run by hand: `python tests/importcheck.py PKG_DIR...` prints one line per package.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Marks the child's report line on stdout (user code may print at import time).
_MARKER = "CHAINSC-IMPORTCHECK "
#: Modules a stub must never stand in for: their absence is the failure we look for.
_NEVER_STUB = frozenset(
    {"chainsc_generated", "chainsc_runtime", "model", "truss", "truss_chains"}
)
#: Generated directories of `packages/` that are not the user's code.
_GENERATED = frozenset({"chainsc_generated", "chainsc_runtime"})


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    """What importing one package's `model.model` in a fresh interpreter gave."""

    package: Path
    #: None when the import succeeded, else the last line of the failure's traceback.
    error: str | None
    #: The innermost frame inside the package: `packages/app.py:13: from x import Y`.
    where: str | None = None
    #: The frames inside the package, outermost first (`model/model.py:9`, ...).
    import_chain: tuple[str, ...] = ()
    #: Third-party top-level modules that were stood in by stubs.
    stand_ins: tuple[str, ...] = field(default_factory=tuple)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether `model.model` imported."""
        return self.error is None

    def describe(self) -> str:
        """One or two lines: the failure, where it happened and through which imports."""
        if self.error is None:
            return "OK" + (
                f" (stand-ins: {', '.join(self.stand_ins)})" if self.stand_ins else ""
            )
        text = self.error
        if self.where:
            text += f"\n    at {self.where}"
        if len(self.import_chain) > 1:
            text += f"\n    via {' -> '.join(self.import_chain)}"
        return text


def import_package(package_dir: Path) -> str | None:
    """Import `package_dir`'s `model.model` in a fresh interpreter: None if OK, else the failure's last line."""
    return check_import(package_dir).error


def check_import(package_dir: Path, timeout: float = 60.0) -> ImportOutcome:
    """Import one package in a fresh interpreter and say what happened (see `ImportOutcome`)."""
    package = Path(package_dir).resolve()
    started = time.monotonic()
    try:
        completed = subprocess.run(
            # -I: no PYTHONPATH, user site or cwd on sys.path; -B: write no __pycache__
            # (golden/ is imported too).
            [
                sys.executable,
                "-I",
                "-B",
                str(Path(__file__).resolve()),
                "--child",
                str(package),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=package,
        )
    except subprocess.TimeoutExpired:
        return ImportOutcome(
            package, f"TimeoutError: the import took more than {timeout:.0f} s"
        )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(_MARKER):
            return _outcome(package, json.loads(line[len(_MARKER) :]))
    seconds = time.monotonic() - started
    tail = (
        completed.stderr.strip().splitlines() or [f"exit code {completed.returncode}"]
    )[-1]
    return ImportOutcome(
        package, f"the interpreter stopped without a report: {tail}", seconds=seconds
    )


def check_imports(
    package_dirs: Sequence[Path], jobs: int | None = None, timeout: float = 60.0
) -> list[ImportOutcome]:
    """Import every package, each in a child forked from a warmed interpreter (input order kept)."""
    packages = [Path(directory).resolve() for directory in package_dirs]
    if not packages:
        return []
    workers = jobs or os.cpu_count() or 2
    with tempfile.TemporaryDirectory(prefix="chainsc-importcheck-") as reports:
        command = [
            sys.executable,
            "-I",
            "-B",
            str(Path(__file__).resolve()),
            "--zygote",
            reports,
            str(workers),
            str(timeout),
        ]
        completed = subprocess.run(
            [*command, *map(str, packages)],
            capture_output=True,
            text=True,
            timeout=timeout * len(packages) / workers + 120,
            check=False,
        )
        outcomes = []
        for index, package in enumerate(packages):
            report_path = Path(reports) / f"{index}.json"
            if not report_path.is_file():
                tail = (
                    completed.stderr.strip().splitlines()
                    or [f"exit code {completed.returncode}"]
                )[-1]
                outcomes.append(
                    ImportOutcome(
                        package, f"the import checker stopped without a report: {tail}"
                    )
                )
                continue
            outcomes.append(
                _outcome(package, json.loads(report_path.read_text(encoding="utf-8")))
            )
    return outcomes


def _outcome(package: Path, report: dict[str, Any]) -> ImportOutcome:
    return ImportOutcome(
        package,
        report["error"],
        report["where"],
        tuple(report["chain"]),
        tuple(report["stand_ins"]),
        report["seconds"],
    )


# -- the child: runs in the fresh interpreter ------------------------------------------


class _StandInMeta(type):
    """Any attribute of a stand-in class is another stand-in class; `X[...]` is X."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _StandInMeta(name, (_StandIn,), {})

    def __getitem__(cls, item: object) -> Any:
        return cls


class _StandIn(metaclass=_StandInMeta):
    """Inert: can be subclassed, instantiated, called and used as a decorator."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __call__(self, *args: object, **kwargs: object) -> Any:
        # `@torch.inference_mode()` then decorates: give the function back.
        if len(args) == 1 and not kwargs and callable(args[0]):
            return args[0]
        return self

    def __getattr__(self, name: str) -> Any:
        return _StandInMeta(name, (_StandIn,), {})


class _StandInModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _StandInMeta(name, (_StandIn,), {})


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on `sys.meta_path`: answers only for the named modules that nothing else finds."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names
        self.used: set[str] = set()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        top = fullname.partition(".")[0]
        if top not in self.names:
            return None
        if top != fullname and not isinstance(sys.modules.get(top), _StandInModule):
            return (
                None  # an installed package's optional submodule: let its import fail
            )
        self.used.add(top)
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StandInModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def _third_party_imports(packages: Path) -> frozenset[str]:
    """Top-level modules the user's code imports that are neither local nor stdlib nor ours.

    A name the package carries anywhere under `packages/` is local, even where `import`
    does not look for it: carried in the wrong place is exactly the mistake to catch.
    """
    local = {
        entry.stem if entry.suffix == ".py" else entry.name
        for entry in packages.rglob("*")
        if entry.suffix == ".py" or entry.is_dir()
    }
    names: set[str] = set()
    for path in sorted(packages.rglob("*.py")):
        if path.relative_to(packages).parts[0] in _GENERATED:
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue  # the import itself will report it
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.partition(".")[0])
    return frozenset(names - local - _NEVER_STUB - set(sys.stdlib_module_names))


def _frames_in(package: Path, error: BaseException) -> list[str]:
    """`relative/path.py:LINE: source` for each traceback frame inside the package."""
    frames = []
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename)
        if path.is_absolute() and package in path.parents:
            frames.append(
                f"{path.relative_to(package).as_posix()}:{frame.lineno}: {(frame.line or '').strip()}"
            )
    return frames


def _report(package: Path) -> dict[str, Any]:
    """Import `model.model` as Truss's server does; say what happened (JSON-ready)."""
    started = time.monotonic()
    packages = package / "packages"
    # Truss's server: /app/model is importable as `model`, /packages comes last.
    spec = importlib.machinery.PathFinder.find_spec("model", [str(package)])
    finder = _StandInFinder(
        _third_party_imports(packages) if packages.is_dir() else frozenset()
    )
    sys.meta_path.append(finder)
    sys.path.append(str(packages))
    error: str | None = None
    frames: list[str] = []
    try:
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"no `model` package in {package}")
        model = importlib.util.module_from_spec(spec)
        sys.modules["model"] = model
        spec.loader.exec_module(model)
        importlib.import_module("model.model")
    except BaseException as caught:
        error = (
            traceback.format_exception_only(caught)[-1]
            .strip()
            .replace(f"{package}/", "")
        )
        frames = _frames_in(package, caught)
    return {
        "error": error,
        "where": frames[-1] if frames else None,
        "chain": [frame.partition(": ")[0] for frame in frames],
        "stand_ins": sorted(finder.used),
        "seconds": time.monotonic() - started,
    }


def _child(package: Path) -> int:
    sys.stdout.write(_MARKER + json.dumps(_report(package)) + "\n")
    return 0


def _warm() -> None:
    """Import what every package's runtime imports from outside the package, then forget
    the installed `chainsc_runtime` itself: the children import their own vendored copy."""
    try:
        with contextlib.suppress(ImportError):
            for name in (
                "chainsc_runtime",
                "chainsc_runtime.binary",
                "chainsc_runtime.local",
                "chainsc_runtime.server",
            ):
                importlib.import_module(name)
    finally:
        for name in [
            name
            for name in sys.modules
            if name == "chainsc_runtime" or name.startswith("chainsc_runtime.")
        ]:
            del sys.modules[name]


def _zygote(reports: Path, jobs: int, timeout: float, packages: list[str]) -> int:
    """Fork one child per package, `jobs` at a time; each writes `reports/<index>.json`."""
    _warm()
    running: dict[int, int] = {}

    def reap() -> None:
        pid, status = os.wait()
        index = running.pop(pid)
        report = reports / f"{index}.json"
        if not report.is_file():
            if os.WIFSIGNALED(status):
                why = f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
                if os.WTERMSIG(status) == signal.SIGALRM:
                    why = f"TimeoutError: the import took more than {timeout:.0f} s"
            else:
                why = f"the interpreter exited with {os.waitstatus_to_exitcode(status)} during the import"
            _write_report(
                report,
                {
                    "error": why,
                    "where": None,
                    "chain": [],
                    "stand_ins": [],
                    "seconds": 0.0,
                },
            )

    for index, package in enumerate(packages):
        while len(running) >= jobs:
            reap()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 0
            try:
                signal.alarm(max(1, int(timeout)))
                os.chdir(package)
                _write_report(reports / f"{index}.json", _report(Path(package)))
            except BaseException:
                code = 1
            finally:
                sys.stdout.flush()
                os._exit(code)
        running[pid] = index
    while running:
        reap()
    return 0


def _write_report(path: Path, report: dict[str, Any]) -> None:
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(report), encoding="utf-8")
    partial.replace(path)


def _main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        return _child(Path(argv[1]))
    if argv[:1] == ["--zygote"]:
        return _zygote(Path(argv[1]), int(argv[2]), float(argv[3]), argv[4:])
    outcomes = check_imports([Path(arg) for arg in argv])
    for outcome in outcomes:
        sys.stdout.write(f"{outcome.package}: {outcome.describe()}\n")
    return 0 if all(outcome.ok for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
