"""Snapshots: filesystem trees as stacks of diff directories, mounted with overlayfs.

A committed snapshot is one directory holding the *diff* of one layer, in the overlayfs
upperdir format (deleted paths are char devices 0:0, replaced directories carry
``trusted.overlay.opaque=y``), plus the id of its parent. A rootfs is the stack of a
snapshot and its ancestors, mounted as overlay lowerdirs. A RUN step gets a fresh
upperdir and workdir over that stack; committing keeps the upperdir as the new diff, so
the layer tar is made straight from it (:func:`dockyard.oci.layer.make_layer`), and
unpacking a base image layer writes into an upperdir the same way
(:func:`dockyard.oci.unpack.apply_layer` with ``Whiteouts.OVERLAY``).

Layout under ``DATA_ROOT/snapshots``::

    .lock              flock: shared while a process uses the store, exclusive to clean up
    ID/fs              a committed diff (ID: 12 hex digits)
    ID/parent          the parent's ID, empty for a base
    ID/work, ID/merged the overlay workdir and mount point it was written through (empty)
    ID/copied          a COPY's files, for the next copy of it (dockyard.engine.recopy)
    .copies/LINEAGE    the ID of the last copy of one COPY (dockyard.engine.recopy)
    tmp-ID/...         an active snapshot: the same, being written
    tmp-ID.copy        the copy fallback's materialised stack (below)

Why it survives kill -9: everything is built in ``tmp-ID`` and appears under its final
name by one rename(2) of the directory, after the overlay is unmounted. A process that
finds no other user of the store (it gets the exclusive lock) unmounts and deletes every
``tmp-*`` left behind. Contents are not fsynced: the guarantee is against killed
processes, not power loss.

Directories cost: each mkdir or file creation on the store's filesystem measured 0.2-1 ms
here (more while other processes churn through files), and the next step waits for this
one's commit. So a snapshot's directories are made
ahead, in the background, while a step's container runs (:mod:`dockyard.store.spares`), and
the empty workdir and mount point stay in the committed snapshot (as in Docker's overlay2
layout) rather than being removed: removing them in the background slowed the next step's
overlay mount (0.3 -> 0.7 ms a step), removing them on its path would cost five rmdirs. They
go with their snapshot when it is pruned.

The overlay option string is limited to one page (4096 bytes). Absolute lowerdirs
(~60 bytes each) would fit about 60 layers, so ids are short and, when absolute paths
do not fit, the mount is made from the snapshots directory with relative lowerdirs
(``ID/fs``, 16 bytes each: ~250 layers); overlayfs itself stops at 500. The relative
form is also used when the root's path holds a character that overlay options cannot
carry (``,`` ``:`` ``\\`` ``=``). Mounts disable ``redirect_dir``, ``metacopy`` and
``index`` so that an upperdir is always a complete diff, and add ``volatile`` where the
kernel has it (5.10+): without it every unmount syncs the whole upper filesystem, which
measured 5-10 ms per step here and up to 0.7 s under I/O load, against 0.2 ms. Like the
missing fsyncs, this trades power-loss durability (a crash may lose recent snapshots'
data; the cache must then be pruned) for speed; kill -9 stays safe.

Where overlayfs cannot be mounted (probed once per process and root), the copy-based
fallback in :mod:`dockyard.store.copydiff` materialises the stack and computes the diff at
commit; everything else is the same.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from dockyard.errors import StoreError
from dockyard.paths import data_root
from dockyard.rootless.mode import in_user_namespace
from dockyard.store import copydiff, fuseoverlay
from dockyard.store.lock import FileLock
from dockyard.store.mount import mount, unmount, unmount_all
from dockyard.store.spares import Spares

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MAX_LOWERS = 500  # overlayfs's OVL_MAX_STACK
_OVERLAY_FEATURES = "redirect_dir=off,metacopy=off,index=off"
_probed: dict[Path, str | None] = {}
_from_record: set[Path] = set()  # roots whose _probed answer was read from the store's record
_probe_lock = threading.Lock()
_PROBE_RECORD = ".overlay-probe"
_CAP_SYS_ADMIN = 21
_OPTION_UNSAFE = (",", ":", "\\", "=")  # characters that would split or escape overlay options


SNAPSHOTTERS = ("overlayfs", "fuse-overlayfs", "copy")
COPY_LINEAGES = ".copies"  # LINEAGE -> the ID of a COPY's last copy (dockyard.engine.recopy); pruned with it


def _wanted() -> str:
    """DOCKYARD_SNAPSHOTTER (overlayfs, fuse-overlayfs or copy), or "" to let the probes choose."""
    value = os.environ.get("DOCKYARD_SNAPSHOTTER", "")
    if value and value not in SNAPSHOTTERS:
        raise StoreError(f"DOCKYARD_SNAPSHOTTER={value!r} is not a snapshotter",
                         hint=f"use one of {', '.join(SNAPSHOTTERS)}, or unset it to let dockyard probe")
    return value


def _probe_stamp(root: Path) -> str:
    """What the probe's answer depends on: the kernel, the filesystem under the store, a user
    namespace (``userxattr``), and the right to mount at all."""
    may_mount = False
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("CapEff:"):
                may_mount = bool(int(line.split()[1], 16) >> _CAP_SYS_ADMIN & 1)
    return (f"kernel={os.uname().release} dev={os.stat(root).st_dev} userns={int(in_user_namespace())} "
            f"cap_sys_admin={int(may_mount)}")


def _candidate_features() -> tuple[str, ...]:
    """Overlay option sets to try, best first.

    In a user namespace (rootless) overlayfs cannot write trusted.* xattrs; without
    ``userxattr`` it still mounts but silently loses opaque-directory markers, so only the
    ``userxattr`` forms are tried there (kernel 5.11+). ``userxattr`` refuses the
    ``redirect_dir=off`` spelling (it implies following redirects); ``nofollow`` means the same
    for an upperdir: no redirects are written.
    """
    if in_user_namespace():
        base = _OVERLAY_FEATURES.replace("redirect_dir=off", "redirect_dir=nofollow")
        return f"userxattr,{base},volatile", f"userxattr,{base}"
    return f"{_OVERLAY_FEATURES},volatile", _OVERLAY_FEATURES


@dataclass(frozen=True)
class Snapshot:
    """A committed snapshot; ``diff`` is its layer's directory (upperdir format)."""

    id: str
    parent: str | None
    diff: Path


