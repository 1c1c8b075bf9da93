"""The scopes the client fetches a node's token for: exactly the repositories the platform's solve
touches (:func:`dockyard.builders.protocol.scopedauth.solve_scopes`); the base images' pull is
shown end to end in tests/integration/builders/test_ssh_tokens.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from dockyard.builders.protocol.scopedauth import solve_scopes
from dockyard.engine.bases import BaseImages
from dockyard.engine.cacheoptions import CacheExport, CacheImport
from dockyard.phases.build import planned_request
from dockyard.phases.request import BuildOptions
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.registry.hosts import HostConfig, HostsConfig
from dockyard.store.content import ContentStore


def test_pull_for_cache_sources_pull_push_for_targets_and_cache_exports_per_host(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /\n")
    options = BuildOptions(context=ctx, platforms=(Platform.parse("linux/amd64"),), root=tmp_path)
    with Client() as client:
        request = planned_request(options, root=tmp_path, bases=BaseImages(client, ContentStore(tmp_path / "c")))[1]
    request = dataclasses.replace(
        request,
        cache_from=(CacheImport(kind="registry", ref=Reference.parse("r1.test:5000/team/cache:main")),
                    CacheImport(kind="registry", ref=Reference.parse("r1.test:5000/team/app:buildcache"))),
        cache_to=(CacheExport(kind="registry", ref=Reference.parse("r1.test:5000/team/app:buildcache"),
                              part=True),))
    hosts = HostsConfig(hosts={"r1.test:5000": HostConfig(mirrors=("m.test",))})
    scopes = solve_scopes(request, ("r1.test:5000/team/app", "r2.test/other/app", "docker.io/team/app"), hosts=hosts)
    assert scopes == {
        "r1.test:5000": ("repository:team/app:pull,push", "repository:team/cache:pull"),
        "m.test": ("repository:team/app:pull", "repository:team/cache:pull"),  # pulls may go to the mirror
        "r2.test": ("repository:other/app:pull,push",),
        "index.docker.io": ("repository:team/app:pull,push",),  # keyed by the API host the node asks about
    }
