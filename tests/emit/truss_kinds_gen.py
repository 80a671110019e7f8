"""Truss Chains' own packages of engine builders and TrussChainlets, as JSON.

Run with the Python of the truss venv (`make truss-venv`), with `TMPDIR` pointing where
truss may write its generated Truss directories:

    truss-venv/bin/python tests/emit/truss_kinds_gen.py CHAIN.py

Imports the chain with Truss's `ChainletImporter` (which validates it), then generates
the Truss directory of each engine builder and TrussChainlet with truss's own generator
(`code_gen.gen_truss_chainlet`, the model name the display name). Prints one JSON
object: display name -> `{"config": <its config.yaml read by truss's parser,
to_dict(verbose=True)>, "files": {path: sha256 of every file of the directory}}`.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import sys

from truss.base.truss_config import TrussConfig  # type: ignore[import-not-found]  # only in the truss venv
from truss_chains import framework  # type: ignore[import-not-found]
from truss_chains.deployment import code_gen  # type: ignore[import-not-found]


def main(argv: list[str]) -> int:
    chain = pathlib.Path(argv[0]).resolve()
    found: dict[str, object] = {}
    with framework.ChainletImporter.import_target(chain):
        for descriptor in framework.get_ordered_descriptors():
            cls = descriptor.chainlet_cls
            if not (
                framework.is_engine_builder_chainlet(cls)
                or framework.is_truss_chainlet(cls)
            ):
                continue
            directory = code_gen.gen_truss_chainlet(
                chain.parent,
                "chain",
                descriptor,
                model_name=descriptor.display_name,
            )
            config = TrussConfig.from_yaml(directory / "config.yaml")
            found[descriptor.display_name] = {
                "config": config.to_dict(verbose=True),
                "files": {
                    path.relative_to(directory).as_posix(): hashlib.sha256(
                        path.read_bytes()
                    ).hexdigest()
                    for path in sorted(directory.rglob("*"))
                    if path.is_file()
                },
            }
    json.dump(found, sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
