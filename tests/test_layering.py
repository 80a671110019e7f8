"""Import boundaries, as a table: which stage each `compiler` module belongs to and what it may import.

An AST scan of every import statement (lazy imports inside functions included).
Every module of `compiler/` must be placed in `STAGES`: a new module fails
`test_every_module_is_placed` until it is, so its place is decided in review.
See STYLE.md ("Import boundaries") and README.md ("Architecture").
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: Every module of `compiler/`, by stage.
#: - shared: values and pure helpers every stage uses (sources, spans, diagnostics, the IR,
#:   graphs, the chain root, requirement files, the installed runtime's files);
#: - front: parse -> resolve -> extract -> validate, and the checks of what packages carry;
#: - back: the planner, the renderer and the writer (`chainsc.emit`, `write`);
#: - serve: `chainsc run` (`run`, `isolate`) and `chainsc push` (`push`), over built packages;
#: - entry: the library API and the CLI, which wire the stages.
STAGES: dict[str, str] = {
    "chainsc.source": "shared",
    "chainsc.codes": "shared",
    "chainsc.diagnostics": "shared",
    "chainsc.ir": "shared",
    "chainsc.ir_dump": "shared",
    "chainsc.graph": "shared",
    "chainsc.graph_render": "shared",
    "chainsc.confine": "shared",
    "chainsc.requirement_syntax": "shared",
    "chainsc.requirements": "shared",
    "chainsc.distributions": "shared",
    "chainsc.runtime_files": "shared",
    "chainsc.typetext": "shared",
    "chainsc.wording": "shared",
    "chainsc.project": "shared",
    "chainsc.interface": "shared",
    "chainsc.breaking": "shared",
    "chainsc.parse": "front",
    "chainsc.nesting": "front",
    "chainsc.bodies": "front",
    "chainsc.resolve": "front",
    "chainsc.annotations": "front",
    "chainsc.evaluate": "front",
    "chainsc.config": "front",
    "chainsc.surface": "front",
    "chainsc.extract": "front",
    "chainsc.observations": "front",
    "chainsc.kinds": "front",
    "chainsc.validate": "front",
    "chainsc.websocket_rules": "front",
    "chainsc.schema": "shared",
    "chainsc.carry": "front",
    "chainsc.signatures": "front",
    "chainsc.data_files": "front",
    "chainsc.requirements_check": "front",
    "chainsc.emit": "back",
    "chainsc.emit.inputs": "back",
    "chainsc.emit.plan": "back",
    "chainsc.emit.verify": "back",
    "chainsc.emit.slice": "back",
    "chainsc.emit.clients": "back",
    "chainsc.emit.pycode": "back",
    "chainsc.emit.truss_config": "back",
    "chainsc.emit.deploy": "back",
    "chainsc.write": "back",
    "chainsc.run": "serve",
    "chainsc.isolate": "serve",
    "chainsc.push": "serve",
    "chainsc": "entry",
    "chainsc.__main__": "entry",
    "chainsc.api": "entry",
    "chainsc.cli": "entry",
    "chainsc.dev": "entry",
    "chainsc.fastcheck": "entry",
}

#: The stages each stage's modules may import. The front end never imports the back
#: end; nothing but the entry points imports what serves.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "shared": frozenset({"shared"}),
    "front": frozenset({"shared", "front"}),
    "back": frozenset({"shared", "front", "back"}),
    "serve": frozenset({"shared", "serve"}),
    "entry": frozenset({"shared", "front", "back", "serve", "entry"}),
}

#: Third-party packages only these modules may import (any other is free to all).
RESTRICTED: dict[str, frozenset[str]] = {
    # The parser: only the front end reads libcst trees.
    "libcst": frozenset(
        {
            "chainsc.parse",
            "chainsc.resolve",
            "chainsc.annotations",
            "chainsc.evaluate",
            "chainsc.config",
            "chainsc.extract",
            "chainsc.carry",
        }
    ),
    # The renderer.
    "jinja2": frozenset({"chainsc.emit.plan"}),
    # `config.yaml` written; and read: a TrussChainlet's Truss directory's (`kinds`).
    "yaml": frozenset(
        {"chainsc.emit.truss_config", "chainsc.isolate", "chainsc.kinds"}
    ),
    "click": frozenset({"chainsc.cli"}),
    # Output is black-stable by construction; only tests run black.
    "black": frozenset(),
    # The runtime's (user packages') dependencies: the compiler reads, never imports them.
    "pydantic": frozenset(),
    "chainsc_runtime": frozenset(),
    "runtime_lib": frozenset(),
    "uvicorn": frozenset(),
    "httpx": frozenset(),
    "aiohttp": frozenset(),
    # Baseten's client (the `baseten` extra): only `chainsc push` uploads, importing it lazily.
    "truss": frozenset({"chainsc.push"}),
    "truss_chains": frozenset({"chainsc.push"}),
}

#: The only modules that write, delete or create files, and what.
WRITERS: dict[str, str] = {
    "chainsc.write": "the output directory (staged, then swapped in)",
    "chainsc.isolate": "the virtualenv cache of `chainsc run --isolated`",
    "chainsc.push": "a temporary copy of each package to upload (OUT is only read)",
    "chainsc.run": "the state file of a running chain, which `chainsc call` finds it by",
    "chainsc.dev": "the packages `chainsc dev` serves, in its cache directory",
    "chainsc.fastcheck": "its stamps in chainsc's cache (`build`'s no-op verdicts; OUT is only read)",
}

#: Calls that change the file system: methods of `Path` and of `os`/`shutil`.
_WRITE_METHODS = frozenset(
    {
        "write_text",
        "write_bytes",
        "mkdir",
        "makedirs",
        "rmdir",
        "removedirs",
        "unlink",
        "touch",
        "rename",
        "symlink_to",
        "hardlink_to",
        "rmtree",
        "copytree",
        "copyfile",
        "copy2",
        "move",
    }
)
_OS_WRITES = frozenset(
    {
        "replace",
        "remove",
        "link",
        "symlink",
        "rename",
        "makedirs",
        "mkdir",
        "unlink",
        "rmdir",
    }
)


def _module_name(path: Path) -> str:
    """The installed name of a file of `compiler/` (installed as `chainsc`)."""
    parts = ["chainsc", *path.relative_to(REPO / "compiler").with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    _module_name(path): path for path in sorted((REPO / "compiler").rglob("*.py"))
}


def _imported(path: Path) -> Iterator[tuple[str, int]]:
    """(absolute module name, line) of every import, `from chainsc import x` as `chainsc.x`."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                yield (candidate if candidate in MODULES else node.module), node.lineno


