"""Validate stage: whole-chain rules over the IR, one function per rule.

Stage: after extract. Rules that need syntax (signatures, configuration) are
reported by extract, at the offending node; the rules here need the whole
graph. Each rule yields diagnostics; `validate_chain` runs them all.
Imports: ir, graph, diagnostics.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from compiler import ir
from compiler.diagnostics import Diagnostic, error, warning
from compiler.graph import find_cycles, reachable

_DISPLAY_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
#: The longest Chainlet display name: its package directory's name (snake_case, at most
#: 1.5 times as long, `package_dir_name`) stays far below the 255 bytes file systems allow.
MAX_DISPLAY_NAME = 100


def package_dir_name(display_name: str) -> str:
    """The output directory of a Chainlet: its display name in snake_case."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", display_name)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def check_cycles(chain: ir.Chain) -> Iterator[Diagnostic]:
    """CSC308: a dependency cycle, named in order."""
    edges = {c.id: [d.target for d in c.dependencies] for c in chain.chainlets}
    by_id = {c.id: c for c in chain.chainlets}
    for cycle in find_cycles(edges):
        names = [by_id[node].name for node in cycle]
        first = by_id[cycle[0]]
        following = cycle[1] if len(cycle) > 1 else cycle[0]
        dependency = next(d for d in first.dependencies if d.target == following)
        yield error(
            "CSC308",
            f"dependency cycle: {' -> '.join([*names, names[0]])}",
            dependency.span,
            help="Chainlets must form a directed acyclic graph",
        )


def check_reachability(chain: ir.Chain) -> Iterator[Diagnostic]:
    """CSC105: a Chainlet of the chain file the entrypoint cannot reach."""
    edges = {c.id: [d.target for d in c.dependencies] for c in chain.chainlets}
    reached = reachable(edges, chain.entrypoint)
    entry = next(c for c in chain.chainlets if c.id == chain.entrypoint)
    for chainlet in chain.chainlets:
        if chainlet.id not in reached:
            yield warning(
                "CSC105",
                f"Chainlet `{chainlet.name}` is not reachable from the entrypoint `{entry.name}` and will not be deployed with it",
                chainlet.span,
            )


def check_display_names(chain: ir.Chain) -> Iterator[Diagnostic]:
    """CSC106/107/108: valid, unique display names and output directories."""
    seen: dict[str, ir.Chainlet] = {}
    dirs: dict[str, ir.Chainlet] = {}
    chainlets = chain.chainlets
    names = [c.display_name for c in chainlets]
    directories = [package_dir_name(name) for name in names]
    if len(set(names)) < len(names) or len(set(directories)) < len(directories):
        # Which of two is reported depends on where they are: the first in the sources is kept.
        chainlets = tuple(sorted(chainlets, key=lambda c: (c.span.path, c.span.line, c.span.col)))
    for chainlet in chainlets:
        name = chainlet.display_name
        if not _DISPLAY_NAME.match(name):
            yield error(
                "CSC106",
                f"Chainlet name `{name}` may only contain letters, digits, `_` and `-`",
                chainlet.span,
                help="set `remote_config=chains.RemoteConfig(name=...)` to a valid name",
            )
            continue
        if len(name) > MAX_DISPLAY_NAME:
            # A `RemoteConfig(name=...)` that long is reported at the name (config); a class name here.
            if chainlet.remote_config.name is None:
                yield error(
                    "CSC113",
                    f"Chainlet name `{name[:20]}...` of {len(name)} characters is too long: at most {MAX_DISPLAY_NAME}",
                    chainlet.span,
                    help="the name is the package's directory name: set `remote_config=chains.RemoteConfig(name=...)` to a shorter one",
                )
            continue
        if name in seen:
            yield error("CSC107", f"Chainlet name `{name}` is already used by `{seen[name].id}`", chainlet.span)
            continue
        seen[name] = chainlet
        directory = package_dir_name(name)
        if directory in dirs:
            yield error(
                "CSC108",
                f"Chainlets `{dirs[directory].display_name}` and `{name}` would both be written to `{directory}/`",
                chainlet.span,
                help="give one of them a distinct `RemoteConfig(name=...)`",
            )
            continue
        dirs[directory] = chainlet


#: Every whole-chain rule, run in this order.
RULES: tuple[Callable[[ir.Chain], Iterator[Diagnostic]], ...] = (
    check_cycles,
    check_reachability,
    check_display_names,
)


def validate_chain(chain: ir.Chain) -> list[Diagnostic]:
    """Run every rule and collect all findings."""
    return [diagnostic for rule in RULES for diagnostic in rule(chain)]
