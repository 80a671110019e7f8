"""The dependency graph of a chain as Mermaid, Graphviz DOT or JSON: `chainsc graph`.

Stage: after extract and validate, beside `ir_dump`; reads a finished `ir.Chain`
and renders it, nothing else. Imports: ir and ir_dump.

A node is a Chainlet, an edge a `chains.depends(...)` binding from the caller
to its dependency. Output is deterministic: nodes in `chain.chainlets` order
(dependencies before dependents), edges per caller in parameter order.

Stubs (`chain.stubs`) are left out: the IR does not record which Chainlet
calls a stub (a stub is constructed in `__init__` bodies, not bound with
`depends`), so a stub node would hang unconnected and mislead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from chainsc import ir
from chainsc.ir_dump import render_signature

_DEFAULT_OPTIONS = ir.RPCOptions()
_NOT_ID_CHARACTER = re.compile(r"[^A-Za-z0-9]")
_MERMAID_ESCAPES = {
    # `#` first of all: Mermaid reads `#name;` and `#123;` as entity codes.
    "#": "#35;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    "|": "#124;",
    "`": "#96;",
    "\n": "#10;",
    "\r": "#13;",
}
_DOT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}


def node_ids(chain: ir.Chain) -> dict[str, str]:
    """A safe, unique identifier for each Chainlet, keyed by `Chainlet.id`.

    Every character outside `[A-Za-z0-9]` becomes `_`; an id starting with a
    digit (a module named `2stage`) gets a leading `_`. Two ids that collapse
    to the same identifier (`a.b_c.X` and `a.b.c_X`) are told apart by a `_2`,
    `_3`... suffix, in `chain.chainlets` order.

    Args:
        chain: The chain whose Chainlets need identifiers.

    Returns:
        `Chainlet.id` to an identifier valid in Mermaid and in DOT, unquoted.
    """
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for chainlet in chain.chainlets:
        base = _NOT_ID_CHARACTER.sub("_", chainlet.id)
        if base[:1].isdigit():
            base = "_" + base
        candidate, counter = base, 1
        while candidate in taken:
            counter += 1
            candidate = f"{base}_{counter}"
        taken.add(candidate)
        ids[chainlet.id] = candidate
    return ids


def options_label(options: ir.RPCOptions) -> str:
    """The RPC options that differ from Truss Chains' defaults, for an edge label.

    Args:
        options: The options of one `depends(...)` binding.

    Returns:
        For example `retries=3, timeout 30s, binary, concurrency_limit=16`;
        empty when every option is the default.
    """
    parts: list[str] = []
    if options.retries != _DEFAULT_OPTIONS.retries:
        parts.append(f"retries={options.retries}")
    if options.timeout_sec != _DEFAULT_OPTIONS.timeout_sec:
        parts.append(f"timeout {_seconds(options.timeout_sec)}s")
    if options.use_binary != _DEFAULT_OPTIONS.use_binary:
        parts.append("binary" if options.use_binary else "json")
    if options.concurrency_limit != _DEFAULT_OPTIONS.concurrency_limit:
        parts.append(f"concurrency_limit={options.concurrency_limit}")
    return ", ".join(parts)


def edge_label(dependency: ir.Dependency) -> str:
    """The `__init__` parameter name, then the non-default options in parentheses.

    Args:
        dependency: One `depends(...)` binding.

    Returns:
        `extractor (retries=3, timeout 30s)`, or just `chunker`.
    """
    options = options_label(dependency.options)
    return f"{dependency.param} ({options})" if options else dependency.param


def node_label(chainlet: ir.Chainlet) -> str:
    """The display name, with `(streaming)` when the endpoint streams.

    Args:
        chainlet: The Chainlet of the node.

    Returns:
        The unescaped label text.
    """
    return (
        f"{chainlet.display_name} (streaming)"
        if chainlet.endpoint.is_streaming
        else chainlet.display_name
    )


def escape_mermaid(text: str) -> str:
    """Text for a double-quoted Mermaid label (`"..."`), entity-coded.

    Args:
        text: Any text.

    Returns:
        The text with `#`, `"`, `<`, `>`, `&`, `|`, backticks and line breaks
        written as Mermaid entity codes (`#quot;`), so none of them ends the
        label, opens markup or forms an entity by accident.
    """
    return "".join(_MERMAID_ESCAPES.get(character, character) for character in text)


def escape_dot(text: str) -> str:
    r"""Text for a double-quoted DOT string, without the quotes.

    Args:
        text: Any text.

    Returns:
        The text with backslashes, double quotes and line breaks escaped
        (a lone backslash would start a DOT label escape such as `\N`).
    """
    return "".join(_DOT_ESCAPES.get(character, character) for character in text)


def render_mermaid(chain: ir.Chain) -> str:
    """The graph as a Mermaid flowchart, top-down from the entrypoint.

    The entrypoint is a subroutine-shaped node (`[[...]]`) of class
    `entrypoint`; streaming Chainlets are of class `streaming` (dashed) and
    say `(streaming)` in their label.

    Args:
        chain: A chain without errors.

    Returns:
        Mermaid source starting with `flowchart TD`, with a trailing newline.
    """
    ids = node_ids(chain)
    lines = ["flowchart TD"]
    for chainlet in chain.chainlets:
        label = f'"{escape_mermaid(node_label(chainlet))}"'
        shape = f"[[{label}]]" if chainlet.is_entrypoint else f"[{label}]"
        lines.append(f"    {ids[chainlet.id]}{shape}")
    for chainlet, dependency in _edges(chain, ids):
        lines.append(
            f'    {ids[chainlet.id]} -->|"{escape_mermaid(edge_label(dependency))}"| {ids[dependency.target]}'
        )
    streaming = [ids[c.id] for c in chain.chainlets if c.endpoint.is_streaming]
    lines.append("    classDef entrypoint stroke-width:3px")
    if streaming:
        lines.append("    classDef streaming stroke-dasharray:5 5")
    lines.append(f"    class {ids[chain.entrypoint]} entrypoint")
    if streaming:
        lines.append(f"    class {','.join(streaming)} streaming")
    return "\n".join(lines) + "\n"


def render_dot(chain: ir.Chain) -> str:
    """The graph as a Graphviz digraph named after the chain.

    The entrypoint has a double border (`peripheries=2`) and a bold outline;
    streaming Chainlets are dashed and say `(streaming)` in their label.

    Args:
        chain: A chain without errors.

    Returns:
        DOT source with a trailing newline.
    """
    ids = node_ids(chain)
    lines = [
        f'digraph "{escape_dot(chain.name)}" {{',
        "    rankdir=TB;",
        "    node [shape=box];",
    ]
    for chainlet in chain.chainlets:
        attributes = [f'label="{escape_dot(node_label(chainlet))}"']
        styles = (["bold"] if chainlet.is_entrypoint else []) + (
            ["dashed"] if chainlet.endpoint.is_streaming else []
        )
        if chainlet.is_entrypoint:
            attributes.append("peripheries=2")
        if styles:
            attributes.append(f'style="{",".join(styles)}"')
        lines.append(f"    {ids[chainlet.id]} [{', '.join(attributes)}];")
    for chainlet, dependency in _edges(chain, ids):
        lines.append(
            f'    {ids[chainlet.id]} -> {ids[dependency.target]} [label="{escape_dot(edge_label(dependency))}"];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_json(chain: ir.Chain) -> str:
    """The graph as JSON for tools, keyed by `Chainlet.id`.

    `{"chain", "entrypoint", "nodes": [{"id", "name", "display_name", "module",
    "is_entrypoint", "endpoint"}], "edges": [{"from", "to", "param", "retries",
    "timeout_sec", "use_binary", "concurrency_limit"}]}`; every option is
    given, defaults included.

    Args:
        chain: A chain without errors.

    Returns:
        Indented JSON with sorted keys and a trailing newline.
    """
    types = {t.id: t for t in chain.types}
    nodes = [
        {
            "id": chainlet.id,
            "name": chainlet.name,
            "display_name": chainlet.display_name,
            "module": chainlet.module,
            "is_entrypoint": chainlet.is_entrypoint,
            "endpoint": render_signature(chainlet.endpoint, types),
        }
        for chainlet in chain.chainlets
    ]
    edges = [
        {
            "from": chainlet.id,
            "to": dependency.target,
            "param": dependency.param,
            "retries": dependency.options.retries,
            "timeout_sec": dependency.options.timeout_sec,
            "use_binary": dependency.options.use_binary,
            "concurrency_limit": dependency.options.concurrency_limit,
        }
        for chainlet, dependency in _edges(chain, node_ids(chain))
    ]
    payload = {
        "chain": chain.name,
        "entrypoint": chain.entrypoint,
        "nodes": nodes,
        "edges": edges,
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def _edges(
    chain: ir.Chain, ids: Mapping[str, str]
) -> list[tuple[ir.Chainlet, ir.Dependency]]:
    """Every (caller, dependency) pair, callers in chain order, then parameter order."""
    edges: list[tuple[ir.Chainlet, ir.Dependency]] = []
    for chainlet in chain.chainlets:
        for dependency in chainlet.dependencies:
            if dependency.target not in ids:
                message = f"dependency `{dependency.param}` of {chainlet.id} targets {dependency.target}, which is not a Chainlet of the chain"
                raise ValueError(message)
            edges.append((chainlet, dependency))
    return edges


def _seconds(value: float) -> str:
    """`30` for 30.0, `2.5` for 2.5: no exponent, no trailing `.0`."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
