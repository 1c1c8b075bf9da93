"""The local node: builds run on this machine, with runc, overlayfs and qemu-user.

There is no daemon to start, so "bootstrapping" the node means proving that everything a
build will need works now, instead of failing half-way through a build: the OCI runtime
answers, an overlay mount succeeds, qemu handlers are registered (with the F flag) for
the foreign platforms wanted, each platform runs a real binary, and the store exists.
The result is kept in the builder record, so ``ls`` reads it without probing again.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard import __version__
from dockyard.builders import hostplatforms, probe
from dockyard.builders.node import PlatformSupport
from dockyard.builders.recorded import RecordedNode
from dockyard.builders.records import BootRecord, now
from dockyard.errors import DockyardError, HostError
from dockyard.executor import qemu
from dockyard.executor.rootless import describe_sandbox
from dockyard.hosttools import tool_version
from dockyard.platform import Platform
from dockyard.rootless import mode, network
from dockyard.store.snapshots import Snapshotter

if TYPE_CHECKING:
    from dockyard import progress
    from dockyard.engine.solverequest import SolveReply, SolveRequest
    from dockyard.registry.client import Client


@dataclass(frozen=True)
class LocalNode(RecordedNode):
    """A node on this machine; ``root`` is its store (content, snapshots, cache)."""

    root: Path

    def store_root(self) -> Path:
        return self.root

    def solve(self, request: SolveRequest, *, client: Client,
              listener: progress.Listener | None = None) -> SolveReply:
        """Solve ``request`` in this node's store (the :class:`~dockyard.engine.solverequest.Solver` seam)."""
        from dockyard.engine.solve import solve  # the engine loads only when this node builds

        return solve(request, root=self.root, client=client, listener=listener)

    def status(self) -> str:
        """``stopped`` after ``dockyard stop``; ``inactive`` until bootstrapped, or when what the
        bootstrap set up is gone (the store was deleted, an emulator unregistered by a reboot)."""
        if self.record.stopped:
            return "stopped"
        boot = self.record.boot
        if boot is None or not self.root.is_dir():
            return "inactive"
        if any(s.emulated and not qemu.can_run(s.platform.architecture) for s in boot.platforms):
            return "inactive"
        return "running"

    def platforms(self) -> Sequence[PlatformSupport]:
        """What the last bootstrap proved (also while stopped); before one, or when what it set up is
        gone, what the host offers right now (unverified)."""
        if self.record.boot is not None and self.status() in ("running", "stopped"):
            return self.record.boot.platforms
        native = hostplatforms.native_platforms()
        offered = [PlatformSupport(p, verified=False, detail="native") for p in native]
        emulated = [p for p in hostplatforms.installed_emulated() if qemu.can_run(p.architecture)]
        offered += [PlatformSupport(p, emulated=True, detail=qemu.status(p.architecture).handler) for p in emulated]
        if self.record.platforms:
            # Configured platforms are served, whether or not an emulator is registered yet.
            known = {s.platform: s for s in offered}
            return [known.get(p) or PlatformSupport(p, emulated=p not in native, detail="not bootstrapped")
                    for p in self.record.platforms]
        return offered

    def bootstrap(self) -> BootRecord:
        """Check runtime and overlayfs, register emulators, verify every platform, create the store."""
        start = time.monotonic()
        runtime = check_runtime()
        self.root.mkdir(parents=True, exist_ok=True)
        native = hostplatforms.native_platforms()
        with ThreadPoolExecutor(max_workers=4) as pool:
            # The overlay probe mostly waits on the kernel's unmount; let it overlap the rest.
            overlay = pool.submit(check_overlay, self.root)
            if self.record.platforms:
                wanted = list(self.record.platforms)
                foreign = [p for p in wanted if p not in native]
                for arch in dict.fromkeys(p.architecture for p in foreign):
                    qemu.ensure(arch)  # a HostError here names qemu-user-static
            else:
                wanted = native + register_all()
            supports = list(pool.map(lambda p: _verify(p, native=native), wanted))
            overlay.result()
        snapshotter = Snapshotter(self.root / "snapshots")
        try:
            kind = snapshotter.kind
        finally:
            snapshotter.close()
        failed = [s for s in supports if s.detail.startswith("FAILED")]
        if failed and self.record.platforms:
            bad = failed[0]
            raise HostError(f"{bad.platform} does not run on node {self.name}: {bad.detail}",
                            hint="apt-get install --reinstall qemu-user-static, then 'dockyard inspect --bootstrap'")
        served = tuple(s for s in supports if s not in failed)
        return BootRecord(at=now(), platforms=served, runtime=runtime, version=__version__,
                          seconds=round(time.monotonic() - start, 3), mode=mode.describe(), snapshotter=kind,
                          network=network.describe() if mode.is_rootless() else "host",
                          sandbox=describe_sandbox() if mode.is_rootless() else "")


