"""Bootstrapping the local node for real: runc, overlayfs, qemu registration, platforms proved by running busybox.

binfmt_misc is machine-wide, so the test that unregisters qemu-aarch64 puts it back as it was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.builders.builder import Builder
from dockyard.builders.instances import CreateOptions, create_builder, current_builder
from dockyard.errors import HostError, UsageError
from dockyard.executor import qemu
from dockyard.platform import Platform
from tests.unit.builders.dockyard_cli import assert_one_line_error, ls_json, run

pytestmark = pytest.mark.integration

HANDLER = qemu.BINFMT / "qemu-aarch64"


def _unregister_aarch64() -> None:
    if HANDLER.exists():
        HANDLER.write_text("-1")
    assert not qemu.can_run("arm64")


@pytest.fixture
def aarch64_unregistered() -> Iterator[None]:
    """qemu-aarch64 removed from binfmt_misc for the test; restored (registered, F flag) afterwards."""
    if os.geteuid() != 0:
        pytest.fail("this test needs root to change binfmt_misc")
    was_registered = qemu.status("arm64").registered
    _unregister_aarch64()
    try:
        yield
    finally:
        if was_registered:
            qemu.ensure("arm64")


def _node(name: str) -> dict[str, object]:
    nodes = ls_json()[name]["Nodes"]
    assert isinstance(nodes, list)
    node = nodes[0]
    assert isinstance(node, dict)
    return node


def test_inspect_bootstrap_registers_arm64_and_verifies_it(aarch64_unregistered: None, dockyard_root: Path) -> None:
    assert "linux/arm64" not in _node("default")["Platforms"]  # type: ignore[operator]
    out = run("inspect", "--bootstrap")
    assert qemu.status("arm64").registered and "F" in qemu.status("arm64").flags
    lines = out.stdout.splitlines()
    assert "Status:           running" in lines
    check = next(line for line in lines if line.strip().startswith("linux/arm64 "))
    assert check.split()[:3] == ["linux/arm64", "emulated", "verified"]
    assert "busybox uname -m: aarch64" in check
    node = _node("default")
    assert node["Status"] == "running"
    platforms = node["Platforms"]
    assert isinstance(platforms, list)
    assert platforms[0] == "linux/amd64" and "linux/arm64" in platforms
    assert platforms.index("linux/386") < platforms.index("linux/arm64")  # native before emulated
    assert "linux/arm64" in node["Emulated"] and "linux/arm64" in node["Verified"]  # type: ignore[operator]
    assert "linux/amd64" in node["Verified"] and "linux/amd64" not in node["Emulated"]  # type: ignore[operator]
    assert str(node["Version"]).startswith("dockyard 0.") and "runc" in str(node["Version"])
    assert dockyard_root.is_dir()  # the default node's store is the machine's store root


def test_losing_the_emulator_makes_the_node_inactive_until_bootstrapped(aarch64_unregistered: None) -> None:
    run("create", "--name", "armb", "--platform", "linux/arm64", "--bootstrap")
    assert _node("armb")["Status"] == "running"
    _unregister_aarch64()  # what a reboot does
    assert _node("armb")["Status"] == "inactive"
    builder = current_builder("armb").ensure_booted()
    assert builder.status() == "running" and qemu.can_run("arm64")


def test_create_bootstrap_with_platforms_serves_exactly_those(dockyard_root: Path) -> None:
    out = run("create", "--name", "duo", "--platform", "linux/amd64,linux/arm64", "--bootstrap", "--use")
    assert out.stdout.strip() == "duo"
    node = _node("duo")
    assert node["Platforms"] == ["linux/amd64", "linux/arm64"]
    assert node["Verified"] == ["linux/amd64", "linux/arm64"] and node["Emulated"] == ["linux/arm64"]
    store = dockyard_root / "builders" / "duo" / "duo0"
    assert store.is_dir()
    assert [p.name for p in store.iterdir() if p.name.startswith(".overlay-probe")] == []
    assert str(store) not in Path("/proc/self/mounts").read_text()
    builder = current_builder()
    assert builder.store_root() == store
    got = builder.assign([Platform.parse("linux/arm64"), Platform.parse("linux/amd64")])
    assert {n.name for n in got.values()} == {"duo0"}


def test_unserved_platform_error_names_the_fix() -> None:
    builder = create_builder(CreateOptions(name="amdonly", platforms=(Platform.parse("linux/amd64"),),
                                           bootstrap=True))
    with pytest.raises(UsageError, match="cannot build linux/s390x"):
        builder.assign([Platform.parse("linux/s390x")])


def test_bootstrap_without_a_runtime_names_the_package() -> None:
    out = run("create", "--name", "nort", "--bootstrap", check=False, env={"PATH": "/nonexistent"})
    assert_one_line_error(out, "runc is not installed")
    assert "apt-get install runc" in out.stderr


def test_missing_qemu_definition_names_qemu_user_static(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(qemu, "DEFINITIONS", tmp_path / "no-binfmt.d")
    monkeypatch.setattr(qemu, "BINFMT", tmp_path / "binfmt")  # nothing registered, nothing to register
    (tmp_path / "binfmt").mkdir()
    (tmp_path / "binfmt" / "register").write_text("")
    builder = create_builder(CreateOptions(name="rv", platforms=(Platform.parse("linux/riscv64"),)))
    with pytest.raises(HostError) as info:
        builder.bootstrap()
    assert "no qemu emulator for riscv64" in info.value.message
    assert info.value.hint == "install it: apt-get install qemu-user-static"


def test_bootstrap_is_fast_and_recorded() -> None:
    builder: Builder = create_builder(CreateOptions(name="timed", bootstrap=True))
    boot = builder.record.nodes[0].boot
    assert boot is not None
    print(f"bootstrap of a local node (all emulators): {boot.seconds:.3f}s")
    assert boot.seconds < 5.0
    doc = json.loads((builder.store.dir("timed") / "builder.json").read_text())
    assert doc["nodes"][0]["boot"]["runtime"].startswith(("runc", "crun"))


def test_every_probe_program_runs_here() -> None:
    from dockyard.builders import probe, tinyelf

    for platform in (Platform.parse(p) for p in ("linux/386", "linux/arm/v7", "linux/ppc64le", "linux/s390x",
                                                 "linux/riscv64")):
        qemu.ensure(platform.architecture)
        result = probe.verify(platform)
        assert result.verified is True, (platform, result)
        assert f"exit {tinyelf.EXIT_CODE}" in result.detail


def test_a_probe_that_runs_but_fails_is_not_served(monkeypatch: pytest.MonkeyPatch) -> None:
    from dockyard.builders import tinyelf

    monkeypatch.setattr(tinyelf, "EXIT_CODE", 7)  # the programs still exit 42: every tiny probe "fails"
    configured = create_builder(CreateOptions(name="bad", platforms=(Platform.parse("linux/s390x"),)))
    with pytest.raises(HostError, match="linux/s390x does not run on node bad0: FAILED"):
        configured.bootstrap()
    discovered = create_builder(CreateOptions(name="open", bootstrap=True))
    served = {str(s.platform) for s in discovered.nodes()[0].platforms()}
    assert "linux/s390x" not in served and "linux/arm64" in served  # arm64 is proved by busybox instead
