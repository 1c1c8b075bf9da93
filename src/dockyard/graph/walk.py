"""Walking a build graph: every op once, inputs before the ops that read them."""

from __future__ import annotations

from collections.abc import Iterable

from dockyard.graph.ops import Copy, Exec, ImageSource, Merge, Mkdir, Mkfile, Op, Rm, State


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


def base_image(state: State) -> ImageSource | None:
    """The image a final state is built on: its root filesystem followed down through every
    step (a stage FROM another stage is just more steps on the same chain; COPY --link's merge
    sits on its first layer) to the image source; None when the chain ends at scratch.

    This is the OCI ``org.opencontainers.image.base.*`` notion of a base: the image whose layers
    are the result's first layers, never an image only copied from (``COPY --from``).
    """
    while state is not None and not isinstance(state, ImageSource):
        if isinstance(state, Merge):
            state = state.layers[0] if state.layers else None
        elif isinstance(state, Exec | Copy | Mkdir | Mkfile | Rm):
            state = state.root
        else:  # a context, HTTP or git source as a root filesystem: no image beneath
            return None
    return state
