"""SBOMs of build stages and of the build context, as BuildKit makes them (issue 15: scan-stage).

A real two-stage build pushed to a real registry: a ``builder`` stage FROM a Debian image (a real
dpkg database) whose output is copied into a busybox final image. The builder's Debian packages
appear only when the stage is scanned, in a second SPDX statement named ``sbom-builder`` after the
final image's own, in the same attestation manifest; versions are checked against ``dpkg-query``
on the base unpacked with skopeo + umoci.

BuildKit pins: moby/buildkit frontend/dockerfile/dockerfile2llb/convert.go ``Dockerfile2LLB`` (the
reached stages that scan become SBOM extras, plus the context when the target scans it) and
``toDispatchState`` (BUILDKIT_SBOM_SCAN_STAGE / _CONTEXT from the meta ARG and the stage's ARGs, a
build arg only overriding a declared ARG); frontend/attestations/sbom/sbom.go ``ExtraSBOMPrefix``
(extras are ``sbom-NAME``); exporter/attestation/unbundle.go ``sort`` (the core SBOM first).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.build.buildrig import dockyard, unpack
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration
SPDX = "https://spdx.dev/Document"


def _raw(ref: str) -> dict[str, Any]:
    out = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"], check=True,
                         capture_output=True).stdout
    doc: dict[str, Any] = json.loads(out)
    return doc


def _sboms(registry: TestRegistry, repo: str, tag: str, arch: str = "amd64") -> list[dict[str, Any]]:
    """The SPDX documents of one platform's attestation manifest, in layer order."""
    index = _raw(f"{registry.address}/{repo}:{tag}")
    image = next(m for m in index["manifests"] if m["platform"] == {"os": "linux", "architecture": arch})
    (entry,) = [m for m in index["manifests"]
                if m.get("annotations", {}).get("vnd.docker.reference.digest") == image["digest"]]
    assert entry["annotations"]["vnd.docker.reference.type"] == "attestation-manifest"
    manifest = _raw(f"{registry.address}/{repo}@{entry['digest']}")
    out = []
    for layer in manifest["layers"]:
        if layer["annotations"]["in-toto.io/predicate-type"] != SPDX:
            continue
        blob = subprocess.run(["curl", "-fsS", f"http://{registry.address}/v2/{repo}/blobs/{layer['digest']}"],
                              check=True, capture_output=True).stdout
        statement = json.loads(blob)
        assert statement["subject"][0]["digest"]["sha256"] == image["digest"].removeprefix("sha256:")
        out.append(statement["predicate"])
    return out


def _debs(document: dict[str, Any], arch: str = "") -> dict[str, str]:
    """name -> version of the Debian packages (for ``arch`` or ``all``, by the purl's arch qualifier)."""
    wanted = (f"arch={arch}&", "arch=all&") if arch else ("",)
    return {p["name"]: p["versionInfo"] for p in document["packages"]
            if any(r["referenceLocator"].startswith("pkg:deb/") and any(w in r["referenceLocator"] for w in wanted)
                   for r in p.get("externalRefs", []))}


def _context(tmp_path: Path, debian: str, busybox: str, *, builder_args: str = "", final_args: str = "") -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(
        f"FROM {debian} AS builder\n{builder_args}"
        "RUN echo built > /artifact\n"
        f"FROM {busybox}\n{final_args}"
        "COPY --from=builder /artifact /artifact\n")
    return ctx


def _build(ctx: Path, ref: str, *flags: str, platforms: str = "linux/amd64") -> None:
    dockyard("build", "--platform", platforms, "-t", ref, "--push", "--progress", "plain", *flags, str(ctx),
             timeout=600)


def _installed(image: str, arch: str, work: Path) -> dict[str, str]:
    """What the image's own dpkg database says (unpacked with skopeo + umoci, read by dpkg-query)."""
    rootfs, _ = unpack(image, arch, work)
    listed = subprocess.run(["dpkg-query", "--admindir", str(rootfs / "var/lib/dpkg"), "-W",
                             "-f", "${Package} ${Version} ${db:Status-Abbrev}\n"],
                            check=True, capture_output=True, text=True).stdout
    return {p: v for p, v, s in (line.split(" ", 2) for line in listed.splitlines()) if s.startswith("ii")}