class Snapshotter:
    """The snapshots of one store root; create one per process and keep it."""

    def __init__(self, root: str | os.PathLike[str] | None = None, *, overlay: bool | None = None) -> None:
        self.root = Path(root) if root is not None else data_root() / "snapshots"
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(self.root / ".lock")
        if self._lock.acquire(exclusive=True, blocking=False):
            remove_temporaries(self.root)
        self._lock.acquire(exclusive=False)
        self._wanted = _wanted()
        if overlay is not None:
            self._wanted = "overlayfs" if overlay else "copy"
        self._decided: tuple[str | None, str | None] | None = None  # (overlay features, fuse-overlayfs path)
        self._deciding = threading.Lock()
        self._spares = Spares(self._spare, name=f"spares-{self.root.name}")
        # committed snapshots never change, and none is removed while this process holds the store's
        # lock (prune takes it exclusively): a step reads its stack's parent files once, not per step
        self._known: dict[str, Snapshot] = {}
        if self._wanted:  # asked for by name: a snapshotter that cannot work fails here, at the start
            self._decide()

    def _decide(self) -> tuple[str | None, str | None]:
        """Probe how snapshots are mounted, once, when first needed: a mount and an unmount that a
        fully cached build, which mounts nothing, never pays for (they cost milliseconds of wall time
        each, more on a busy machine)."""
        with self._deciding:
            if self._decided is None:
                wanted = self._wanted
                features = self._probe() if wanted in ("", "overlayfs") else None
                if wanted == "overlayfs" and features is None:
                    raise StoreError(f"overlayfs cannot be mounted under {self.root}",
                                     hint="run as root on a kernel with overlayfs, or use the copy fallback")
                # rootless on kernels before 5.11: fuse-overlayfs, where it is installed and /dev/fuse usable
                fuse = self._probe_fuse() if wanted == "fuse-overlayfs" or (
                    not wanted and features is None and in_user_namespace()) else None
                if wanted == "fuse-overlayfs" and fuse is None:
                    raise StoreError(f"fuse-overlayfs cannot be mounted under {self.root}",
                                     hint="install fuse-overlayfs and make /dev/fuse usable (chmod 0666, or "
                                     "--device /dev/fuse in a container)")
                self._decided = (features, fuse)
            return self._decided

    @property
    def fuse(self) -> str | None:
        """fuse-overlayfs's path when snapshots are mounted with it (rootless without kernel overlayfs)."""
        return self._decide()[1]

    @property
    def overlay(self) -> bool:
        """True when snapshots are stacked with a mount (kernel overlayfs or fuse-overlayfs), not copied."""
        features, fuse = self._decide()
        return features is not None or fuse is not None

    @property
    def features(self) -> str:
        """The kernel overlayfs options this store mounts with."""
        return self._decide()[0] or _OVERLAY_FEATURES

    def close(self) -> None:
        self._spares.close()
        self._lock.release()

    @property
    def kind(self) -> str:
        """How snapshots are made, for ``inspect``: overlayfs (its options), fuse-overlayfs or copy."""
        forced = "DOCKYARD_SNAPSHOTTER" if _wanted() else ""
        if self.fuse is not None:
            return f"fuse-overlayfs ({forced or 'the kernel overlayfs does not mount here'})"
        return f"overlayfs ({self.features})" if self.overlay else f"copy ({forced or 'no overlay mount works here'})"

    def _probe_fuse(self) -> str | None:
        """fuse-overlayfs's path if a tiny mount of it works in this store, else None."""
        tool = fuseoverlay.binary()
        if tool is None:
            return None
        probe = Path(self._new_dir())
        try:
            for name in ("lower", "fs", "work", "merged"):
                (probe / name).mkdir()
            (probe / "lower" / "probe").write_text("ok")
            try:
                fuseoverlay.mount(tool, lowers=["lower"], upper="fs", work="work", merged=probe / "merged", cwd=probe)
            except StoreError:
                return None
            try:
                return tool if (probe / "merged" / "probe").read_text() == "ok" else None
            finally:
                unmount(probe / "merged", lazy=True)
        finally:
            shutil.rmtree(probe, ignore_errors=True)

    def _probe(self) -> str | None:
        """The overlay options this kernel accepts here (volatile first), or None without overlayfs.

        The answer is kept in the store (``.overlay-probe``) with what it depends on (:func:`_probe_stamp`),
        so a build does not pay a probe's mount, unmount and four directories (2 ms here, 6-30 ms on a
        busy machine); a recorded answer that no longer mounts is probed again (:meth:`probe_again`).
        """
        key = self.root.resolve()
        with _probe_lock:
            if key not in _probed:
                _probed[key] = self._recorded_probe(key)
            return _probed[key]

    def _recorded_probe(self, key: Path) -> str | None:
        record, stamp = self.root / _PROBE_RECORD, _probe_stamp(self.root)
        with contextlib.suppress(OSError, ValueError):
            recorded, features = record.read_text().split("\n")
            if recorded == stamp:
                _from_record.add(key)
                return features or None
        found = self._probe_now()
        with contextlib.suppress(OSError):  # only a saving: without it the next process probes again
            tmp = Path(self._new_dir())
            (tmp / _PROBE_RECORD).write_text(f"{stamp}\n{found or ''}")
            os.replace(tmp / _PROBE_RECORD, record)
            tmp.rmdir()
        return found

    def probe_again(self) -> bool:
        """After a failed mount: probe anew if the options came from the store's record; True when
        that changed how snapshots are mounted (the mount is then worth trying again)."""
        key = self.root.resolve()
        with _probe_lock:
            if key not in _from_record:
                return False
            _from_record.discard(key)
            before = _probed.pop(key, None)
            with contextlib.suppress(OSError):
                (self.root / _PROBE_RECORD).unlink()
        with self._deciding:
            self._decided = None
        return self._probe() != before

    def _probe_now(self) -> str | None:
        found: str | None = None
        probe = Path(self._new_dir())
        try:
            for name in ("lower", "fs", "work", "merged"):
                (probe / name).mkdir()
            for features in _candidate_features():
                shutil.rmtree(probe / "work")
                (probe / "work").mkdir()
                try:
                    if any(c in str(probe) for c in _OPTION_UNSAFE):
                        mount("overlay", probe / "merged", "overlay",
                              f"lowerdir=lower,upperdir=fs,workdir=work,{features}", cwd=probe)
                    else:
                        mount("overlay", probe / "merged", "overlay",
                              f"lowerdir={probe / 'lower'},upperdir={probe / 'fs'},workdir={probe / 'work'},"
                              f"{features}")
                except StoreError:
                    continue
                unmount(probe / "merged")
                found = features
                break
        finally:
            shutil.rmtree(probe, ignore_errors=True)
        return found

    def _new_dir(self) -> str:
        while True:
            ident = os.urandom(6).hex()
            path = self.root / f"tmp-{ident}"
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return str(path)

    def get(self, ident: str) -> Snapshot:
        known = self._known.get(ident)
        if known is not None:
            return known
        path = self.root / ident
        try:
            parent = (path / "parent").read_text().strip() or None
        except FileNotFoundError as exc:
            raise StoreError(f"snapshot {ident} does not exist", hint="the cache was pruned; rebuild") from exc
        snap = self._known[ident] = Snapshot(ident, parent, path / "fs")
        return snap

    def exists(self, ident: str) -> bool:
        return (self.root / ident / "parent").is_file()

    def chain(self, ident: str | None) -> list[Snapshot]:
        """The stack ending at ``ident``, bottom (base) first."""
        stack: list[Snapshot] = []
        while ident is not None:
            snap = self.get(ident)
            stack.append(snap)
            ident = snap.parent
        stack.reverse()
        return stack

    def ids(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir()
                      if not p.name.startswith((".", "tmp-")) and (p / "parent").is_file())

    def remove(self, ident: str) -> None:
        """Delete a committed snapshot (its children become unusable: the caller prunes leaves first)."""
        self._known.pop(ident, None)
        path = self.root / ident
        doomed = self.root / f"tmp-rm-{ident}"
        try:
            os.rename(path, doomed)
        except FileNotFoundError:
            return
        shutil.rmtree(doomed, ignore_errors=True)

    def prepare(self, parent: str | None) -> Active:
        """A new writable snapshot over ``parent`` (None: an empty tree)."""
        lowers = self.chain(parent)
        if len(lowers) > MAX_LOWERS:
            raise StoreError(f"snapshot {parent} stacks {len(lowers)} layers; overlayfs allows {MAX_LOWERS}",
                             hint="squash the image or use fewer RUN/COPY steps")
        tmp = self._spares.take()
        if tmp is None:
            tmp = Path(self._new_dir())
            (tmp / "fs").mkdir()
        (tmp / "parent").write_text(parent or "")
        return Active(self, tmp, parent, lowers)

    def anticipate(self) -> None:
        """Start making a snapshot's directories now: the caller is about to prepare one."""
        self._spares.fill()

    def _spare(self) -> Path:
        """A snapshot's directories made ahead (:mod:`dockyard.store.spares`): ``fs``, the overlay
        workdir and mount point, and an empty ``parent`` file (filling it is cheaper than creating it)."""
        tmp = Path(self._new_dir())
        try:
            for name in ("fs", "work", "merged"):
                (tmp / name).mkdir()
            (tmp / "parent").touch()
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return tmp

    def _committed(self, snap: Snapshot, *, leftover: Path | None) -> Snapshot:
        """Note a snapshot just committed; ``leftover`` (the copy fallback's tree) is removed in the background."""
        self._known[snap.id] = snap
        if leftover is not None:
            self._spares.discard(leftover)
        return snap


