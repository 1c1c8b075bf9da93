"""Key phase: every planned op becomes a solver vertex whose key is pinned to what the plan cannot know.

The frontend's key (:mod:`dockyard.graph.cachekey`) covers the op and the context files it
reads; the vertex key adds the digest the base tag resolves to now, and the layer options
(compression, level, SOURCE_DATE_EPOCH) as ``salt``, so that a moved tag or another
compression never reuses a stale result. Vertices also get buildx-like step names.
"""

from __future__ import annotations

from dockyard.dockerfile.plan import Plan
from dockyard.engine.bases import BaseImages
from dockyard.engine.worker import Node, pin
from dockyard.errors import DockerfileError
from dockyard.graph import ops
from dockyard.graph.cachekey import CacheKeys
from dockyard.selector.errors import SelectionError, explain


class KeyedGraph:
    """Turns the plan's ops into solver nodes with pinned keys and buildx-like step names."""

    def __init__(self, the_plan: Plan, keys: CacheKeys, bases: BaseImages, *, salt: str,
                 no_cache_stages: frozenset[str], no_cache_all: bool) -> None:
        self.keys = keys
        self.bases = bases
        self.salt = salt
        self.nodes: dict[int, Node] = {}
        self.names: dict[int, str] = {}
        self.stage_of: dict[int, str] = {}
        self.lines: dict[int, int] = {}
        self.filename = the_plan.dockerfile.filename
        self.no_cache: set[str] = set()
        self._no_cache_stages = no_cache_stages
        self._no_cache_all = no_cache_all
        multi = len(the_plan.platforms) > 1
        for pp in the_plan.platforms:
            by_stage: dict[str, list[tuple[int, str]]] = {}
            for step in pp.steps:
                if step.op is not None:
                    by_stage.setdefault(step.stage, []).append((id(step.op), step.text))
            for stage, items in by_stage.items():
                for i, (op_id, text) in enumerate(items, 1):
                    prefix = f"{pp.platform} {stage}" if multi else stage
                    self.names.setdefault(op_id, f"[{prefix} {i}/{len(items)}] {text}")
                    self.stage_of.setdefault(op_id, stage)
            for step in pp.steps:
                if step.op is not None:
                    self.lines.setdefault(id(step.op), step.line)

    def node(self, op: ops.Op) -> Node:
        found = self.nodes.get(id(op))
        if found is not None:
            return found
        inputs = tuple(self.node(i) for i in op.inputs)
        extra = [n.key for n in inputs]
        if isinstance(op, ops.ImageSource):
            extra.append(str(self.bases.pull(op.ref, op.platform).descriptor.digest))
        try:
            frontend_key = self.keys.key(op)
        except SelectionError as exc:
            raise DockerfileError(f"{self.names.get(id(op), 'COPY')}: {explain(exc)}",
                                  file=self.filename, line=self.lines.get(id(op))) from None
        key = pin(frontend_key, self.salt, *extra)
        name = self.names.get(id(op)) or (
            "[internal] load build context" if isinstance(op, ops.ContextSource) else op.description or
            type(op).__name__)
        line = self.lines.get(id(op))
        node = Node(op=op, key=key, inputs=inputs, name=name, where=f"{self.filename}:{line}" if line else "")
        self.nodes[id(op)] = node
        runs = not isinstance(op, ops.ImageSource | ops.ContextSource)
        if runs and (self._no_cache_all or self.stage_of.get(id(op)) in self._no_cache_stages):
            self.no_cache.add(key)
        return node
