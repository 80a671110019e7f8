"""Generate one Truss package per Chainlet with truss's own code generator.

Usage (with the python of a venv that has ``truss`` installed, and ``ruff`` on
PATH, since truss's generator shells out to ``ruff check --fix`` and
``ruff format``)::

    TRUSS_PYTHON bench/truss_generate.py CHAIN.py [ENTRYPOINT] [--out DIR] [--forbid-network]

This is the generate-only path of ``truss chains push CHAIN --dryrun``: the
chain file is imported (``ChainletImporter.import_target``, as truss does) and
``deployment_client.push(..., only_generate_trusses=True)`` writes the
packages and returns before anything is pushed. They land in
``DIR/.chains_generated/<chain name>/chainlet_<Name>/``; without ``--out`` a
fresh temporary directory is used and left in place. It prints the number of
Chainlets generated and the output directory, and exits 0.

``--forbid-network`` installs an audit hook that stops the process (exit 4,
with the stack) on the first DNS lookup or socket connection: proof that the
dry run does not talk to Baseten or anything else.

This file runs under the truss venv, never under chainsc's; mypy checks it in
chainsc's venv, where truss is not installed, hence the ``import-not-found``
ignores below (everything truss returns is typed ``Any`` there).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from pathlib import Path

#: Audit events that mean "this process is about to use the network".
_NETWORK_EVENTS = frozenset(
    {
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.sendto",
        "socket.sendmsg",
    }
)


def _forbid_network() -> None:
    """Exit 4 with the stack on the first network operation."""

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event in _NETWORK_EVENTS:
            stack = "".join(traceback.format_stack())
            sys.stderr.write(
                f"truss_generate: network use during generation: {event}{args!r}\n{stack}"
            )
            sys.stderr.flush()
            os._exit(4)

    sys.addaudithook(hook)


def generate(source: Path, entrypoint: str | None, out: Path) -> int:
    """Generate the packages of `source` under `out`; the number of Chainlets."""
    # Imported here so that the network guard is in place before truss loads.
    from truss_chains import framework, private_types  # type: ignore[import-not-found]  # noqa: PLC0415
    from truss_chains.deployment import deployment_client  # type: ignore[import-not-found]  # noqa: PLC0415

    # code_gen writes to tempfile.gettempdir() / ".chains_generated".
    tempfile.tempdir = str(out)
    with framework.ChainletImporter.import_target(source, entrypoint) as ep:
        chain_name = ep.meta_data.chain_name or ep.display_name
        options = private_types.PushOptionsBaseten.create(
            chain_name=chain_name,
            publish=True,
            promote=False,
            only_generate_trusses=True,
            remote="",
            include_git_info=False,
            working_dir=source.resolve().parent,
        )
        if deployment_client.push(ep, options) is not None:
            raise SystemExit("truss_generate: push returned a service: not a dry run")
        return len(deployment_client._get_ordered_dependencies([ep]))


def main(argv: list[str]) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("source", type=Path)
    parser.add_argument("entrypoint", nargs="?")
    parser.add_argument(
        "--out", type=Path, help="output root (default: a new temporary directory)"
    )
    parser.add_argument(
        "--forbid-network", action="store_true", help="exit 4 on any network use"
    )
    args = parser.parse_args(argv)
    if args.forbid_network:
        _forbid_network()
    out: Path = (
        args.out
        if args.out is not None
        else Path(tempfile.mkdtemp(prefix="truss-gen-"))
    )
    out.mkdir(parents=True, exist_ok=True)
    count = generate(args.source, args.entrypoint, out.resolve())
    print(f"{count} chainlets -> {out / '.chains_generated'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
