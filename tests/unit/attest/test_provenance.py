"""SLSA v1 provenance in BuildKit's shape (docs/attestations/slsa-definitions.md;
solver/llbsolver/provenance/types/types.go ProvenancePredicateSLSA1), min and max modes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from dockyard.attest.provenance import (
    BUILD_TYPE,
    Invocation,
    Mode,
    Vcs,
    git_vcs,
    predicate,
    strip_credentials,
)
from dockyard.digest import Digest
from dockyard.engine.bases import ResolvedBase
from dockyard.graph import ops
from dockyard.platform import Platform

ARM64 = Platform("linux", "arm64")
BASE = ResolvedBase(ref="127.0.0.1:5000/debian:bookworm", platform=ARM64, digest=Digest.of_bytes(b"base"))
DOCKERFILE = b"FROM 127.0.0.1:5000/debian:bookworm\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\n"
MARKER = "SECRET-MARKER-4b1d"


def _invocation() -> Invocation:
    return Invocation(dockerfile_path="Dockerfile", dockerfile=DOCKERFILE,
                      args={"build-arg:VERSION": "1.2", "label:team": "infra", "target": "app"},
                      secret_ids=("tok",), ssh_ids=("default",), invocation_id="inv1",
                      started="2026-11-29T08:00:00Z", finished="2026-11-29T08:01:00Z",
                      vcs=Vcs(source="https://example.test/app.git", revision="a" * 40))


def _root() -> ops.Op:
    base = ops.ImageSource(ref=BASE.ref, platform=ARM64)
    return ops.Exec(root=base, argv=("/bin/sh", "-c", "cat /run/secrets/tok"), env=("PATH=/bin",), cwd="/",
                    user="", platform=ARM64,
                    mounts=(ops.Mount(type="secret", target="/run/secrets/tok", secret_id="tok"),))


def test_min_mode_shape() -> None:
    doc = predicate(_invocation(), bases=[BASE, BASE], mode=Mode.MIN, root=_root())
    build = doc["buildDefinition"]
    assert build["buildType"] == BUILD_TYPE
    assert build["externalParameters"]["configSource"] == {
        "path": "Dockerfile", "digest": {"sha256": Digest.of_bytes(DOCKERFILE).hex}}
    request = build["externalParameters"]["request"]
    # min mode: no build-arg or label values, no secret or ssh ids (BuildKit's min mode)
    assert request == {"frontend": "dockerfile.v0", "args": {"target": "app"},
                       "locals": [{"name": "context"}, {"name": "dockerfile"}]}
    assert build["resolvedDependencies"] == [{
        "uri": "pkg:docker/127.0.0.1%3A5000/debian@bookworm?platform=linux%2Farm64",
        "digest": {"sha256": BASE.digest.hex}}]
    assert "buildConfig" not in build["internalParameters"]
    meta = doc["runDetails"]["metadata"]
    assert meta["invocationID"] == "inv1" and meta["startedOn"] == "2026-11-29T08:00:00Z"
    assert meta["buildkit_metadata"] == {"vcs": {"source": "https://example.test/app.git", "revision": "a" * 40}}
    assert meta["buildkit_completeness"] == {"request": False, "resolvedDependencies": False}


def test_max_mode_adds_args_ids_steps_and_source() -> None:
    doc = predicate(_invocation(), bases=[BASE], mode=Mode.MAX, root=_root())
    request = doc["buildDefinition"]["externalParameters"]["request"]
    assert request["args"] == {"build-arg:VERSION": "1.2", "label:team": "infra", "target": "app"}
    assert request["secrets"] == [{"id": "tok"}] and request["ssh"] == [{"id": "default"}]
    steps = doc["buildDefinition"]["internalParameters"]["buildConfig"]["llbDefinition"]
    assert [list(s["op"]) for s in steps] == [["imagesource"], ["exec"]]
    assert steps[1]["inputs"] == ["step0"]
    assert steps[1]["op"]["exec"]["mounts"][0]["secret_id"] == "tok"
    infos = doc["runDetails"]["metadata"]["buildkit_metadata"]["source"]["infos"]
    assert infos[0]["data"] == DOCKERFILE.decode()


def test_no_secret_value_or_registry_password_anywhere() -> None:
    """Secret values never reach the predicate: the invocation holds ids only, URLs lose userinfo."""
    inv = Invocation(dockerfile_path="Dockerfile", dockerfile=DOCKERFILE, secret_ids=("tok",),
                     args={"build-arg:MIRROR": f"https://user:{MARKER}@mirror.test/simple"},
                     vcs=Vcs(source=strip_credentials(f"https://git:{MARKER}@example.test/app.git"), revision="b" * 40))
    root = ops.HttpSource(url=f"https://u:{MARKER}@files.test/a.tgz", filename="a.tgz")
    for mode in Mode:
        text = json.dumps(predicate(inv, bases=[BASE], mode=mode, root=root))
        assert MARKER not in text
        assert "mirror.test/simple" in text or mode is Mode.MIN


def test_strip_credentials() -> None:
    assert strip_credentials("https://u:p@h.test:8443/x?y=1") == "https://h.test:8443/x?y=1"
    assert strip_credentials("git@github.com:o/r.git") == "git@github.com:o/r.git"  # scp-like: no password
    assert strip_credentials("plain text") == "plain text"


def test_git_vcs_of_a_checkout(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    assert git_vcs(tmp_path) == Vcs()
    git("init", "-q")
    git("config", "user.email", "t@t.test")
    git("config", "user.name", "t")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    git("add", "Dockerfile")
    git("commit", "-qm", "one")
    git("remote", "add", "origin", f"https://bot:{MARKER}@example.test/app.git")
    head = git("rev-parse", "HEAD")
    assert git_vcs(tmp_path) == Vcs(source="https://example.test/app.git", revision=head)
    (tmp_path / "Dockerfile").write_text("FROM scratch\nLABEL a=b\n")
    assert git_vcs(tmp_path).revision == head + "-dirty"
