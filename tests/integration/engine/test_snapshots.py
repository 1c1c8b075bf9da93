"""The overlay snapshotter on a real kernel: stacks, diffs with whiteouts, long stacks, kill -9, two users."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.oci.layer import Compression, LayerOptions, make_layer
from dockyard.oci.unpack import Whiteouts, apply_layer
from dockyard.store.mount import mounts_under
from dockyard.store.snapshots import PAGE_SIZE, Snapshot, Snapshotter
from tests.rig.trees import describe

pytestmark = pytest.mark.integration


@pytest.fixture(params=[True, False], ids=["overlay", "copy"])
def snapshotter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Snapshotter]:
    snaps = Snapshotter(tmp_path / "snapshots", overlay=request.param)
    yield snaps
    snaps.close()


def _base(snaps: Snapshotter, tarball: Path) -> Snapshot:
    with snaps.prepare(None) as active:
        apply_layer(tarball, active.upper, whiteouts=Whiteouts.OVERLAY)
        return active.commit()


def _entries(diff: Path, tmp_path: Path) -> list[tuple[str, str, int]]:
    blob = make_layer(diff, tmp_path, options=LayerOptions(compression=Compression.NONE))
    with tarfile.open(blob.path) as tar:
        return [(m.name, "dir" if m.isdir() else "file" if m.isreg() else "other", m.mode) for m in tar]


def test_probe_finds_overlay_as_root(tmp_path: Path) -> None:
    snaps = Snapshotter(tmp_path / "s")
    assert snaps.overlay is True
    snaps.close()


def test_changes_in_a_mount_become_the_diff_with_whiteouts(snapshotter: Snapshotter, tmp_path: Path,
                                                          busybox_rootfs: dict[str, Path]) -> None:
    base = _base(snapshotter, busybox_rootfs["amd64"])
    with snapshotter.prepare(base.id) as active:
        root = active.mount()
        assert (root / "bin" / "busybox").is_file()
        (root / "etc" / "passwd").unlink()
        shutil.rmtree(root / "usr")
        (root / "usr" / "new").mkdir(parents=True)
        (root / "usr" / "new" / "f").write_text("x")
        shutil.rmtree(root / "home")
        (root / "etc" / "group").chmod(0o600)
        (root / "opt").mkdir()
        snap = active.commit()
    assert snap.parent == base.id
    entries = _entries(snap.diff, tmp_path)
    expected = [
        (".wh.home", "file", 0), ("etc", "dir", 0o755), ("etc/.wh.passwd", "file", 0),
        ("etc/group", "file", 0o600), ("opt", "dir", 0o755), ("usr", "dir", 0o755),
        ("usr/.wh..wh..opq", "file", 0), ("usr/new", "dir", 0o755), ("usr/new/f", "file", 0o644),
    ]
    if snapshotter.overlay or ("usr/.wh..wh..opq", "file", 0) in entries:
        assert entries == expected
    else:  # the copy fallback met a recreated usr/ with its old inode: whiteouts per vanished child
        whiteouts = sorted(name for name, _, _ in entries if name.startswith("usr/.wh."))
        assert whiteouts == ["usr/.wh.bin", "usr/.wh.sbin"]
        assert [e for e in entries if not e[0].startswith("usr/.wh.")] == [
            e for e in expected if e[0] != "usr/.wh..wh..opq"]
    with snapshotter.prepare(snap.id) as child:
        root = child.mount()
        assert not (root / "etc" / "passwd").exists()
        assert (root / "etc" / "hosts").exists()
        assert sorted(os.listdir(root / "usr")) == ["new"]
        assert not (root / "home").exists()


def test_untouched_mount_commits_an_empty_diff(snapshotter: Snapshotter, busybox_rootfs: dict[str, Path]) -> None:
    base = _base(snapshotter, busybox_rootfs["amd64"])
    with snapshotter.prepare(base.id) as active:
        active.mount()
        snap = active.commit()
    assert os.listdir(snap.diff) == []
    assert mounts_under(snapshotter.root) == []


def test_abort_unmounts_and_removes(snapshotter: Snapshotter, busybox_rootfs: dict[str, Path]) -> None:
    base = _base(snapshotter, busybox_rootfs["amd64"])
    def failing_step() -> None:
        with snapshotter.prepare(base.id) as active:
            (active.mount() / "junk").write_text("j")
            raise RuntimeError("step failed")

    with pytest.raises(RuntimeError):
        failing_step()
    assert mounts_under(snapshotter.root) == []
    assert snapshotter.ids() == [base.id]
    snapshotter.close()  # removes the directories made ahead for the next snapshot (store/spares.py)
    assert [p.name for p in snapshotter.root.iterdir() if p.name.startswith("tmp-")] == []


def test_the_next_snapshot_takes_directories_made_ahead(snapshotter: Snapshotter,
                                                       busybox_rootfs: dict[str, Path]) -> None:
    base = _base(snapshotter, busybox_rootfs["amd64"])
    deadline = time.monotonic() + 30
    while not (spares := [p for p in snapshotter.root.iterdir()
                          if p.name.startswith("tmp-") and (p / "parent").exists()]):  # touched last
        assert time.monotonic() < deadline, "no spare was made in the background"
        time.sleep(0.01)
    assert sorted(p.name for p in spares[0].iterdir()) == ["fs", "merged", "parent", "work"]
    with snapshotter.prepare(base.id) as active:
        assert active.id == spares[0].name.removeprefix("tmp-")
        root = active.mount()
        assert (root / "bin" / "busybox").exists()
        (root / "new").write_text("n")
        snap = active.commit()
    assert os.listdir(snap.diff) == ["new"]
    assert snapshotter.get(snap.id).parent == base.id
    snapshotter.close()
    assert [p.name for p in snapshotter.root.iterdir() if p.name.startswith("tmp-")] == []
    assert sorted(snapshotter.ids()) == sorted([base.id, snap.id])


def test_long_stacks_mount_with_relative_lowerdirs(tmp_path: Path) -> None:
    # a deep root path makes absolute lowerdirs overflow the one-page option limit
    deep = tmp_path / ("d" * 100) / ("e" * 100)
    snaps = Snapshotter(deep / "snapshots", overlay=True)
    parent: str | None = None
    for i in range(40):
        with snaps.prepare(parent) as active:
            (active.upper / f"file{i}").write_text(str(i))
            parent = active.commit().id
    assert sum(len(str(s.diff)) + 1 for s in snaps.chain(parent)) > PAGE_SIZE
    with snaps.prepare(parent) as active:
        root = active.mount()
        assert sorted(os.listdir(root)) == sorted(f"file{i}" for i in range(40))
        (root / "top").write_text("t")
        snap = active.commit()
    assert os.listdir(snap.diff) == ["top"]
    snaps.close()


KILLER = textwrap.dedent("""
    import os, signal, sys
    from dockyard.store.snapshots import Snapshotter
    root, parent, stage = sys.argv[1], sys.argv[2], sys.argv[3]
    snaps = Snapshotter(root, overlay=True)
    active = snaps.prepare(parent)
    (active.mount() / "written").write_text("w")
    if stage == "mounted":
        os.kill(os.getpid(), signal.SIGKILL)
    real_rename = os.rename
    def rename(src, dst):
        if stage == "before-rename":
            os.kill(os.getpid(), signal.SIGKILL)
        real_rename(src, dst)
        print(os.path.basename(dst), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    os.rename = rename
    active.commit()
""")


@pytest.mark.parametrize("stage", ["mounted", "before-rename", "after-rename"])
def test_kill_9_leaves_nothing_half_committed(tmp_path: Path, busybox_rootfs: dict[str, Path], stage: str) -> None:
    root = tmp_path / "snapshots"
    snaps = Snapshotter(root, overlay=True)
    base = _base(snaps, busybox_rootfs["amd64"])
    snaps.close()
    proc = subprocess.run([sys.executable, "-c", KILLER, str(root), base.id, stage], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == -9, proc.stderr
    if stage == "mounted":
        assert mounts_under(root) != []  # the kill really left a mount behind
    again = Snapshotter(root, overlay=True)
    assert mounts_under(root) == []
    assert [p.name for p in root.iterdir() if p.name.startswith("tmp-")] == []
    if stage == "after-rename":
        new_id = proc.stdout.strip()
        assert sorted(again.ids()) == sorted([base.id, new_id])
        snap = again.get(new_id)
        assert snap.parent == base.id and (snap.diff / "written").read_text() == "w"
    else:
        assert again.ids() == [base.id]
    with again.prepare(base.id) as active:
        assert (active.mount() / "bin" / "busybox").exists()
    again.close()


HOLDER = textwrap.dedent("""
    import sys, time
    from dockyard.store.snapshots import Snapshotter
    snaps = Snapshotter(sys.argv[1], overlay=True)
    active = snaps.prepare(None)
    (active.upper / "mine").write_text("m")
    print("ready", flush=True)
    sys.stdin.readline()
    print(active.commit().id, flush=True)
""")


def test_a_second_process_never_cleans_an_active_snapshot(tmp_path: Path) -> None:
    root = tmp_path / "snapshots"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(root)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "ready"
    other = Snapshotter(root, overlay=True)  # would clean tmp-* if it were alone
    time.sleep(0.05)
    holder.stdin.write("\n")
    holder.stdin.flush()
    committed = holder.stdout.readline().strip()
    assert holder.wait(timeout=30) == 0
    assert other.ids() == [committed]
    assert (other.get(committed).diff / "mine").read_text() == "m"
    other.close()


def test_copy_and_overlay_modes_give_the_same_layer(tmp_path: Path, busybox_rootfs: dict[str, Path]) -> None:
    results = []
    for overlay in (True, False):
        snaps = Snapshotter(tmp_path / f"s-{overlay}", overlay=overlay)
        base = _base(snaps, busybox_rootfs["amd64"])
        with snaps.prepare(base.id) as active:
            root = active.mount()
            (root / "etc" / "hosts").unlink()
            shutil.rmtree(root / "var")
            (root / "var").mkdir()
            (root / "var" / "log").write_text("l")
            os.chown(root / "tmp", 5, 5)
            (root / "bin" / "cat").unlink()
            (root / "bin" / "cat").write_text("#!/bin/sh\n")
            snap = active.commit()
        blob = make_layer(snap.diff, tmp_path, options=LayerOptions(compression=Compression.NONE))
        with tarfile.open(fileobj=io.BytesIO(blob.path.read_bytes())) as tar:
            names = [m.name for m in tar if not m.name.startswith("var/.wh.")]
        applied = tmp_path / f"applied-{overlay}"
        applied.mkdir()
        apply_layer(busybox_rootfs["amd64"], applied, whiteouts=Whiteouts.APPLY)
        apply_layer(blob.path, applied, whiteouts=Whiteouts.APPLY)
        results.append((names, describe(applied)))
        snaps.close()
    assert results[0][0] == results[1][0] == ["bin", "bin/cat", "etc", "etc/.wh.hosts", "tmp", "var", "var/log"]
    assert results[0][1] == results[1][1]
    assert sorted(os.listdir(tmp_path / "applied-True" / "var")) == ["log"]


def test_volatile_is_used_and_odd_root_paths_still_mount(tmp_path: Path) -> None:
    snaps = Snapshotter(tmp_path / "a,b:c=d", overlay=True)
    assert "volatile" in snaps.features
    with snaps.prepare(None) as active:
        (active.upper / "base").write_text("b")
        base = active.commit()
    with snaps.prepare(base.id) as active:
        root = active.mount()
        assert (root / "base").read_text() == "b"
        (root / "added").write_text("a")
        snap = active.commit()
    assert os.listdir(snap.diff) == ["added"]
    snaps.close()


def test_the_mount_probe_waits_for_the_first_mount(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshotter left to choose probes overlayfs (a mount and an unmount) only when a snapshot is
    first needed, so a fully cached build, which mounts nothing, never pays for it (issue 17); one
    asked for overlayfs by name is probed in its constructor, so it still fails at the start when it
    cannot mount."""
    from dockyard.store import snapshots

    probes: list[Path] = []
    real = Snapshotter._probe_now

    def counted(self: Snapshotter) -> str | None:
        probes.append(self.root)
        return real(self)

    monkeypatch.setattr(Snapshotter, "_probe_now", counted)
    monkeypatch.delenv("DOCKYARD_SNAPSHOTTER", raising=False)
    monkeypatch.setattr(snapshots, "_probed", {})
    monkeypatch.setattr(snapshots, "_from_record", set())
    snaps = Snapshotter(tmp_path / "auto")
    assert probes == []
    base = _base(snaps, _tiny_layer(tmp_path))  # written straight into its directory: nothing mounted
    assert probes == []
    with snaps.prepare(base.id) as active:  # the first mount: now the probe runs, once
        (active.mount() / "f").write_text("x")
        active.commit()
    assert snaps.overlay and len(probes) == 1
    assert "overlayfs" in snaps.kind and len(probes) == 1
    snaps.close()
    Snapshotter(tmp_path / "named", overlay=True).close()  # by name: probed in the constructor
    assert len(probes) == 2


def test_the_probe_answer_is_kept_in_the_store_and_probed_again_when_it_no_longer_mounts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next process reads the probe's answer from ``.overlay-probe`` instead of mounting to find it
    (issue 17); an answer that fails the first real mount (here a record that names an option this
    kernel refuses) is probed again and replaced, and the step still mounts."""
    from dockyard.store import snapshots

    probes: list[Path] = []
    real = Snapshotter._probe_now

    def counted(self: Snapshotter) -> str | None:
        probes.append(self.root)
        return real(self)

    def new_process() -> Snapshotter:
        monkeypatch.setattr(snapshots, "_probed", {})
        monkeypatch.setattr(snapshots, "_from_record", set())
        return Snapshotter(tmp_path / "store")

    def one_step(snaps: Snapshotter, base: str) -> None:
        with snaps.prepare(base) as active:
            assert (active.mount() / "etc" / "hello").read_text() == "hi\n"
            active.commit()

    monkeypatch.setattr(Snapshotter, "_probe_now", counted)
    monkeypatch.delenv("DOCKYARD_SNAPSHOTTER", raising=False)
    snaps = new_process()
    base = _base(snaps, _tiny_layer(tmp_path)).id
    one_step(snaps, base)
    snaps.close()
    record = tmp_path / "store" / ".overlay-probe"
    stamp, features = record.read_text().split("\n")
    assert len(probes) == 1 and "volatile" in features

    again = new_process()
    one_step(again, base)
    assert len(probes) == 1 and again.features == features
    again.close()

    record.write_text(f"{stamp}\nno_such_overlay_option")
    stale = new_process()
    one_step(stale, base)
    assert len(probes) == 2 and stale.features == features
    assert record.read_text() == f"{stamp}\n{features}"
    stale.close()


def _tiny_layer(tmp_path: Path) -> Path:
    tree = tmp_path / "tiny"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "hello").write_text("hi\n")
    return make_layer(tree, tmp_path, options=LayerOptions(compression=Compression.NONE)).path