def check_runtime() -> str:
    """``runc 1.1.5`` (or crun's) after proving the runtime answers; HostError naming the package."""
    for name in ("runc", "crun"):
        version = tool_version([name, "--version"])
        if version is None:
            continue
        try:
            probe_out = subprocess.run([name, "features"] if name == "runc" else [name, "--version"],
                                       capture_output=True, text=True, timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HostError(f"{name} does not run: {exc}", hint=f"apt-get install --reinstall {name}") from exc
        if probe_out.returncode != 0:
            first = (probe_out.stderr.strip().splitlines() or ["no output"])[0]
            raise HostError(f"{name} does not work: {first}", hint=f"apt-get install --reinstall {name}")
        return f"{name} {version}"
    raise HostError("no OCI runtime found: runc is not installed", hint="install it: apt-get install runc")


def check_overlay(store: Path) -> None:
    """Mount and unmount a tiny overlay inside the store (as root), so snapshot mounts will work.

    Rootless, the snapshotter's own probe decides (overlayfs with userxattr, else copy).
    """
    if mode.is_rootless():
        if "overlay" not in Path("/proc/filesystems").read_text():
            raise HostError("overlayfs is not available in this kernel", hint="modprobe overlay")
        return
    with tempfile.TemporaryDirectory(dir=store, prefix=".overlay-probe-") as tmp:
        lower, upper, work, merged = (Path(tmp) / d for d in ("lower", "upper", "work", "merged"))
        for d in (lower, upper, work, merged):
            d.mkdir()
        (lower / "probe").write_text("ok")
        opts = f"lowerdir={lower},upperdir={upper},workdir={work}"
        out = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(merged)],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise HostError(f"overlayfs mount failed in {store}: {out.stderr.strip() or out.returncode}",
                            hint="the store needs a filesystem overlayfs can use as upper (ext4, xfs); "
                            "try 'modprobe overlay' or set DOCKYARD_ROOT elsewhere")
        try:
            ok = (merged / "probe").read_text() == "ok"
        finally:
            # Lazy detach: a plain umount may wait ~0.3 s for the kernel to settle; nothing else uses it.
            subprocess.run(["umount", "-l", str(merged)], capture_output=True, check=False)
        if not ok:
            raise HostError(f"overlayfs mount in {store} does not show its lower layer")


def register_all() -> list[Platform]:
    """Register every emulator qemu-user-static ships (as root) and return the platforms that now run."""
    out: list[Platform] = []
    for arch in qemu.installed():
        if not qemu.can_run(arch):
            try:
                qemu.ensure(arch)
            except DockyardError:
                continue  # not root, or a broken definition: the platform is simply not offered
        out += [p for p in hostplatforms.emulated_platforms([arch]) if qemu.can_run(arch)]
    return hostplatforms.order(out, native=[])


def _verify(platform: Platform, *, native: list[Platform]) -> PlatformSupport:
    emulated = platform not in native
    how = qemu.status(platform.architecture).handler if emulated else "native"
    if platform.architecture == "amd64" and platform.variant:
        if emulated:
            return PlatformSupport(platform, verified=False, detail=f"FAILED: this CPU lacks the {platform.variant} "
                                   "features and qemu does not offer them")
        return PlatformSupport(platform, verified=True, detail="native, CPU has the " + platform.variant + " features")
    result = probe.verify(platform)
    if result.verified is None:
        return PlatformSupport(platform, emulated=emulated, verified=False, detail=f"{how}, {result.detail}")
    if not result.verified:
        return PlatformSupport(platform, emulated=emulated, verified=False, detail=f"FAILED ({how}): {result.detail}")
    return PlatformSupport(platform, emulated=emulated, verified=True, detail=f"{how}, {result.detail}")
