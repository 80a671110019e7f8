"""Parse config.yaml files with truss's own parser and print what it read, as JSON.

Run by `test_truss_config.py` with the Python of a venv that has the published truss
(never chainsc's venv: chainsc must not depend on truss, and their dependencies clash):

    /path/to/truss-venv/bin/python tests/emit/truss_check.py a/config.yaml b/config.yaml

Prints one JSON object: `{"truss_version": ..., "results": [...]}`, one result per
path, in argument order:

- `ok`: `TrussConfig.from_yaml(path)` succeeded; else `error` holds the message;
- `forbid_extra_error`: what `validate_forbid_extra()` (the check `truss push` runs)
  reported, or null: a key truss does not know is caught here;
- `parsed`: `config.to_dict(verbose=True)`, every field as truss read it
  (`resources.accelerator` as truss serialises it, `"H100:2"`);
- `warnings`: what truss logged while loading (reserved environment variables...);
- `requirements`: `config.load_requirements_from_file(<the config's directory>)`, the
  Python requirements truss reads from the package's requirements file (a
  `pyproject.toml`'s or a `uv.lock`'s sibling `pyproject.toml`'s dependencies), or
  the error's message as a string; null when the file is not next to the config.
"""

from __future__ import annotations

import json
import logging
import pathlib
import sys

import truss  # type: ignore[import-not-found]  # only installed in the truss venv
from truss.base.truss_config import TrussConfig  # type: ignore[import-not-found]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def check(path: pathlib.Path) -> dict[str, object]:
    collect = _Collect()
    logging.getLogger().addHandler(collect)
    try:
        config = TrussConfig.from_yaml(path)
    except Exception as exc:  # any failure is the answer
        return {"path": str(path), "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        logging.getLogger().removeHandler(collect)
    try:
        config.validate_forbid_extra()
        forbid_extra_error = None
    except Exception as exc:  # any failure is the answer
        forbid_extra_error = f"{type(exc).__name__}: {exc}"
    requirements: object = None
    if config.requirements_file and (path.parent / config.requirements_file).exists():
        try:
            requirements = config.load_requirements_from_file(path.parent)
        except Exception as exc:  # any failure is the answer
            requirements = f"{type(exc).__name__}: {exc}"
    return {
        "path": str(path),
        "ok": True,
        "requirements": requirements,
        "forbid_extra_error": forbid_extra_error,
        "parsed": config.to_dict(verbose=True),
        "warnings": collect.messages,
    }


def main(argv: list[str]) -> int:
    results = [check(pathlib.Path(arg)) for arg in argv]
    json.dump(
        {"truss_version": truss.__version__, "results": results},
        sys.stdout,
        sort_keys=True,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
