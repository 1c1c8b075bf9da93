"""The ``solve`` frame's secrets: only those the platform's steps mount, read on the client, held in
memory on the node (never in a repr), and a request without them when no step mounts one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.builders.protocol import wire
from dockyard.engine.bases import BaseImages
from dockyard.engine.mounts import Secret
from dockyard.engine.solverequest import SolveRequest
from dockyard.errors import UsageError
from dockyard.phases.build import planned_request
from dockyard.phases.request import BuildOptions
from dockyard.platform import Platform
from dockyard.registry.client import Client
from dockyard.store.content import ContentStore


def _request(tmp_path: Path, dockerfile: str, secrets: tuple[Secret, ...]) -> SolveRequest:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    options = BuildOptions(context=ctx, platforms=(Platform.parse("linux/amd64"),), secrets=secrets, root=tmp_path)
    with Client() as client:
        return planned_request(options, root=tmp_path, bases=BaseImages(client, ContentStore(tmp_path / "c")))[1]


def test_only_the_mounted_secrets_travel_and_the_node_keeps_them_in_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DY_USED", "used-value")
    request = _request(tmp_path, "FROM scratch\nRUN --mount=type=secret,id=used true\n",
                       (Secret(id="used", env="DY_USED"), Secret(id="unused", src=tmp_path / "never-read")))
    frame = json.loads(json.dumps(wire.solve_to_json(request, registries={}, push=())))
    assert [s["id"] for s in frame["secrets"]] == ["used"]  # "unused" is not even read (its file does not exist)
    assert "used-value" not in json.dumps(frame["request"])  # not in the portable request
    got, _push = wire.solve_from_json(frame, context=tmp_path)
    assert [(s.id, s.value()) for s in got.secrets] == [("used", b"used-value")]
    assert "used-value" not in repr(got.secrets)


def test_secrets_over_the_limit_are_a_usage_error_naming_the_secret(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * (wire.MAX_SECRETS + 1))
    request = _request(tmp_path, "FROM scratch\nRUN --mount=type=secret,id=big true\n", (Secret(id="big", src=big),))
    with pytest.raises(UsageError, match="secret big: the build's secrets exceed"):
        wire.solve_to_json(request, registries={}, push=())
