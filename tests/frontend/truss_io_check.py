"""Import chain files with truss's own importer and print whether truss accepts each, as JSON.

Run by `test_stdlib_types.py` with the Python of a venv that has the published truss
(never chainsc's venv), as `tests/emit/truss_check.py` is:

    /path/to/truss-venv/bin/python tests/frontend/truss_io_check.py a.py b.py

Truss validates every Chainlet's endpoint types when the class is defined, and pydantic
builds each model's validator then: importing the file is the whole check. Prints one JSON
object, path -> null when truss accepts the file, else the first line of its error.
"""

from __future__ import annotations

import json
import logging
import pathlib
import sys

from truss_chains import framework  # type: ignore[import-not-found]  # only installed in the truss venv


def check(path: pathlib.Path) -> str | None:
    try:
        with framework.ChainletImporter.import_target(path):
            return None
    except Exception as exc:  # any failure is the answer
        lines = [
            line.strip()
            for line in str(exc).splitlines()
            if "IO_TYPE_ERROR" in line or "Error" in line
        ]
        return f"{type(exc).__name__}: {lines[-1] if lines else str(exc).strip()}"


def main() -> None:
    logging.disable(logging.CRITICAL)
    print(
        json.dumps(
            {path: check(pathlib.Path(path)) for path in sys.argv[1:]},
            indent=2,
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()
