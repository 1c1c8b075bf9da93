"""Steps in real runc over overlay snapshots: platforms via qemu, users, networks, output, failures, diffs."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.executor.base import Mount, Network, RunRequest, RunResult, StepFailedError
from dockyard.executor.runc import RuncExecutor
from dockyard.executor.spec import runtime_spec
from dockyard.executor.user import resolve_user
from dockyard.oci.layer import Compression, LayerOptions, make_layer
from dockyard.oci.unpack import Whiteouts, apply_layer
from dockyard.platform import Platform
from dockyard.store.snapshots import Snapshot, Snapshotter

pytestmark = pytest.mark.integration


@pytest.fixture
def snaps(tmp_path: Path) -> Iterator[Snapshotter]:
    snapshotter = Snapshotter(tmp_path / "snapshots")
    yield snapshotter
    snapshotter.close()


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[RuncExecutor]:
    runner = RuncExecutor(state_dir=tmp_path / "run")
    yield runner
    runner.close()  # unmounts the bundles' tmpfs


def _base(snaps: Snapshotter, tarball: Path) -> Snapshot:
    with snaps.prepare(None) as active:
        apply_layer(tarball, active.upper, whiteouts=Whiteouts.OVERLAY)
        return active.commit()


@pytest.fixture
def amd64(snaps: Snapshotter, busybox_rootfs: dict[str, Path]) -> Snapshot:
    return _base(snaps, busybox_rootfs["amd64"])


def _run(snaps: Snapshotter, executor: RuncExecutor, parent: Snapshot, script: str,
         **kwargs: object) -> tuple[RunResult, list[tuple[int, str]], Snapshot]:
    lines: list[tuple[int, str]] = []
    with snaps.prepare(parent.id) as active:
        request = RunRequest(rootfs=active.mount(), args=["/bin/sh", "-c", script], **kwargs)  # type: ignore[arg-type]
        result = executor.run(request, on_output=lambda stream, line: lines.append((stream, line.decode())))
        snap = active.commit()
    return result, lines, snap


def _layer_names(snap: Snapshot, tmp_path: Path) -> list[str]:
    blob = make_layer(snap.diff, tmp_path, options=LayerOptions(compression=Compression.NONE))
    with tarfile.open(blob.path) as tar:
        return tar.getnames()


@pytest.mark.usefixtures("binfmt_arm64")
@pytest.mark.parametrize(("arch", "machine"), [("amd64", "x86_64"), ("arm64", "aarch64")])
def test_uname_per_platform(snaps: Snapshotter, executor: RuncExecutor, busybox_rootfs: dict[str, Path],
                            arch: str, machine: str) -> None:
    base = _base(snaps, busybox_rootfs[arch])
    result, lines, _ = _run(snaps, executor, base, "uname -m", platform=Platform.parse(arch))
    assert result.exit_code == 0
    assert lines == [(1, machine)]


def test_a_trivial_step_leaves_an_empty_diff(snaps: Snapshotter, executor: RuncExecutor, amd64: Snapshot) -> None:
    result, _, snap = _run(snaps, executor, amd64, "true")
    assert result.exit_code == 0
    assert os.listdir(snap.diff) == []


def test_written_files_are_exactly_the_layer(snaps: Snapshotter, executor: RuncExecutor, amd64: Snapshot,
                                             tmp_path: Path) -> None:
    script = "mkdir -p /opt/app && echo hi > /opt/app/f && ln -s f /opt/app/l && rm /etc/hosts && chmod 4755 /opt/app/f"
    result, _, snap = _run(snaps, executor, amd64, script)
    assert result.exit_code == 0
    assert _layer_names(snap, tmp_path) == ["etc", "etc/.wh.hosts", "opt", "opt/app", "opt/app/f", "opt/app/l"]
    assert (snap.diff / "opt" / "app" / "f").read_text() == "hi\n"
    assert (snap.diff / "opt" / "app" / "f").stat().st_mode & 0o7777 == 0o4755


def test_output_streams_in_order_and_failures_keep_the_tail(snaps: Snapshotter, executor: RuncExecutor,
                                                            amd64: Snapshot) -> None:
    script = "echo out; echo err >&2; for i in $(seq 1 30); do echo line$i; done; printf partial; exit 7"
    result, lines, _ = _run(snaps, executor, amd64, script)
    assert result.exit_code == 7
    # each stream keeps its order (the two pipes are read as data arrives, so not relative to each other)
    assert [line for stream, line in lines if stream == 1] == ["out", *(f"line{i}" for i in range(1, 31)), "partial"]
    assert [line for stream, line in lines if stream == 2] == ["err"]
    assert len(result.tail) == 20
    assert "partial" in result.tail and "line30" in result.tail and "line5" not in result.tail
    with pytest.raises(StepFailedError) as info:
        result.check("Dockerfile:3 RUN build")
    message = str(info.value)
    assert message.startswith("Dockerfile:3 RUN build: process did not complete successfully: exit code 7")
    assert "line30" in message and "line5\n" not in message


def test_user_is_resolved_in_the_image(snaps: Snapshotter, executor: RuncExecutor, amd64: Snapshot) -> None:
    with snaps.prepare(amd64.id) as active:
        root = active.mount()
        with open(root / "etc" / "passwd", "a") as passwd:
            passwd.write("app:x:1000:1000:App:/home/app:/bin/sh\n")
        with open(root / "etc" / "group", "a") as group:
            group.write("app:x:1000:\nwheel:x:10:app\n")
        parent = active.commit()
    result, lines, _ = _run(snaps, executor, parent, 'id; echo "$HOME"; touch /home/x 2>&1 || echo denied',
                            user="app")
    assert result.exit_code == 0
    # the primary group is listed too, as under BuildKit (the kernel keeps the list sorted)
    assert lines[0] == (1, "uid=1000(app) gid=1000(app) groups=10(wheel),1000(app)")
    assert lines[1] == (1, "/home/app")
    assert lines[-1] == (1, "denied")
    result, lines, _ = _run(snaps, executor, parent, "id -u; id -g", user="4242:77")
    assert [line for _, line in lines] == ["4242", "77"]
    with pytest.raises(Exception, match="unable to find user ghost"):
        _run(snaps, executor, parent, "true", user="ghost")


def test_network_none_has_only_loopback_and_it_is_up(snaps: Snapshotter, executor: RuncExecutor,
                                                      amd64: Snapshot) -> None:
    _, lines, _ = _run(snaps, executor, amd64, "ls /sys/class/net; ip link show lo", network=Network.NONE)
    assert lines[0] == (1, "lo")
    assert "UP" in lines[1][1].split("<")[1]


def test_network_host_sees_host_interfaces_and_resolv_conf(snaps: Snapshotter, executor: RuncExecutor,
                                                           amd64: Snapshot) -> None:
    result, lines, snap = _run(snaps, executor, amd64, "ls /sys/class/net; cat /etc/resolv.conf",
                               network=Network.HOST)
    assert result.exit_code == 0
    output = [line for _, line in lines]
    host_interfaces = sorted(os.listdir("/sys/class/net"))
    assert output[: len(host_interfaces)] == host_interfaces
    assert output[len(host_interfaces):] == Path("/etc/resolv.conf").read_text().splitlines()
    assert os.listdir(snap.diff) == []  # the bind mounts leave nothing behind


def test_mount_stubs_and_extra_mounts(snaps: Snapshotter, executor: RuncExecutor, amd64: Snapshot,
                                      tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in").write_text("from host\n")
    mounts = [Mount(target="/mnt/deep/cache", source=str(shared)),
              Mount(target="/ro", source=str(shared), readonly=True),
              Mount(target="/scratch", kind="tmpfs")]
    script = "cat /mnt/deep/cache/in; echo out > /mnt/deep/cache/out; echo x > /ro/y || echo ro; echo t > /scratch/t"
    result, lines, snap = _run(snaps, executor, amd64, script, mounts=mounts)
    assert result.exit_code == 0
    assert [line for _, line in lines if not line.startswith("/bin/sh")] == ["from host", "ro"]
    assert (shared / "out").read_text() == "out\n"
    assert os.listdir(snap.diff) == []


def test_working_directory_is_created_and_kept(snaps: Snapshotter, executor: RuncExecutor, amd64: Snapshot,
                                               tmp_path: Path) -> None:
    _, lines, snap = _run(snaps, executor, amd64, "pwd", cwd="/work/dir")
    assert lines == [(1, "/work/dir")]
    assert _layer_names(snap, tmp_path) == ["work", "work/dir"]


def test_an_interrupted_step_leaves_no_container(snaps: Snapshotter, executor: RuncExecutor,
                                                 amd64: Snapshot) -> None:
    def interrupt(stream: int, line: bytes) -> None:
        raise KeyboardInterrupt

    started = time.monotonic()
    with snaps.prepare(amd64.id) as active:
        request = RunRequest(rootfs=active.mount(), args=["/bin/sh", "-c", "echo go; sleep 60"])
        with pytest.raises(KeyboardInterrupt):
            executor.run(request, on_output=interrupt)
    assert time.monotonic() - started < 20
    listing = subprocess.run([executor.runtime, "list", "-q"], capture_output=True, text=True, check=True).stdout
    assert f"dockyard-{os.getpid()}-" not in listing
    snaps.close()  # removes the directories made ahead for the next snapshot (store/spares.py)
    assert not any(p.name.startswith("tmp-") for p in snaps.root.iterdir())


def test_containers_of_killed_processes_are_reaped(executor: RuncExecutor, amd64: Snapshot,
                                                   snaps: Snapshotter, tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    ident = f"dockyard-{dead.pid}-deadbeef"
    with snaps.prepare(amd64.id) as active:
        rootfs = active.mount()
        bundle = tmp_path / "bundle"
        bundle.mkdir()
        config = runtime_spec(RunRequest(rootfs=rootfs, args=["/bin/sleep", "60"]), rootfs=rootfs,
                              user=resolve_user(rootfs, ""))
        (bundle / "config.json").write_text(json.dumps(config))
        # the created container keeps its stdio: pipes would never reach EOF
        subprocess.run([executor.runtime, "create", "--bundle", str(bundle), ident], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        assert ident in _container_ids(executor)
        assert ident in executor.reap_stale()  # with others' stale containers, when tests run side by side
        assert ident not in _container_ids(executor)


def _container_ids(executor: RuncExecutor) -> list[str]:
    out = subprocess.run([executor.runtime, "list", "-q"], capture_output=True, text=True, check=True).stdout
    return out.split()


def test_steps_run_on_the_copy_fallback_too(executor: RuncExecutor, busybox_rootfs: dict[str, Path],
                                            tmp_path: Path) -> None:
    copy = Snapshotter(tmp_path / "copy-snapshots", overlay=False)
    base = _base(copy, busybox_rootfs["amd64"])
    result, lines, snap = _run(copy, executor, base, "rm /etc/group; echo v > /var/v; cat /etc/passwd | wc -l")
    assert result.exit_code == 0
    assert lines == [(1, "2")]
    assert _layer_names(snap, tmp_path) == ["etc", "etc/.wh.group", "var", "var/v"]
    copy.close()
