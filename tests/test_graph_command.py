"""`chainsc graph`: the dependency graph as Mermaid, DOT and JSON, through the real CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from chainsc import CheckOptions, check_file, ir
from chainsc.graph_render import (
    escape_dot,
    escape_mermaid,
    node_ids,
    render_dot,
    render_json,
    render_mermaid,
)
from chainsc.ir_dump import render_signature
from tests.conftest import EXAMPLES, REPO, example_chains, run_cli

FORMATS = ["mermaid", "dot", "json"]
CASES = [
    (chain, graph_format) for chain in example_chains() for graph_format in FORMATS
]

# Two Chainlets and no entrypoint mark: an error (CSC102) unless `--entrypoint` picks one.
# The module name starts with a digit, so node ids need a prefix to be identifiers.
UNMARKED = """import truss_chains as chains


class Leaf(chains.ChainletBase):
    def run_remote(self, x: int) -> int:
        return x


class Root(chains.ChainletBase):
    def __init__(self, leaf: Leaf = chains.depends(Leaf, retries=3, timeout_sec=2.5, use_binary=True, concurrency_limit=4)) -> None:
        self._leaf = leaf

    def run_remote(self, x: int) -> int:
        return x
"""

# A chain name with every character that needs escaping in DOT.
ODD_NAME = r"""import truss_chains as chains


@chains.mark_entrypoint('My "chain" \\ #1 <b>')
class Only(chains.ChainletBase):
    def run_remote(self) -> None:
        pass
"""


def _case_id(case: tuple[Path, str]) -> str:
    chain, graph_format = case
    return f"{chain.parent.relative_to(EXAMPLES).as_posix()}-{graph_format}"


def _chain(path: Path) -> ir.Chain:
    chain = check_file(path).chain
    assert chain is not None
    return chain


def _graph(*args: str, cwd: Path | None = None) -> str:
    result = run_cli("graph", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- DOT and Mermaid readers, just enough to check structure ---------------------------

_DOT_STRING = r'"(?:[^"\\]|\\.)*"'
_DOT_NODE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*) \[(.*)\];$")
_DOT_EDGE = re.compile(
    rf"^\s*([A-Za-z_][A-Za-z0-9_]*) -> ([A-Za-z_][A-Za-z0-9_]*) \[label=({_DOT_STRING})\];$"
)
_MERMAID_NODE = re.compile(r'^    ([A-Za-z_][A-Za-z0-9_]*)(\[\[|\[)"([^"]*)"(\]\]|\])$')
_MERMAID_EDGE = re.compile(
    r'^    ([A-Za-z_][A-Za-z0-9_]*) -->\|"([^"]*)"\| ([A-Za-z_][A-Za-z0-9_]*)$'
)


def _without_dot_strings(text: str) -> str:
    return re.sub(_DOT_STRING, '""', text)


def _undot(quoted: str) -> str:
    """The text of a DOT string literal (with its quotes)."""
    return re.sub(
        r"\\(.)",
        lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)),
        quoted[1:-1],
    )


def _unmermaid(text: str) -> str:
    """The text of a Mermaid label: entity codes decoded."""
    names = {"quot": '"', "lt": "<", "gt": ">", "amp": "&"}
    return re.sub(
        r"#(\w+);",
        lambda m: chr(int(m.group(1))) if m.group(1).isdigit() else names[m.group(1)],
        text,
    )


def _dot_structure(text: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Node id -> attribute text, and (from, to, label) edges; asserts every line is understood."""
    assert text.endswith("}\n")
    bare = _without_dot_strings(text)
    assert bare.count("{") == bare.count("}") == 1, (
        "braces outside strings must balance"
    )
    assert bare.count("[") == bare.count("]")
    lines = text.splitlines()
    assert re.fullmatch(rf"digraph {_DOT_STRING} \{{", lines[0]), lines[0]
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    for line in lines[1:-1]:
        if line.strip() in {"rankdir=TB;", "node [shape=box];"}:
            continue
        if edge := _DOT_EDGE.match(line):
            edges.append((edge.group(1), edge.group(2), _undot(edge.group(3))))
        elif node := _DOT_NODE.match(line):
            assert not edges, "nodes are declared before edges"
            assert node.group(1) not in nodes
            nodes[node.group(1)] = node.group(2)
        else:
            pytest.fail(f"not a DOT statement: {line!r}")
    return nodes, edges


