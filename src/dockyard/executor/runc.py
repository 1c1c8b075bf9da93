"""Running a step with an OCI runtime: runc by default, crun where a probe shows it works.

A step costs one ``runc run`` (~34 ms here) plus what we add, so we add little: the
bundle is a config.json in a fresh directory whose ``root.path`` points at the mounted
snapshot (nothing is copied) and that lives on a private tmpfs (it holds the values of
``env=`` secrets, which must never reach a disk); one tmpfs serves every step of the
executor (mounting and unmounting one per step measured ~8 ms a step), each step's
directory is deleted when the step ends and the tmpfs when the executor is closed
(or, after kill -9, by the next command's reclaim); there is no cgroup or network configuration beyond the
namespaces, and no session keyring. Output is read from two pipes with a selector and
handed over line by line. Any exception while the container runs (Ctrl-C included) kills
and deletes the container before it propagates, so no container outlives its step.

Foreign platforms run through qemu-user: :func:`dockyard.executor.qemu.ensure` registers
the handler with the F flag first, which lets the kernel run foreign binaries inside the
container without qemu in the rootfs.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import selectors
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from dockyard.errors import HostError
from dockyard.executor import qemu
from dockyard.executor.base import TAIL_LINES, OutputCallback, RunRequest, RunResult
from dockyard.executor.rootless import RootlessSandbox
from dockyard.executor.spec import mount_targets, runtime_spec
from dockyard.executor.stubs import missing_targets, remove_stubs
from dockyard.executor.user import resolve_user
from dockyard.hosttools import require_tool
from dockyard.oci.rootpath import resolve
from dockyard.paths import data_root
from dockyard.rootless.mode import is_rootless
from dockyard.store.owner import alive
from dockyard.store.tmpfs import private_tmpfs

_probe_lock = threading.Lock()
_runtime_choice: dict[str, str] = {}  # "runtime" -> path, filled once per process
_ensured: set[str] = set()


def _probe_crun(crun: str) -> bool:
    """Whether crun can run a container on this host (it cannot on hybrid cgroup hosts).

    The probe runs the host's /bin/true in a rootfs made of read-only binds of /usr
    (merged-/usr layout), so it needs no image.
    """
    with tempfile.TemporaryDirectory(prefix="dockyard-crun-probe-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        rootfs.mkdir()
        for name in ("bin", "lib", "lib64", "sbin"):
            (rootfs / name).symlink_to(f"usr/{name}")
        request = RunRequest(rootfs=rootfs, args=["/usr/bin/true"])
        config = runtime_spec(request, rootfs=rootfs, user=resolve_user(rootfs, ""))
        config["mounts"].append({"destination": "/usr", "type": "bind", "source": "/usr",
                                 "options": ["rbind", "ro"]})
        (Path(tmp) / "config.json").write_text(json.dumps(config))
        ident = f"dockyard-probe-{os.getpid()}-{os.urandom(4).hex()}"
        try:
            proc = subprocess.run([crun, "run", "--bundle", tmp, ident], capture_output=True, timeout=20,
                                  check=False, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return False
        finally:
            subprocess.run([crun, "delete", "-f", ident], capture_output=True, check=False)
        return proc.returncode == 0


def choose_runtime() -> str:
    """The runtime binary to use: $DOCKYARD_RUNTIME, else crun if its probe passes, else runc."""
    with _probe_lock:
        if "runtime" not in _runtime_choice:
            wanted = os.environ.get("DOCKYARD_RUNTIME")
            crun = shutil.which("crun")
            if wanted:
                chosen = require_tool(wanted, package=wanted)
            elif crun is not None and _probe_crun(crun):
                chosen = crun
            else:
                chosen = require_tool("runc", package="runc")
            _runtime_choice["runtime"] = chosen
        return _runtime_choice["runtime"]


def _ensure_platform(request: RunRequest) -> None:
    if request.platform is None:
        return
    arch = request.platform.architecture
    with _probe_lock:
        if arch in _ensured:
            return
    if not qemu.can_run(arch):
        qemu.ensure(arch)
        if not qemu.can_run(arch):
            raise HostError(f"cannot run {request.platform} binaries on this host",
                            hint="install qemu-user-static and run dockyard as root to register it")
    with _probe_lock:
        _ensured.add(arch)


class _LineSplitter:
    """Turns pipe chunks into lines for the callback and the kept tail."""

    def __init__(self, stream: int, on_output: OutputCallback | None, tail: collections.deque[str]) -> None:
        self.stream = stream
        self.on_output = on_output
        self.tail = tail
        self.pending = b""

    def feed(self, data: bytes) -> None:
        self.pending += data
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            self._emit(line)

    def close(self) -> None:
        if self.pending:
            self._emit(self.pending)
            self.pending = b""

    def _emit(self, line: bytes) -> None:
        line = line.removesuffix(b"\r")
        self.tail.append(line.decode("utf-8", errors="replace"))
        if self.on_output is not None:
            self.on_output(self.stream, line)


def _pump(proc: subprocess.Popen[bytes], on_output: OutputCallback | None, tail: collections.deque[str]) -> None:
    assert proc.stdout is not None and proc.stderr is not None
    splitters: dict[int, _LineSplitter] = {
        proc.stdout.fileno(): _LineSplitter(1, on_output, tail),
        proc.stderr.fileno(): _LineSplitter(2, on_output, tail),
    }
    with selectors.DefaultSelector() as selector:
        for pipe in splitters:
            selector.register(pipe, selectors.EVENT_READ)
        open_pipes = len(splitters)
        while open_pipes:
            for key, _ in selector.select():
                pipe = key.fd
                data = os.read(pipe, 65536)
                splitter = splitters[pipe]
                if data:
                    splitter.feed(data)
                else:
                    splitter.close()
                    selector.unregister(pipe)
                    open_pipes -= 1


class RuncExecutor:
    """Runs :class:`RunRequest` s in runc (or crun); one instance can serve concurrent steps."""

    def __init__(self, *, runtime: str | None = None, state_dir: str | os.PathLike[str] | None = None,
                 rootless: bool | None = None) -> None:
        self._runtime = runtime
        self._state_dir = Path(state_dir) if state_dir is not None else None
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._running_lock = threading.Lock()
        self._bundles = contextlib.ExitStack()  # the private tmpfs holding the steps' bundles
        self._bundle_root: Path | None = None
        # rootless (None: when this process is not real root) adapts runc's flags, requests and specs
        self._sandbox = RootlessSandbox(self._work) if (is_rootless() if rootless is None else rootless) else None

    @property
    def _work(self) -> Path:
        return (self._state_dir or data_root() / "run").absolute()

    @property
    def _command(self) -> list[str]:
        """The runtime and its global options (rootless: its own state root)."""
        return [self.runtime, *(self._sandbox.runtime_args() if self._sandbox is not None else ())]

    def close(self) -> None:
        """Release what the executor made for the build (bundles' tmpfs, rootless network namespace)."""
        with self._running_lock:
            self._bundle_root = None
            self._bundles.close()
        if self._sandbox is not None:
            self._sandbox.close()

    def _new_bundle(self) -> Path:
        """A fresh directory for one step's bundle on the executor's private tmpfs."""
        with self._running_lock:
            if self._bundle_root is None:
                self._bundle_root = self._bundles.enter_context(private_tmpfs(self._work, "bundle"))
            return Path(tempfile.mkdtemp(prefix="step-", dir=self._bundle_root))

    def kill_running(self) -> None:
        """Kill every container this executor is running (a cancelled build)."""
        with self._running_lock:
            running = list(self._running.items())
        for ident, proc in running:
            self._kill(ident, proc)

    @property
    def runtime(self) -> str:
        if self._runtime is None:
            self._runtime = choose_runtime()
        return self._runtime

    def reap_stale(self) -> list[str]:
        """Delete the containers of dockyard processes that died (kill -9) mid-step; their ids.

        Container ids carry the pid of the process that ran them, so a container whose
        process is gone can only be a leftover. The store's reclaim calls this when it finds
        a dead process's bundle (:mod:`dockyard.store.reclaim`).
        """
        try:
            proc = subprocess.run([*self._command, "list", "--format", "json"], capture_output=True, text=True,
                                  timeout=30, check=False)
            listed = json.loads(proc.stdout or "null") or []
        except (OSError, subprocess.SubprocessError, json.JSONDecodeError):
            return []
        stale = []
        for item in listed:
            parts = str(item.get("id", "")).split("-")
            if len(parts) == 3 and parts[0] == "dockyard" and parts[1].isdigit() and not alive(int(parts[1])):
                stale.append(item["id"])
        for ident in stale:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run([*self._command, "delete", "-f", ident], capture_output=True, timeout=30,
                               check=False)
        return stale

    def run(self, request: RunRequest, *, on_output: OutputCallback | None = None) -> RunResult:
        started = time.monotonic()
        _ensure_platform(request)
        if self._sandbox is not None:
            request = self._sandbox.request(request)
        rootfs = request.rootfs
        user = resolve_user(rootfs, request.user)
        # a missing working directory is made and kept (as Docker does); mount stubs are not kept
        resolve(rootfs, request.cwd or "/", create_dirs=True)
        stubs = missing_targets(rootfs, mount_targets(request))
        config = runtime_spec(request, rootfs=rootfs, user=user)
        if self._sandbox is not None:
            config = self._sandbox.spec(config, request)
        ident = f"dockyard-{os.getpid()}-{os.urandom(6).hex()}"
        tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        # the bundle holds config.json, and with it the values of env= secrets: on a private tmpfs
        bundle = self._new_bundle()
        try:
            (bundle / "config.json").write_text(json.dumps(config))
            argv = [*self._command, "run", "--bundle", str(bundle), "--no-new-keyring", ident]
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, cwd=bundle, start_new_session=True)
            with self._running_lock:
                self._running[ident] = proc
            try:
                _pump(proc, on_output, tail)
                code = proc.wait()
            except BaseException:
                self._kill(ident, proc)
                raise
            finally:
                with self._running_lock:
                    self._running.pop(ident, None)
        finally:
            shutil.rmtree(bundle, ignore_errors=True)
            remove_stubs(stubs)
        return RunResult(exit_code=code, tail=tuple(tail), duration=time.monotonic() - started)

    def _kill(self, ident: str, proc: subprocess.Popen[bytes]) -> None:
        for argv in ([*self._command, "kill", ident, "KILL"], [*self._command, "delete", "-f", ident]):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(argv, capture_output=True, timeout=10, check=False)
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(subprocess.SubprocessError):
            proc.wait(timeout=10)
