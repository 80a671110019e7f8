"""Run chain layouts under Truss's own `run_local` and print their answers, as JSON.

Run by `tests/test_layouts.py` with the Python of a venv that has the published truss
(never chainsc's venv), to prove that the generated layouts are valid Truss chains and that
their expected answers are what Truss computes:

    /path/to/truss-venv/bin/python tests/layouts/truss_run_local.py cases.json

`cases.json` is a list of `{"name", "dir", "chain_file", "request"}`. Prints a list of
`{"name", "result"}` or `{"name", "error"}` in the same order; a streamed answer is joined.
A case without `request` is only imported (Truss validates every Chainlet as its class is
created): its result is the entrypoint's class name; `"entrypoint"` names it for a chain that
marks none, `"model": true` imports a `ModelBase` file (`tests/test_corpus.py`).
Each chain is imported with Truss's `ChainletImporter`, which validates it and removes its
modules again afterwards, so the layouts' same-named modules do not clash.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import pathlib
import sys
import traceback
import warnings
from typing import Any

import truss_chains as chains  # type: ignore[import-not-found]  # only installed in the truss venv
from truss_chains import framework


async def _drain(result: Any) -> Any:
    if inspect.isawaitable(result):
        result = await result
    if hasattr(result, "__aiter__"):
        return "".join([chunk async for chunk in result])
    return result


def run(case: dict[str, Any]) -> dict[str, Any]:
    """Import one chain with Truss and call its entrypoint once in `run_local`."""
    directory = str(pathlib.Path(case["dir"]).resolve())
    sys.path.insert(0, directory)
    try:
        target = pathlib.Path(directory) / case["chain_file"]
        importer = (
            framework.ModelImporter if case.get("model") else framework.ChainletImporter
        )
        if "request" not in case:
            with importer.import_target(target, case.get("entrypoint")) as entry:
                return {"name": case["name"], "result": entry.__name__}
        with importer.import_target(target) as entry, chains.run_local():
            result = asyncio.run(_drain(entry().run_remote(**case["request"])))
        if hasattr(result, "model_dump"):
            result = result.model_dump(mode="json")
        return {"name": case["name"], "result": result}
    except Exception as error:
        return {
            "name": case["name"],
            "error": traceback.format_exception_only(error)[-1].strip(),
        }
    finally:
        sys.path.remove(directory)
        for name, module in list(sys.modules.items()):
            paths = [
                getattr(module, "__file__", None) or "",
                *getattr(module, "__path__", []),
            ]
            if any(str(path).startswith(directory + "/") for path in paths):
                del sys.modules[name]  # namespace packages have only a __path__


def main() -> None:
    """Run every case of the JSON file named on the command line."""
    logging.disable(logging.WARNING)
    warnings.simplefilter(
        "ignore"
    )  # numpy's "module was reloaded" when two chains import it
    cases = json.loads(pathlib.Path(sys.argv[1]).read_text(encoding="utf-8"))
    sys.stdout.write(json.dumps([run(case) for case in cases]) + "\n")


if __name__ == "__main__":
    main()
