"""Key phase: every planned op gets its key, and the plan becomes a serializable graph definition.

The frontend's key (:mod:`dockyard.graph.cachekey`) covers the op and the context files it
reads; a missing context file is reported here with its Dockerfile line. The definition
(:mod:`dockyard.graph.definition`) carries the ops in those canonical bytes plus buildx-like
step names; ``pins`` record the digest each base tag resolves to now, so that a node pins its
vertex keys to it (a moved tag never reuses a stale result); ``no_cache`` lists the op keys
``--no-cache``/``--no-cache-filter`` force to run; ``bases`` names, per platform, the image the
result is built on and the manifest digest it was pinned to (the OCI base-image annotations).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dockyard.dockerfile.plan import Plan
from dockyard.engine.bases import BaseImages
from dockyard.errors import DockerfileError
from dockyard.graph import ops
from dockyard.graph.cachekey import CacheKeys
from dockyard.graph.definition import Definition, OpMeta, serialize
from dockyard.graph.walk import base_image, topological
from dockyard.oci.annotations import base_annotations
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.selector.errors import SelectionError, explain


@dataclass(frozen=True)
class Keyed:
    """The key phase's output: the definition (one root per planned platform) and what pins it."""

    definition: Definition
    pins: dict[str, str]
    no_cache: frozenset[str]
    # per platform, org.opencontainers.image.base.name/.digest; a platform built on scratch has none
    bases: Mapping[Platform, Mapping[str, str]] = field(default_factory=dict)
    # per platform, the stages an SBOM describes too (name, key of the stage's last op; None: empty)
    stages: Mapping[Platform, tuple[tuple[str, str | None], ...]] = field(default_factory=dict)


def step_meta(the_plan: Plan) -> dict[int, OpMeta]:
    """Step names (``[platform stage i/n] INSTRUCTION``), ``Dockerfile:LINE`` and stage, by ``id(op)``."""
    multi = len(the_plan.platforms) > 1
    filename = the_plan.dockerfile.filename
    out: dict[int, OpMeta] = {}
    for pp in the_plan.platforms:
        by_stage: dict[str, list[tuple[ops.Op, str, int]]] = {}
        for step in pp.steps:
            if step.op is not None:
                by_stage.setdefault(step.stage, []).append((step.op, step.text, step.line))
        for stage, items in by_stage.items():
            for i, (op, text, line) in enumerate(items, 1):
                prefix = f"{pp.platform} {stage}" if multi else stage
                out.setdefault(id(op), OpMeta(name=f"[{prefix} {i}/{len(items)}] {text}",
                                              where=f"{filename}:{line}" if line else "", stage=stage))
    return out


def key_plan(the_plan: Plan, keys: CacheKeys, bases: BaseImages, *, no_cache_stages: frozenset[str],
             no_cache_all: bool) -> Keyed:
    """Key every op of ``the_plan`` and serialize it; see the module docstring."""
    meta = step_meta(the_plan)
    roots = [pp.state for pp in the_plan.platforms]
    pins: dict[str, str] = {}
    no_cache: set[str] = set()
    for op in topological(roots):
        try:
            key = keys.key(op)
        except SelectionError as exc:
            info = meta.get(id(op))
            line = int(info.where.rpartition(":")[2]) if info and info.where else None
            raise DockerfileError(f"{info.name if info else 'COPY'}: {explain(exc)}",
                                  file=the_plan.dockerfile.filename, line=line) from None
        if isinstance(op, ops.ImageSource):
            pins[key] = str(bases.resolve(op.ref, op.platform).descriptor.digest)
        elif not isinstance(op, ops.ContextSource):
            stage = meta[id(op)].stage if id(op) in meta else ""
            if no_cache_all or stage in no_cache_stages:
                no_cache.add(key)
    stages = {pp.platform: tuple((name, None if state is None else keys.key(state)) for name, state in pp.sbom.stages)
              for pp in the_plan.platforms if pp.sbom.stages}
    return Keyed(definition=serialize(roots, keys, meta=meta), pins=pins, no_cache=frozenset(no_cache),
                 bases=final_bases(the_plan, keys, pins), stages=stages)


def final_bases(the_plan: Plan, keys: CacheKeys, pins: Mapping[str, str]) -> dict[Platform, dict[str, str]]:
    """Each platform's base-image annotations: the target stage's chain of FROMs followed to its
    image (:func:`dockyard.graph.walk.base_image`), fully qualified, and the digest of the
    platform manifest that reference was pinned to here.

    The digest is the platform's manifest, not the index a tag may name: annotations.md defines
    base.digest as the digest of the manifest base.name references, and each annotated manifest
    is one platform's image. BuildKit writes neither key (no base image concept in its graph,
    moby/buildkit#2756, #6202); buildah writes both (containers/buildah#3423).
    """
    out: dict[Platform, dict[str, str]] = {}
    for pp in the_plan.platforms:
        source = base_image(pp.state)
        if source is not None:
            out[pp.platform] = base_annotations(str(Reference.parse(source.ref)), pins[keys.key(source)])
    return out
