"""`python -m chainsc_runtime.run_file CHAIN.py [ARGS...]`: run an unmodified Truss chain file.

What `chainsc run-local` starts. A Truss user runs a chain in one process with
`with chains.run_local(): ...` in the file's `if __name__ == "__main__":` block, written
against `import truss_chains as chains`. This runs that file as `python CHAIN.py` would
(as `__main__`, its directory first on `sys.path`, `sys.argv` = the file and ARGS), with
`truss_chains` and every `truss_chains.<module>` answered by this runtime
(`chainsc_runtime`, `chainsc_runtime.<module>`), and `truss.base.truss_config` and
`truss.base.trt_llm_config` by its `truss_config` and `trt_llm_config`: the file is not
edited, and truss need not be installed (installed, it is not used for those names).
Unlike the compiler, this **executes the chain file**: that is its purpose.

With `--call JSON` (and `--entrypoint NAME`), the file is imported as a module instead
(its `__main__` block does not run), and the entrypoint is constructed inside
`run_local()` and called with the JSON object's items as its arguments by name; the
result is printed as JSON (a stream: each chunk as it comes).

Never vendored into packages (no generated code imports it). Imports the standard
library and, when run, this package.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import json
import pathlib
import runpy
import sys
import types
from collections.abc import Sequence
from typing import Any

__all__ = ["TrussChainsAlias", "install_alias", "main"]

#: What names map where (the longest prefix wins); submodules follow their package.
_ALIASES: dict[str, str] = {
    "truss_chains": "",
    "truss.base.truss_config": "truss_config",
    "truss.base.trt_llm_config": "trt_llm_config",
}
#: Parents of aliased modules that need a module when truss is not installed.
_PARENTS = ("truss", "truss.base")


class _AliasLoader(importlib.abc.Loader):
    """Loads an alias as the runtime module it names (the same module object)."""

    def __init__(self, target: str | None) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if self.target is None:  # a parent package of an alias (`truss`, `truss.base`)
            module = types.ModuleType(spec.name)
            module.__path__ = []
            return module
        return importlib.import_module(self.target)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing: the runtime module is imported already."""


class TrussChainsAlias(importlib.abc.MetaPathFinder):
    """Answers `truss_chains` (and its modules) with this runtime, first on `sys.meta_path`."""

    def __init__(self, runtime: str) -> None:
        self.runtime = runtime

    def target(self, fullname: str) -> str | None:
        """The runtime module `fullname` stands for, or None if it is no alias."""
        for alias, relative in sorted(_ALIASES.items(), key=lambda i: -len(i[0])):
            if fullname == alias or fullname.startswith(f"{alias}."):
                rest = fullname[len(alias) :]
                return ".".join(p for p in (self.runtime, relative) if p) + rest
        return None

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        """A spec loading the runtime module an alias names; None for other names."""
        name = self.target(fullname)
        if name is not None:
            if importlib.util.find_spec(name) is None:
                return None
            return importlib.machinery.ModuleSpec(fullname, _AliasLoader(name))
        if fullname in _PARENTS:
            # truss itself, when installed; else an empty package to hold the aliases.
            others = [f for f in sys.meta_path if f is not self]
            for finder in others:
                find = getattr(finder, "find_spec", None)
                spec = find(fullname, path) if find is not None else None
                if spec is not None:
                    return spec  # type: ignore[no-any-return]
            return importlib.machinery.ModuleSpec(
                fullname, _AliasLoader(None), is_package=True
            )
        return None


def _runtime_name() -> str:
    """This runtime's package name (`chainsc_runtime`), also when run with `-m`."""
    return __package__ or __name__.rpartition(".")[0]


def install_alias() -> TrussChainsAlias:
    """Put the alias first on `sys.meta_path` (before an installed truss_chains)."""
    runtime = _runtime_name()
    for name in list(sys.modules):  # anything imported as truss_chains before
        if name == "truss_chains" or name.startswith("truss_chains."):
            del sys.modules[name]
    finder = TrussChainsAlias(runtime)
    sys.meta_path.insert(0, finder)
    return finder


def _entrypoint(module: types.ModuleType, name: str | None) -> type[Any]:
    """The entrypoint class of a chain module: named, marked, or the only Chainlet."""
    runtime = importlib.import_module(_runtime_name())
    bases = (runtime.ChainletBase, runtime.ModelBase)
    chainlets = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, bases)
        and value not in bases
        and value.__module__ == module.__name__
    ]
    if name is not None:
        found = [
            c
            for c in chainlets
            if name
            in (c.__name__, getattr(getattr(c, "meta_data", None), "name", None))
        ]
        if not found:
            raise SystemExit(f"chainsc run-local: `{name}` is no Chainlet of the file")
        return found[0]
    marked = [
        c
        for c in chainlets
        if getattr(getattr(c, "meta_data", None), "is_entrypoint", False)
    ]
    if len(marked) == 1:
        return marked[0]
    if len(chainlets) == 1:
        return chainlets[0]
    raise SystemExit(
        "chainsc run-local: the file marks no entrypoint (`@chains.mark_entrypoint`): "
        "pass --entrypoint NAME"
    )


def _dump(value: object) -> str:
    """A result as JSON, as the server would send it."""
    import pydantic  # noqa: PLC0415 - a runtime requirement, only here

    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(type(value))
    try:
        return adapter.dump_json(value).decode("utf-8")
    except (pydantic.PydanticSchemaGenerationError, TypeError, ValueError):
        return json.dumps(value, default=str)


async def _call(chainlet: type[Any], arguments: dict[str, Any]) -> None:
    runtime = importlib.import_module(_runtime_name())
    with runtime.run_local():
        instance = chainlet()
        endpoint = getattr(
            instance,
            "predict" if issubclass(chainlet, runtime.ModelBase) else "run_remote",
        )
        result = endpoint(**arguments)
        if inspect.isawaitable(result):
            result = await result
        if inspect.isasyncgen(result):
            async for chunk in result:
                _write(chunk)
            _write("\n")
        elif inspect.isgenerator(result):
            for chunk in result:
                _write(chunk)
            _write("\n")
        else:
            _write(_dump(result) + "\n")


def _write(chunk: object) -> None:
    """Write a result or a stream's chunk to stdout as it comes."""
    sys.stdout.flush()
    if isinstance(chunk, bytes):
        sys.stdout.buffer.write(chunk)
    else:
        sys.stdout.buffer.write(str(chunk).encode("utf-8"))
    sys.stdout.buffer.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chain file as `__main__` (or call its entrypoint with `--call`)."""
    parser = argparse.ArgumentParser(
        prog="python -m chainsc_runtime.run_file",
        description="Run an unmodified Truss chain file with chainsc's runtime.",
    )
    parser.add_argument("chain")
    parser.add_argument("--call", metavar="JSON", default=None)
    parser.add_argument("--entrypoint", metavar="NAME", default=None)
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    path = pathlib.Path(options.chain).absolute()
    install_alias()
    sys.path.insert(0, str(path.parent))
    if options.call is None:
        sys.argv = [options.chain, *options.args]
        runpy.run_path(str(path), run_name="__main__")
        return 0
    arguments = json.loads(options.call)
    if not isinstance(arguments, dict):
        raise SystemExit(
            "chainsc run-local: --json must be an object (arguments by name)"
        )
    name = path.stem if path.stem.isidentifier() else "chain"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    asyncio.run(_call(_entrypoint(module, options.entrypoint), arguments))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