def _owner(imported: str) -> str | None:
    """The `chainsc` module an import names (the longest known prefix), or None if not ours."""
    parts = imported.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in MODULES:
            return prefix
    return None


def test_every_module_is_placed() -> None:
    unplaced = sorted(set(MODULES) - set(STAGES))
    assert not unplaced, (
        f"place these modules in tests/test_layering.py STAGES: {unplaced}"
    )
    assert not set(STAGES) - set(MODULES), (
        f"modules in STAGES that no longer exist: {sorted(set(STAGES) - set(MODULES))}"
    )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_stage_table(module: str) -> None:
    stage = STAGES.get(module)
    if stage is None:
        pytest.skip("not placed: test_every_module_is_placed fails")
    wrong: list[str] = []
    for imported, line in _imported(MODULES[module]):
        owner = _owner(imported)
        if owner is not None:
            target_stage = STAGES.get(owner)
            if target_stage is not None and target_stage not in MAY_IMPORT[stage]:
                wrong.append(
                    f"line {line}: {stage} module imports {owner} ({target_stage})"
                )
            continue
        top = imported.split(".")[0]
        allowed = RESTRICTED.get(top)
        if allowed is not None and module not in allowed:
            wrong.append(
                f"line {line}: imports {top}, which only {sorted(allowed) or 'tests'} may"
            )
    assert not wrong, f"{module}:\n" + "\n".join(wrong)


def _writes(path: Path) -> Iterator[tuple[int, str]]:
    """(line, call) of each call that writes, deletes or creates a file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value.id if isinstance(func.value, ast.Name) else None
            if func.attr in _WRITE_METHODS and owner != "str":
                yield node.lineno, func.attr
            elif owner == "os" and func.attr in _OS_WRITES:
                yield node.lineno, f"os.{func.attr}"
        elif isinstance(func, ast.Name) and func.id == "open":
            mode = (
                node.args[1]
                if len(node.args) > 1
                else next((k.value for k in node.keywords if k.arg == "mode"), None)
            )
            if (
                isinstance(mode, ast.Constant)
                and isinstance(mode.value, str)
                and set(mode.value) & set("wax+")
            ):
                yield node.lineno, f"open(..., {mode.value!r})"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_only_the_writer_writes_files(module: str) -> None:
    if module in WRITERS:
        return
    found = [f"line {line}: {call}" for line, call in _writes(MODULES[module])]
    assert not found, (
        f"{module} writes files (only {sorted(WRITERS)} may):\n" + "\n".join(found)
    )


def test_the_write_scan_sees_writes() -> None:
    """The scan is not vacuous: the writer's own writes are found."""
    assert {call for _, call in _writes(MODULES["chainsc.write"])} & {
        "write_bytes",
        "mkdir",
        "os.replace",
        "rename",
    }


def test_runtime_lib_never_imports_the_compiler() -> None:
    for path in (REPO / "runtime_lib").rglob("*.py"):
        imported = {name.split(".")[0] for name, _ in _imported(path)}
        assert not imported & {"chainsc", "compiler", "codegen_templates"}, path


def test_only_cli_prints() -> None:
    for path in (REPO / "compiler").rglob("*.py"):
        if path.name == "cli.py":
            continue
        calls = [
            node
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "print"
        ]
        assert not calls, path
