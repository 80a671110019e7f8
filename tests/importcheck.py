"""Does a generated package import? Checked in a fresh interpreter, as Truss and `server.py` load it.

`import_package(package_dir)` imports, in a new `python -I` process with the package
directory and its `packages/` on `sys.path` (what Truss does): `model.model` (the Truss
entry), every module of `packages/` except the vendored runtime (the user's slice and
`chainsc_generated`), then `client` and `server`. It returns None when all of them import,
else `"<module>: <ExceptionType>: <first line of its message>"` for the first that does not.

Third-party modules the user's code imports that this interpreter does not have (torch,
transformers, ...) are replaced by inert stand-ins, so what is checked is the package's
own structure: its generated modules, its slice of the user's code and their order. A
name that the package carries somewhere under `packages/`, but not where `import` looks
for it, is never stood in for: that is exactly the mistake to catch.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

#: Top-level packages chainsc writes itself; the runtime is imported through `model.model`.
_GENERATED = ("chainsc_generated", "chainsc_runtime")

#: Runs in the child: stand-ins for the absent modules, then each import in order.
_CHILD = r'''
import importlib
import importlib.abc
import importlib.machinery
import sys
import types

package, absent, names = sys.argv[1], set(filter(None, sys.argv[2].split(","))), sys.argv[3:]
sys.path[:0] = [package, package + "/packages"]


class _Anything(type):
    """A stand-in class: any attribute is another one, and it subscripts, calls and decorates."""

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything(name, (cls,), {})

    def __getitem__(cls, item):
        return cls

    def __call__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]):
            return args[0]  # used as a decorator: `@torch.jit.script`
        return super().__call__()


class _Base(metaclass=_Anything):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything(name, (_Base,), {})

    def __call__(self, *args, **kwargs):
        return args[0] if len(args) == 1 and not kwargs and callable(args[0]) else self

    def __getitem__(self, item):
        return self

    def __iter__(self):
        return iter(())


class _StandInModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything(name, (_Base,), {})


class _StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on `sys.meta_path`: answers only for the absent modules and their submodules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] not in absent:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        module = _StandInModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


sys.meta_path.append(_StandIns())
for name in names:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        message = str(exc).strip().splitlines()
        print(f"{name}: {type(exc).__name__}: {message[0] if message else ''}".rstrip())
        sys.exit(1)
'''


def import_package(package_dir: Path) -> str | None:
    """None when every module of the package imports, else `"<module>: <Error>: <message>"`."""
    package_dir = package_dir.resolve()
    packages = package_dir / "packages"
    modules = ["model.model", *_slice_modules(packages), "client", "server"]
    absent = sorted(_absent_third_party(package_dir))
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-c", _CHILD, str(package_dir), ",".join(absent), *modules],
        capture_output=True,
        text=True,
        cwd=package_dir,
        timeout=120,
        check=False,
    )
    if result.returncode == 0:
        return None
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[-1] if lines else f"exit status {result.returncode}"


def _slice_modules(packages: Path) -> list[str]:
    """Dotted names of the modules under `packages/`, the vendored runtime left out, sorted."""
    names = []
    for path in sorted(packages.rglob("*.py")):
        parts = list(path.relative_to(packages).with_suffix("").parts)
        if parts[0] == _GENERATED[1] or "__pycache__" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def _user_files(packages: Path) -> list[Path]:
    return [
        path
        for path in sorted(packages.rglob("*.py"))
        if path.relative_to(packages).parts[0] not in _GENERATED and "__pycache__" not in path.parts
    ]


def _absent_third_party(package_dir: Path) -> set[str]:
    """Top-level modules the user's code imports that are neither carried nor installed here."""
    packages = package_dir / "packages"
    files = _user_files(packages)
    # Anything the package carries, wherever it is: never stood in for.
    carried = {*_GENERATED, *(path.stem for path in files)} | {
        directory.name for path in files for directory in path.relative_to(packages).parents if directory.name
    }
    imported: set[str] = set()
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue  # the import reports it
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.partition(".")[0])
    return {
        name
        for name in imported
        if name not in carried
        and name not in sys.stdlib_module_names
        and not (package_dir / name).exists()
        and importlib.util.find_spec(name) is None
    }