@pytest.mark.usefixtures("binfmt_arm64")
def test_the_builder_stage_is_described_only_with_scan_stage(registry: TestRegistry, debian_base: str,
                                                             busybox_base: str, tmp_path: Path) -> None:
    installed = _installed(debian_base, "amd64", tmp_path / "debian")
    assert "dpkg" in installed and "libc6" in installed
    ctx = _context(tmp_path, debian_base, busybox_base)

    _build(ctx, f"{registry.address}/stages/app:plain", "--sbom=true")
    (final,) = _sboms(registry, "stages/app", "plain")
    assert not _debs(final)  # the final image is busybox: no Debian package in its SBOM

    _build(ctx, f"{registry.address}/stages/app:scanned", "--attest", "type=sbom,scan-stage=true",
           platforms="linux/amd64,linux/arm64")
    core, builder = _sboms(registry, "stages/app", "scanned")
    assert core["name"].startswith("pkg:docker/") and not _debs(core)  # the final image's SBOM first
    assert builder["name"] == "sbom-builder"
    assert _debs(builder, "amd64") == installed  # every installed package of the builder stage, with its version
    arm_core, arm_builder = _sboms(registry, "stages/app", "scanned", "arm64")  # each platform its own stage
    assert arm_builder["name"] == "sbom-builder" and not _debs(arm_core)
    assert _debs(arm_builder, "arm64") == _installed(debian_base, "arm64", tmp_path / "debian-arm64")
    assert builder["documentNamespace"] != core["documentNamespace"]
    shown = json.loads(dockyard("imagetools", "inspect", f"{registry.address}/stages/app:scanned",
                                "--format", "json").stdout)["sbom"]
    assert shown["linux/amd64"]["SPDX"]["name"] == core["name"]  # buildx's .SBOM.SPDX and .SBOM.AdditionalSPDXs
    assert [d["name"] for d in shown["linux/arm64"]["AdditionalSPDXs"]] == ["sbom-builder"]

    _build(ctx, f"{registry.address}/stages/app:named", "--attest", 'type=sbom,"scan-stage=other,builder"')
    assert [d["name"] for d in _sboms(registry, "stages/app", "named")][1:] == ["sbom-builder"]
    _build(ctx, f"{registry.address}/stages/app:off", "--attest", "type=sbom,scan-stage=false")
    assert len(_sboms(registry, "stages/app", "off")) == 1


def test_dockerfile_args_choose_stages_and_the_context(registry: TestRegistry, debian_base: str,
                                                       busybox_base: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path, debian_base, busybox_base, builder_args="ARG BUILDKIT_SBOM_SCAN_STAGE=true\n",
                   final_args="ARG BUILDKIT_SBOM_SCAN_CONTEXT=true\n")
    (ctx / "package-lock.json").write_text(json.dumps({
        "name": "web", "version": "1.0.0", "lockfileVersion": 3,
        "packages": {"": {"name": "web", "version": "1.0.0"},
                     "node_modules/left-pad": {"version": "1.3.0", "license": "WTFPL"}}}))
    (ctx / "ignored").mkdir()
    (ctx / "ignored" / "package-lock.json").write_text(json.dumps({
        "name": "hidden", "lockfileVersion": 3, "packages": {"node_modules/secret-dep": {"version": "9.9.9"}}}))
    (ctx / ".dockerignore").write_text("ignored\n")

    _build(ctx, f"{registry.address}/stages/args:1", "--sbom=true")
    core, builder, context = _sboms(registry, "stages/args", "1")
    assert [builder["name"], context["name"]] == ["sbom-builder", "sbom-context"]
    assert "dpkg" in _debs(builder) and not _debs(core)
    npm = {p["name"]: p["versionInfo"] for p in context["packages"][1:]}
    assert npm.get("left-pad") == "1.3.0" and "secret-dep" not in npm  # .dockerignore applies, as to COPY

    # a build arg overrides the declared ARGs; BUILDKIT_SBOM_SCAN_CONTEXT=builder names no target stage
    _build(ctx, f"{registry.address}/stages/args:2", "--sbom=true", "--build-arg", "BUILDKIT_SBOM_SCAN_STAGE=false",
           "--build-arg", "BUILDKIT_SBOM_SCAN_CONTEXT=builder")
    assert len(_sboms(registry, "stages/args", "2")) == 1
