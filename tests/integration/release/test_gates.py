"""Quality gates stop a release before anything is pushed: a failing gate exits 3 with a table,
leaves every tag where it was and uploads no manifest; --gate-mode=warn pushes and reports.
The registry's state is read with skopeo."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard
from tests.integration.release.releaserig import TRIVY_CRITICAL, list_tags, make_repo, raw_digest
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def _build(ctx: Path, base: str, name: str, *extra: str, meta: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = ["build", "--progress", "plain", "--build-arg", f"BASE={base}", "-t", name, "--push", *extra]
    if meta is not None:
        args += ["--metadata-file", str(meta)]
    return dockyard(*args, str(ctx), check=False)


def test_failing_gate_pushes_nothing_and_warn_mode_pushes(busybox_base: str, registry: TestRegistry,
                                                           tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app")
    name = f"{registry.address}/gates/app"
    first = _build(repo, busybox_base, f"{name}:latest")
    assert first.returncode == 0, first.stderr
    before = raw_digest(registry, f"{name}:latest")
    (repo / "hello.txt").write_text("changed: a new image\n")

    repo_dir = registry.running.storage / "docker/registry/v2/repositories/gates/app"
    stored_before = sorted(str(p.relative_to(repo_dir)) for p in repo_dir.rglob("*"))
    meta = tmp_path / "meta.json"
    failed = _build(repo, busybox_base, f"{name}:latest", "--gate", "max-size=1kB", "--gate", "max-layers=50",
                    meta=meta)
    assert failed.returncode == 3, failed.stderr
    assert "error: quality gate failed: size <= 1kB [linux/amd64]; nothing was pushed" in failed.stderr
    table = failed.stderr[failed.stderr.index("GATE"):]
    assert "FAIL" in table and "layers <= 50" in table
    assert "Traceback" not in failed.stderr and not failed.stdout
    assert list_tags(registry, "gates/app") == {"latest"}
    assert sorted(str(p.relative_to(repo_dir)) for p in repo_dir.rglob("*")) == stored_before  # no blob, no manifest
    assert raw_digest(registry, f"{name}:latest") == before
    gates = json.loads(meta.read_text())["dockyard.gates"]
    assert gates["passed"] is False and gates["mode"] == "enforce"
    assert [r["passed"] for r in gates["results"]] == [False, True]
    new_digest = json.loads(meta.read_text())["containerimage.digest"]
    assert new_digest != before
    missing = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{name}@{new_digest}"],
                             capture_output=True, text=True, check=False)
    assert missing.returncode != 0  # not even pushed by digest

    warned = _build(repo, busybox_base, f"{name}:latest", "--gate", "max-size=1kB", "--gate-mode", "warn", meta=meta)
    assert warned.returncode == 0, warned.stderr
    assert "quality gates failed (warn mode)" in warned.stderr
    pushed = json.loads(meta.read_text())
    assert pushed["dockyard.gates"]["passed"] is False
    assert raw_digest(registry, f"{name}:latest") == pushed["containerimage.digest"] != before


def test_policy_file_with_scanner_report_secrets_and_command(busybox_base: str, registry: TestRegistry,
                                                             tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app", dockerfile="ARG BASE\nFROM $BASE\nCOPY . /src/\n")
    (repo / "keys").mkdir()
    (repo / "keys" / "deploy.pem").write_text(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
    (repo / "trivy.json").write_text(json.dumps(TRIVY_CRITICAL))
    (repo / ".dockyard").mkdir()
    (repo / ".dockyard" / "gates.toml").write_text(
        '[gates]\nno-secrets = true\nno-root-user = true\n'
        'require-labels = ["org.opencontainers.image.source"]\n'
        '[gates.vulnerabilities]\nreport = "trivy.json"\ncritical = 0\n'
        '[[gates.command]]\n'
        'run = \'skopeo inspect --raw "oci:$DOCKYARD_GATE_OCI_LAYOUT" | grep -q "$DOCKYARD_GATE_DIGEST" || '
        'skopeo inspect --raw "oci:$DOCKYARD_GATE_OCI_LAYOUT" >/dev/null\'\n'
        '[[gates.command]]\nrun = "echo image too sad >&2; exit 7"\n')
    name = f"{registry.address}/gates/policy"
    failed = _build(repo, busybox_base, f"{name}:1", "--label", "org.opencontainers.image.source=https://x.example")
    assert failed.returncode == 3, failed.stderr
    rows = {line.split("  ")[0]: line for line in failed.stderr.splitlines() if "  " in line}
    assert "FAIL" in rows["no secrets in layers"] and "/src/keys/deploy.pem" in rows["no secrets in layers"]
    assert "FAIL" in rows["no root user"]
    assert "pass" in rows["label org.opencontainers.image.source"]
    assert "1 critical (max 0)" in rows["vulnerabilities critical<=0"]
    assert "Trivy JSON" in rows["vulnerabilities critical<=0"]
    commands = [line for line in failed.stderr.splitlines() if line.startswith("command ")]
    assert "pass" in commands[0] and "FAIL" in commands[1] and "exit 7: image too sad" in commands[1]
    assert list_tags(registry, "gates/policy") == set()
