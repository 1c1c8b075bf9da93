"""Walking a build graph: every op once, inputs before the ops that read them."""

from __future__ import annotations

from collections.abc import Iterable

from dockyard.graph.ops import Op, State


def topological(roots: Iterable[State]) -> list[Op]:
    """All ops reachable from ``roots``, each once, inputs first (iterative: deep chains are fine)."""
    order: list[Op] = []
    seen: set[int] = set()
    for root in roots:
        if root is None or id(root) in seen:
            continue
        stack: list[tuple[Op, bool]] = [(root, False)]
        while stack:
            op, expanded = stack.pop()
            if expanded:
                order.append(op)
                continue
            if id(op) in seen:
                continue
            seen.add(id(op))
            stack.append((op, True))
            for child in reversed(op.inputs):
                if id(child) not in seen:
                    stack.append((child, False))
    return order