def _mermaid_structure(
    text: str,
) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]], list[str]]:
    """Node id -> (shape, label), (from, to, label) edges, and the class lines."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    nodes: dict[str, tuple[str, str]] = {}
    edges: list[tuple[str, str, str]] = []
    classes: list[str] = []
    for line in lines[1:]:
        if node := _MERMAID_NODE.match(line):
            assert node.group(1) not in nodes
            nodes[node.group(1)] = (node.group(2), _unmermaid(node.group(3)))
        elif edge := _MERMAID_EDGE.match(line):
            edges.append((edge.group(1), edge.group(3), _unmermaid(edge.group(2))))
        elif line.startswith(("    classDef ", "    class ")):
            classes.append(line.strip())
        else:
            pytest.fail(f"not a Mermaid statement: {line!r}")
    return nodes, edges, classes


# --- every example, every format ---------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[_case_id(case) for case in CASES])
def test_graph_of_every_example_is_pinned(
    case: tuple[Path, str], snapshot: SnapshotAssertion
) -> None:
    chain, graph_format = case
    result = run_cli("graph", str(chain.relative_to(REPO)), "--format", graph_format)
    assert result.returncode == 0, result.stderr
    assert "error[" not in result.stderr
    assert result.stdout == snapshot


@pytest.mark.parametrize("chain", example_chains(), ids=lambda p: p.parent.name)
def test_mermaid_is_the_default_format(chain: Path) -> None:
    assert _graph(str(chain)) == _graph(str(chain), "--format", "mermaid")


@pytest.mark.parametrize("chain", example_chains(), ids=lambda p: p.parent.name)
def test_json_edges_are_the_dependencies_of_the_ir(chain: Path) -> None:
    graph = json.loads(_graph(str(chain), "--format", "json"))
    model = _chain(chain)
    assert graph["chain"] == model.name
    assert graph["entrypoint"] == model.entrypoint
    assert graph["nodes"] == [
        {
            "id": c.id,
            "name": c.name,
            "display_name": c.display_name,
            "module": c.module,
            "is_entrypoint": c.is_entrypoint,
            "endpoint": render_signature(c.endpoint, {t.id: t for t in model.types}),
        }
        for c in model.chainlets
    ]
    expected_edges = [
        {
            "from": c.id,
            "to": d.target,
            "param": d.param,
            "retries": d.options.retries,
            "timeout_sec": d.options.timeout_sec,
            "use_binary": d.options.use_binary,
            "concurrency_limit": d.options.concurrency_limit,
        }
        for c in model.chainlets
        for d in c.dependencies
    ]
    assert graph["edges"] == expected_edges
    assert [n["id"] for n in graph["nodes"] if n["is_entrypoint"]] == [model.entrypoint]


def test_examples_have_edges_and_non_default_options() -> None:
    # Guards the tests above against passing vacuously on edgeless graphs.
    chains = [_chain(path) for path in example_chains()]
    dependencies = [
        d for chain in chains for c in chain.chainlets for d in c.dependencies
    ]
    assert len(dependencies) >= 10
    assert any(d.options != ir.RPCOptions() for d in dependencies)
    assert any(c.endpoint.is_streaming for chain in chains for c in chain.chainlets)


@pytest.mark.parametrize("chain", example_chains(), ids=lambda p: p.parent.name)
def test_json_is_indented_with_sorted_keys_and_a_trailing_newline(chain: Path) -> None:
    text = _graph(str(chain), "--format", "json")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("chain", example_chains(), ids=lambda p: p.parent.name)
def test_dot_declares_every_node_and_edge_endpoint(chain: Path) -> None:
    model = _chain(chain)
    ids = node_ids(model)
    nodes, edges = _dot_structure(_graph(str(chain), "--format", "dot"))
    assert list(nodes) == [ids[c.id] for c in model.chainlets]
    for source, target, _label in edges:
        assert source in nodes
        assert target in nodes
    assert edges == [
        (ids[c.id], ids[d.target], _expected_edge_label(d))
        for c in model.chainlets
        for d in c.dependencies
    ]
    for c in model.chainlets:
        attributes = nodes[ids[c.id]]
        assert ("peripheries=2" in attributes) is c.is_entrypoint
        assert ("dashed" in attributes) is c.endpoint.is_streaming
        label = re.match(r'label=("(?:[^"\\]|\\.)*")', attributes)
        assert label is not None
        assert _undot(label.group(1)).startswith(c.display_name)


@pytest.mark.parametrize("chain", example_chains(), ids=lambda p: p.parent.name)
def test_mermaid_starts_with_flowchart_and_declares_every_node(chain: Path) -> None:
    model = _chain(chain)
    ids = node_ids(model)
    text = _graph(str(chain))
    assert text.startswith("flowchart")
    nodes, edges, classes = _mermaid_structure(text)
    assert list(nodes) == [ids[c.id] for c in model.chainlets]
    for source, target, _label in edges:
        assert source in nodes
        assert target in nodes
    assert edges == [
        (ids[c.id], ids[d.target], _expected_edge_label(d))
        for c in model.chainlets
        for d in c.dependencies
    ]
    for c in model.chainlets:
        shape, label = nodes[ids[c.id]]
        assert (shape == "[[") is c.is_entrypoint
        assert label == (
            f"{c.display_name} (streaming)"
            if c.endpoint.is_streaming
            else c.display_name
        )
    assert f"class {ids[model.entrypoint]} entrypoint" in classes
    streaming = [ids[c.id] for c in model.chainlets if c.endpoint.is_streaming]
    assert (f"class {','.join(streaming)} streaming" in classes) is bool(streaming)


def _expected_edge_label(dependency: ir.Dependency) -> str:
    """Spelled out independently of the renderer: parameter, then non-default options."""
    o, default = dependency.options, ir.RPCOptions()
    parts: list[str] = []
    if o.retries != default.retries:
        parts.append(f"retries={o.retries}")
    if o.timeout_sec != default.timeout_sec:
        parts.append(f"timeout {o.timeout_sec:g}s")
    if o.use_binary:
        parts.append("binary")
    if o.concurrency_limit != default.concurrency_limit:
        parts.append(f"concurrency_limit={o.concurrency_limit}")
    return f"{dependency.param} ({', '.join(parts)})" if parts else dependency.param


def test_text_pipeline_edge_labels_show_only_non_default_options() -> None:
    text = _graph("examples/text_pipeline/chain.py")
    assert '-->|"chunker"| chain_Chunker' in text
    assert (
        '-->|"extractor (retries=3, timeout 30s, concurrency_limit=16)"| chain_KeywordExtractor'
        in text
    )
    assert '-->|"summarizer (retries=2)"| chain_Summarizer' in text


# --- options and exit codes --------------------------------------------------------------


def test_errors_print_diagnostics_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "two_stage.py").write_text(UNMARKED)
    for graph_format in FORMATS:
        result = run_cli(
            "graph", "two_stage.py", "--format", graph_format, cwd=tmp_path
        )
        assert result.returncode == 1
        assert result.stdout == ""
        assert "error[CSC102]" in result.stderr
        assert result.stderr.endswith("1 error, 0 warnings\n")


def test_entrypoint_option_picks_the_entrypoint(tmp_path: Path) -> None:
    (tmp_path / "two_stage.py").write_text(UNMARKED)
    graph = json.loads(
        _graph("two_stage.py", "--entrypoint", "Root", "--format", "json", cwd=tmp_path)
    )
    assert graph["entrypoint"] == "two_stage.Root"
    assert graph["edges"] == [
        {
            "from": "two_stage.Root",
            "to": "two_stage.Leaf",
            "param": "leaf",
            "retries": 3,
            "timeout_sec": 2.5,
            "use_binary": True,
            "concurrency_limit": 4,
        }
    ]
    mermaid = _graph("two_stage.py", "--entrypoint", "Root", cwd=tmp_path)
    assert mermaid == (
        "flowchart TD\n"
        '    two_stage_Leaf["Leaf"]\n'
        '    two_stage_Root[["Root"]]\n'
        '    two_stage_Root -->|"leaf (retries=3, timeout 2.5s, binary, concurrency_limit=4)"| two_stage_Leaf\n'
        "    classDef entrypoint stroke-width:3px\n"
        "    class two_stage_Root entrypoint\n"
    )
    nodes, edges = _dot_structure(
        _graph("two_stage.py", "--entrypoint", "Root", "--format", "dot", cwd=tmp_path)
    )
    assert list(nodes) == ["two_stage_Leaf", "two_stage_Root"]
    assert edges == [
        (
            "two_stage_Root",
            "two_stage_Leaf",
            "leaf (retries=3, timeout 2.5s, binary, concurrency_limit=4)",
        )
    ]


def test_a_module_named_with_a_leading_digit_gets_ids_that_do_not_start_with_one(
    tmp_path: Path,
) -> None:
    # `2stage.py` cannot be imported (CSC010), so its graph is never drawn; the ids stay safe anyway.
    (tmp_path / "two_stage.py").write_text(UNMARKED)
    checked = check_file(
        tmp_path / "two_stage.py", CheckOptions(entrypoint="Root")
    ).chain
    assert checked is not None
    renamed = dataclasses.replace(
        checked,
        chainlets=tuple(
            dataclasses.replace(c, id=c.id.replace("two_stage", "2stage"))
            for c in checked.chainlets
        ),
    )
    assert node_ids(renamed) == {
        "2stage.Leaf": "_2stage_Leaf",
        "2stage.Root": "_2stage_Root",
    }


def test_root_option_is_passed_through() -> None:
    chain = "examples/split_package/chain.py"
    default = _graph(chain, "--format", "json")
    assert json.loads(default)["entrypoint"] == "chain.CatalogIndexer"
    assert (
        _graph(chain, "--root", "examples/split_package", "--format", "json") == default
    )
    # The chain file's name is relative to the root: from the repository root it gains
    # `examples.split_package.`; `from user_package import ...` is found through the chain's
    # directory (first on sys.path, as under Truss), so that module keeps its name.
    moved = json.loads(_graph(chain, "--root", ".", "--format", "json"))
    assert moved["entrypoint"] == "examples.split_package.chain.CatalogIndexer"
    assert moved["edges"][0]["to"] == "user_package.shared_chainlet.SplitText"


def test_bad_format_is_a_usage_error() -> None:
    result = run_cli("graph", "examples/text_pipeline/chain.py", "--format", "svg")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "'svg' is not one of 'mermaid', 'dot', 'json'" in result.stderr


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("graph", str(tmp_path / "nope.py"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_chain_name_is_escaped_in_dot_and_json(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(ODD_NAME)
    name = 'My "chain" \\ #1 <b>'
    assert (
        json.loads(_graph("chain.py", "--format", "json", cwd=tmp_path))["chain"]
        == name
    )
    dot = _graph("chain.py", "--format", "dot", cwd=tmp_path)
    assert dot.splitlines()[0] == 'digraph "My \\"chain\\" \\\\ #1 <b>" {'
    _dot_structure(dot)


def test_output_does_not_depend_on_the_hash_seed() -> None:
    outputs = set()
    for seed in ("1", "2", "3"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "chainsc",
                "graph",
                "examples/inheritance/chain.py",
                "--format",
                "dot",
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=False,
        )
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1


# --- the renderers directly: escaping and identifiers ----------------------------------

ODD_TEXTS = [
    'a"b',
    "#quot;",
    "#35;",
    "<b>x</b> & y",
    "p|q",
    "`md`",
    "back\\slash\\",
    "two\nlines",
    "é 漢",
    "%%",
]


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_mermaid_escape_round_trips_and_leaves_nothing_that_ends_a_label(
    text: str,
) -> None:
    escaped = escape_mermaid(text)
    assert not set(escaped) & set('"<>&|`\n\r')
    assert _unmermaid(escaped) == text


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_dot_escape_round_trips_and_leaves_no_bare_quote(text: str) -> None:
    escaped = escape_dot(text)
    assert "\n" not in escaped
    assert re.fullmatch(_DOT_STRING, f'"{escaped}"')
    assert _undot(f'"{escaped}"') == text


def _odd_chain() -> ir.Chain:
    """text_pipeline with display names and parameters that need escaping."""
    chain = _chain(EXAMPLES / "text_pipeline" / "chain.py")
    chainlets = []
    for index, chainlet in enumerate(chain.chainlets):
        dependencies = tuple(
            dataclasses.replace(d, param=f'p"{d.param}|#')
            for d in chainlet.dependencies
        )
        chainlets.append(
            dataclasses.replace(
                chainlet, display_name=ODD_TEXTS[index], dependencies=dependencies
            )
        )
    return dataclasses.replace(chain, chainlets=tuple(chainlets), name='n"a\\me')


def test_odd_labels_survive_mermaid_rendering() -> None:
    chain = _odd_chain()
    nodes, edges, _classes = _mermaid_structure(render_mermaid(chain))
    assert [label for _shape, label in nodes.values()] == [
        c.display_name for c in chain.chainlets
    ]
    assert [label for _from, _to, label in edges] == [
        _expected_edge_label(d) for c in chain.chainlets for d in c.dependencies
    ]


def test_odd_labels_survive_dot_rendering() -> None:
    chain = _odd_chain()
    text = render_dot(chain)
    nodes, edges = _dot_structure(text)
    labels = [
        re.match(r'label=("(?:[^"\\]|\\.)*")', attributes)
        for attributes in nodes.values()
    ]
    assert [_undot(m.group(1)) for m in labels if m] == [
        c.display_name for c in chain.chainlets
    ]
    assert [label for _from, _to, label in edges] == [
        _expected_edge_label(d) for c in chain.chainlets for d in c.dependencies
    ]
    assert text.startswith('digraph "n\\"a\\\\me" {\n')
    assert json.loads(render_json(chain))["chain"] == 'n"a\\me'


def test_node_ids_are_identifiers_and_unique_when_ids_collide() -> None:
    chain = _chain(EXAMPLES / "text_pipeline" / "chain.py")
    colliding = ["a.b_c.X", "a.b.c_X", "a_b_c.X", "9lives.é"]
    chainlets = tuple(
        dataclasses.replace(c, id=new_id)
        for c, new_id in zip(chain.chainlets, colliding, strict=True)
    )
    ids = node_ids(dataclasses.replace(chain, chainlets=chainlets))
    assert ids == {
        "a.b_c.X": "a_b_c_X",
        "a.b.c_X": "a_b_c_X_2",
        "a_b_c.X": "a_b_c_X_3",
        "9lives.é": "_9lives__",
    }


def test_edges_to_an_unknown_chainlet_are_refused() -> None:
    chain = _chain(EXAMPLES / "text_pipeline" / "chain.py")
    entry = chain.chainlets[-1]
    broken = dataclasses.replace(
        entry,
        dependencies=(
            dataclasses.replace(entry.dependencies[0], target="chain.Nowhere"),
        ),
    )
    with pytest.raises(ValueError, match=r"chain\.Nowhere"):
        render_mermaid(
            dataclasses.replace(chain, chainlets=(*chain.chainlets[:-1], broken))
        )