def remove_temporaries(root: Path) -> None:
    """Remove the snapshots killed processes were writing (``tmp-*``, mounts included) under ``root``.

    Only while the store's lock is held exclusively: then no other process is writing one.
    """
    for entry in root.iterdir():
        if entry.name.startswith("tmp-"):
            unmount_all(entry)
            shutil.rmtree(entry, ignore_errors=True)


class Active:
    """A snapshot being written: mount it, run something in it, then commit or abort."""

    def __init__(self, owner: Snapshotter, tmp: Path, parent: str | None, lowers: list[Snapshot]) -> None:
        self._owner = owner
        self._tmp = tmp
        # the copy fallback's materialised stack lives beside the snapshot, so that committing
        # stays one rename and the tree is removed off the step's path
        self._copy = tmp.with_name(f"{tmp.name}.copy")
        self.id = tmp.name.removeprefix("tmp-")
        self.parent = parent
        self.lowers = lowers
        self.upper = tmp / "fs"
        self._mounted: Path | None = None
        self._remount = False  # unmounted once: a mount again must clear the workdir first
        self._copy_state: copydiff.Baseline | None = None
        self.done = False

    def mount(self) -> Path:
        """The rootfs to run in: an overlay of the stack, or the upperdir itself for an empty stack."""
        if self._mounted is not None:
            return self._mounted
        if not self.lowers:
            self._mounted = self.upper
        elif self._owner.overlay:
            try:
                self._mounted = self._mount_overlay()
            except StoreError:
                if not self._owner.probe_again():  # the store's recorded probe may be out of date
                    raise
                return self.mount()
        else:
            self._copy.mkdir()
            self._copy_state = copydiff.materialize([s.diff for s in self.lowers], self._copy)
            self._mounted = self._copy
        return self._mounted

    def _mount_overlay(self) -> Path:
        work, merged = self._tmp / "work", self._tmp / "merged"
        if not merged.is_dir():  # not a spare (store/spares.py): made now
            work.mkdir(exist_ok=True)
            merged.mkdir()
        if self._remount:
            # a volatile overlay leaves work/work/incompat/volatile behind, and the kernel refuses
            # to mount over that workdir again (EINVAL) until it is gone; overlayfs remakes work/work
            shutil.rmtree(work / "work", ignore_errors=True)
        top_first = list(reversed(self.lowers))
        if self._owner.fuse is not None:
            fuseoverlay.mount(self._owner.fuse, lowers=[f"{s.id}/fs" for s in top_first], upper=f"{self._tmp.name}/fs",
                              work=f"{self._tmp.name}/work", merged=merged, cwd=self._owner.root)
            return merged
        features = self._owner.features
        absolute = ":".join(str(s.diff) for s in top_first)
        options = f"lowerdir={absolute},upperdir={self.upper},workdir={work},{features}"
        if len(options) < PAGE_SIZE and not any(c in str(self._owner.root) for c in _OPTION_UNSAFE):
            mount("overlay", merged, "overlay", options)
        else:
            relative = ":".join(f"{s.id}/fs" for s in top_first)
            short = f"lowerdir={relative},upperdir={self._tmp.name}/fs,workdir={self._tmp.name}/work,{features}"
            if len(short) >= PAGE_SIZE:
                raise StoreError(f"too many layers ({len(self.lowers)}) for one overlay mount",
                                 hint="squash the image or use fewer RUN/COPY steps")
            mount("overlay", merged, "overlay", short, cwd=self._owner.root)
        return merged

    def unmount(self) -> None:
        if self._mounted is not None and self._mounted != self.upper and self._owner.overlay:
            try:
                unmount(self._mounted)
            except StoreError:
                unmount(self._mounted, lazy=True)
            self._remount = True
        self._mounted = None

    def commit(self) -> Snapshot:
        """Make the upperdir a committed snapshot, atomically; the rootfs is unmounted first."""
        if self.done:
            raise StoreError(f"snapshot {self.id} was already committed or aborted")
        if self._copy_state is not None and self._mounted is not None:
            copydiff.diff(self._copy_state, self._mounted, self.upper)
        self.unmount()
        final = self._owner.root / self.id
        os.rename(self._tmp, final)
        self.done = True
        leftover = self._copy if self._copy_state is not None else None
        return self._owner._committed(Snapshot(self.id, self.parent, final / "fs"), leftover=leftover)

    def abort(self) -> None:
        if self.done:
            return
        self.done = True
        with contextlib.suppress(StoreError):
            self.unmount()
        shutil.rmtree(self._tmp, ignore_errors=True)
        shutil.rmtree(self._copy, ignore_errors=True)

    def __enter__(self) -> Active:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.abort()
