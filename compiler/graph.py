"""Graph algorithms with deterministic tie-breaks: toposort, cycles, reachability.

Stage: used by extract and validate. Pure functions over `{node: successors}`
mappings whose iteration order is the tie-break (callers pass source order).
Imports: the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def stable_toposort(edges: Mapping[str, Sequence[str]]) -> list[str]:
    """Order nodes so that every node comes after its successors (dependencies).

    Ties are broken by the mapping's order. Nodes on a cycle are appended in
    that order too, so the result is total; report cycles with `find_cycles`.
    """
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    for start in edges:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            node, index = stack[-1]
            successors = edges.get(node, ())
            if index < len(successors):
                stack[-1] = (node, index + 1)
                successor = successors[index]
                if not state.get(successor):
                    state[successor] = 1
                    stack.append((successor, 0))
                continue
            stack.pop()
            state[node] = 2
            order.append(node)
    return order


def find_cycles(edges: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Every cycle (a strongly connected component), self-loops included.

    Each cycle starts at its earliest node in mapping order; cycles come in that order too.
    """
    rank = {node: position for position, node in enumerate(edges)}
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0

    for root in edges:
        if root in index_of:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        index_of[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, position = work[-1]
            successors = edges.get(node, ())
            if position < len(successors):
                work[-1] = (node, position + 1)
                successor = successors[position]
                if successor not in index_of:
                    index_of[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, 0))
                elif successor in on_stack:
                    low[node] = min(low[node], index_of[successor])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                is_cycle = len(component) > 1 or node in edges.get(node, ())
                if is_cycle:
                    components.append(_cycle_path(component, edges, rank))
    components.sort(key=lambda cycle: rank.get(cycle[0], 0))
    return components


def _cycle_path(
    component: list[str], edges: Mapping[str, Sequence[str]], rank: Mapping[str, int]
) -> list[str]:
    """A concrete cycle through the component, starting at its earliest node."""
    members = set(component)
    start = min(component, key=lambda node: rank.get(node, 0))
    path = [start]
    seen = {start}
    node = start
    while True:
        successors = [s for s in edges.get(node, ()) if s in members]
        if (start in successors and len(path) > 1) or successors == [start]:
            return path
        following = next((s for s in successors if s not in seen), None)
        if following is None:
            return path
        path.append(following)
        seen.add(following)
        node = following


def reachable(edges: Mapping[str, Sequence[str]], start: str) -> set[str]:
    """Every node reachable from `start`, itself included."""
    seen = {start}
    stack = [start]
    while stack:
        for successor in edges.get(stack.pop(), ()):
            if successor not in seen:
                seen.add(successor)
                stack.append(successor)
    return seen
