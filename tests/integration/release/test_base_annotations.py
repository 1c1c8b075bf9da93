"""Issue 13 §1: ``--tags-from-git`` names each platform manifest's base image with the image-spec's
``org.opencontainers.image.base.name``/``.base.digest`` (annotations.md); ``--no-default-labels``
leaves them out, and so does a result built on scratch.

BuildKit writes neither key (moby/buildkit#2756, #6202: no base-image concept in its graph), so
the semantics follow annotations.md: the target stage's FROM chain (through stage-to-stage FROMs
and COPY --link merges) down to an image, fully qualified, and the digest of the platform manifest
it resolved to (dockyard ``phases/key.py`` ``final_bases``, ``graph/walk.py`` ``base_image``).
Every value is read back with skopeo ``inspect --raw``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.build.buildrig import build_push, dockyard
from tests.integration.release.releaserig import commit_and_tag, github_env, make_repo, raw_bytes
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration

BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"
PLATFORMS = "linux/amd64,linux/arm64"


def _manifests(reg: TestRegistry, ref: str) -> dict[str, dict[str, Any]]:
    """Each platform's manifest of the index ``ref`` names, by architecture, as the registry serves it."""
    index = json.loads(raw_bytes(reg, ref))
    name = ref.rpartition(":")[0]
    return {entry["platform"]["architecture"]: json.loads(raw_bytes(reg, f"{name}@{entry['digest']}"))
            for entry in index["manifests"]}


def _platform_digests(reg: TestRegistry, ref: str) -> dict[str, str]:
    """The digest of each platform's manifest in the index ``ref`` names (what base.digest must hold)."""
    index = json.loads(raw_bytes(reg, ref))
    return {entry["platform"]["architecture"]: entry["digest"] for entry in index["manifests"]}


def _release(repo: Path, ref: str, monkeypatch: pytest.MonkeyPatch, *extra: str, base: str) -> None:
    """Tag the repository v1.0.0 in a GitHub-like environment and build two platforms with --tags-from-git."""
    commit_and_tag(repo, "v1.0.0")
    for key, value in github_env(repo, "v1.0.0").items():
        monkeypatch.setenv(key, value)
    dockyard("build", "--progress", "plain", "--platform", PLATFORMS, "--build-arg", f"BASE={base}",
             "--tags-from-git", "-t", ref, "--push", *extra, str(repo))


def test_single_stage_names_its_base_per_platform(busybox_base: str, registry: TestRegistry, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    untagged = busybox_base.removesuffix(":latest")  # FROM without a tag: the annotation is fully qualified
    ref = f"{registry.address}/baseann/single"
    _release(make_repo(tmp_path / "app"), ref, monkeypatch, "--annotation",
             "manifest[linux/arm64]:org.opencontainers.image.base.name=example.com/given:1", base=untagged)
    wanted = _platform_digests(registry, busybox_base)
    got = _manifests(registry, f"{ref}:1.0.0")
    assert set(got) == {"amd64", "arm64"}
    assert got["amd64"]["annotations"][BASE_NAME] == busybox_base
    assert got["arm64"]["annotations"][BASE_NAME] == "example.com/given:1"  # a given annotation wins
    for arch, manifest in got.items():
        assert manifest["annotations"][BASE_DIGEST] == wanted[arch]  # the platform manifest, not the index
    index = json.loads(raw_bytes(registry, f"{ref}:1.0.0"))
    assert BASE_NAME not in index.get("annotations", {})  # one base per platform: only on the manifests


def test_multi_stage_uses_the_final_stage_base(busybox_base: str, registry: TestRegistry, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    app = f"{registry.address}/baseann/runtime:1"
    build_push("ARG BASE\nFROM $BASE\nCOPY Dockerfile /runtime-dockerfile\n", app, platforms=PLATFORMS,
               base=busybox_base, workdir=tmp_path / "runtime")
    assert all(BASE_NAME not in m.get("annotations", {})  # a build without --tags-from-git adds none
               for m in _manifests(registry, app).values())
    dockerfile = (f"ARG BASE\nFROM $BASE AS first\nCOPY hello.txt /a\n"
                  f"FROM {app} AS runtime\nCOPY hello.txt /b\n"
                  "FROM runtime\nCOPY --from=first /a /a2\nCOPY --link hello.txt /c\n")
    ref = f"{registry.address}/baseann/multi"
    _release(make_repo(tmp_path / "app", dockerfile=dockerfile), ref, monkeypatch, base=busybox_base)
    wanted = _platform_digests(registry, app)
    assert wanted != _platform_digests(registry, busybox_base)
    for arch, manifest in _manifests(registry, f"{ref}:1.0.0").items():
        assert manifest["annotations"][BASE_NAME] == app
        assert manifest["annotations"][BASE_DIGEST] == wanted[arch]


def test_scratch_and_no_default_labels_give_none(busybox_base: str, registry: TestRegistry, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = "ARG BASE\nFROM $BASE AS tools\nFROM scratch\nCOPY --from=tools /bin/busybox /busybox\n"
    ref = f"{registry.address}/baseann/scratch"
    _release(make_repo(tmp_path / "scratch", dockerfile=scratch), ref, monkeypatch, base=busybox_base)
    for manifest in _manifests(registry, f"{ref}:1.0.0").values():
        assert "org.opencontainers.image.revision" in manifest["annotations"]  # default labels are on
        assert BASE_NAME not in manifest["annotations"] and BASE_DIGEST not in manifest["annotations"]

    ref = f"{registry.address}/baseann/optout"
    _release(make_repo(tmp_path / "optout"), ref, monkeypatch, "--no-default-labels", base=busybox_base)
    for manifest in _manifests(registry, f"{ref}:1.0.0").values():
        annotations = manifest.get("annotations", {})
        assert BASE_NAME not in annotations and BASE_DIGEST not in annotations
