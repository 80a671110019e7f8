from __future__ import annotations

from chainsc.graph import find_cycles, reachable, stable_toposort


def test_stable_toposort_puts_dependencies_first_in_source_order() -> None:
    edges = {"Entry": ["B", "A"], "A": [], "B": ["A"], "C": []}
    assert stable_toposort(edges) == ["A", "B", "Entry", "C"]


def test_stable_toposort_is_total_with_cycles() -> None:
    edges = {"A": ["B"], "B": ["A"], "C": []}
    assert sorted(stable_toposort(edges)) == ["A", "B", "C"]


def test_find_cycles_names_each_cycle_from_its_earliest_node() -> None:
    edges = {"A": ["B"], "B": ["C"], "C": ["A"], "D": ["D"], "E": ["A"]}
    assert find_cycles(edges) == [["A", "B", "C"], ["D"]]


def test_find_cycles_empty_for_a_dag() -> None:
    assert find_cycles({"A": ["B"], "B": []}) == []


def test_reachable_includes_start_and_transitive_successors() -> None:
    edges = {"A": ["B"], "B": ["C"], "C": [], "D": ["A"]}
    assert reachable(edges, "A") == {"A", "B", "C"}
