"""The node seam: a platform's subgraph sent through its serialized definition builds the same image.

The direct path solves the planner's own op objects; the node path serializes the request
(:meth:`SolveRequest.portable`, JSON text), reads it back and deserializes the graph, as a
remote node would, and solves it in another store on the local node. Same vertex keys, same
image digest (SOURCE_DATE_EPOCH makes the layers reproducible), and the work really ran twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.builders.local import LocalNode
from dockyard.builders.records import NodeRecord
from dockyard.engine.bases import BaseImages
from dockyard.engine.solve import direct_graph, solve_graph, vertices
from dockyard.engine.solverequest import Solver, SolveRequest
from dockyard.graph.definition import deserialize
from dockyard.graph.walk import topological
from dockyard.phases.key import key_plan
from dockyard.phases.plan import plan_build
from dockyard.phases.request import BuildOptions
from dockyard.phases.solve import solve_request
from dockyard.platform import Platform
from dockyard.registry.client import Client
from dockyard.store.content import ContentStore
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration

AMD64 = Platform.parse("linux/amd64")


def test_serialized_subgraph_on_the_local_node_gives_the_direct_image(
        busybox_base: str, registry: TestRegistry, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a.txt").write_text("a\n")
    (ctx / "Dockerfile").write_text(
        f"FROM {busybox_base} AS base\nCOPY a.txt /a.txt\nRUN echo built > /b && cat /a.txt >> /b\n"
        "FROM base\nRUN --mount=type=bind,source=a.txt,target=/m cp /m /c\nENV X=1\nCMD [\"cat\", \"/b\"]\n")
    options = BuildOptions(context=ctx, platforms=(AMD64,), source_date_epoch=1_700_000_000, labels={"l": "1"})
    direct_root, node_root = tmp_path / "direct", tmp_path / "node"
    with Client() as client:
        bases = BaseImages(client, ContentStore(direct_root / "content"))
        the_plan = plan_build(options, resolver=bases)
        keys = the_plan.cache_keys()
        keyed = key_plan(the_plan, keys, bases, no_cache_stages=frozenset(), no_cache_all=False)
        request = solve_request(options, the_plan, keyed)
        roots = tuple(pp.state for pp in the_plan.platforms)
        direct = direct_graph(roots, {id(op): keys.key(op) for op in topological(roots)})
        direct_reply = solve_graph(direct, request, root=direct_root, client=client, bases=bases)

        wire = json.dumps(request.portable())
        received = SolveRequest.from_portable(json.loads(wire), context=ctx)
        node = LocalNode(NodeRecord(name="n0"), node_root)
        assert isinstance(node, Solver)
        node_reply = node.solve(received, client=client)

    assert {n.key for n in vertices(direct, request).values()} == \
        {n.key for n in vertices(deserialize(received.definition), received).values()}
    node_image, direct_image = node_reply.images[AMD64], direct_reply.images[AMD64]
    assert node_image.descriptor.digest == direct_image.descriptor.digest
    assert node_image.manifest.config.digest == direct_image.manifest.config.digest
    assert direct_reply.ran == node_reply.ran >= 3  # both stores built it (COPY, RUN, RUN), none from cache
    config = json.loads(ContentStore(node_root / "content").read_bytes(node_image.manifest.config.digest))
    assert config["config"]["Labels"] == {"l": "1"} and "X=1" in config["config"]["Env"]
    assert config["created"] == "2023-11-14T22:13:20Z"
