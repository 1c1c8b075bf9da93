"""Network for RUN steps of a rootless build: one namespace, wired out by slirp4netns.

Steps that ask for no network get a fresh namespace from runc, as for root. The others
cannot share the build process's namespace the way root's steps do: it is the host's,
owned by the host's user namespace, where a rootless runc can neither mount sysfs nor
configure anything. Instead, the first such step starts a holder process in a new network
namespace (``unshare --net cat``, alive exactly as long as this process keeps its stdin
open) and attaches slirp4netns to it, which gives it a tap device, a default route and a
DNS forwarder at 10.0.2.3, and relays connections from user space through the host's
sockets. ``--disable-host-loopback`` keeps steps away from services on the host's
127.0.0.1, as BuildKit's rootless mode does. Later steps join the same namespace, so the
set-up cost (~50 ms) is paid once per build, not per step.

slirp4netns needs /dev/net/tun to be usable by the user (mode 0666, as udev makes it on
Debian). pasta (passt) would do the same job, but the Debian 12 build (2023-03-09) switches
to ``nobody`` when it finds itself uid 0 (as it is inside our namespace) and then cannot
open the namespaces it should join, so it is not used.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from dockyard.errors import HostError

RESOLV_CONF = "nameserver 10.0.2.3\n"  # slirp4netns's built-in DNS forwarder
READY_TIMEOUT = 10.0


def provider() -> str | None:
    """The tool that wires RUN steps' network namespace out (``slirp4netns``), or None when missing."""
    return shutil.which("slirp4netns")


def describe() -> str:
    """One line for ``inspect``: what a rootless RUN step's network is."""
    tool = provider()
    if tool is None:
        return "none (install slirp4netns for RUN steps with network)"
    if not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        return "none (/dev/net/tun is not usable by this user; slirp4netns needs it)"
    return "slirp4netns (one namespace per build, host loopback unreachable)"


class BuildNetwork:
    """The namespace networked RUN steps of this process join; started on first use."""

    def __init__(self, state_dir: Path) -> None:
        self._state_dir = state_dir
        self._lock = threading.Lock()
        self._holder: subprocess.Popen[bytes] | None = None
        self._slirp: subprocess.Popen[bytes] | None = None
        self._exit_w: int | None = None

    def available(self) -> bool:
        """Whether networked steps can run here (slirp4netns installed and /dev/net/tun usable)."""
        return provider() is not None and os.access("/dev/net/tun", os.R_OK | os.W_OK)

    def namespace(self) -> tuple[str, Path]:
        """The network namespace path to join and the resolv.conf to bind; starts them once."""
        with self._lock:
            if self._holder is None:
                self._start()
            assert self._holder is not None
            return f"/proc/{self._holder.pid}/ns/net", self._state_dir / "resolv.conf"

    def _start(self) -> None:
        slirp = provider()
        if slirp is None:
            raise HostError("RUN steps with network need slirp4netns in rootless mode",
                            hint="install it: apt-get install slirp4netns; or use RUN --network=none")
        self._state_dir.mkdir(parents=True, exist_ok=True)
        (self._state_dir / "resolv.conf").write_text(RESOLV_CONF)
        own = os.readlink("/proc/self/ns/net")
        holder = subprocess.Popen(["unshare", "--net", "--", "cat"], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._holder = holder
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{holder.pid}/ns/net") != own:
                    break
            if holder.poll() is not None or time.monotonic() > deadline:
                err = holder.stderr.read().decode(errors="replace").strip() if holder.stderr else ""
                self.close()
                raise HostError(f"cannot create a network namespace for RUN steps: {err or 'unshare failed'}")
            time.sleep(0.002)
        ready_r, ready_w = os.pipe()
        exit_r, self._exit_w = os.pipe()
        try:
            self._slirp = subprocess.Popen(
                [slirp, "--configure", "--mtu=65520", "--disable-host-loopback", f"--ready-fd={ready_w}",
                 f"--exit-fd={exit_r}", str(holder.pid), "tap0"],
                pass_fds=(ready_w, exit_r), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
        finally:
            os.close(ready_w)
            os.close(exit_r)
        try:
            ready = os.read(ready_r, 1)
        finally:
            os.close(ready_r)
        if ready != b"1":
            err = ""
            with contextlib.suppress(subprocess.TimeoutExpired):
                err = self._slirp.communicate(timeout=5)[1].decode(errors="replace").strip()
            self.close()
            raise HostError(f"slirp4netns failed: {err.splitlines()[-1] if err else 'no detail'}",
                            hint="it needs /dev/net/tun usable by this user (chmod 0666 /dev/net/tun as root, "
                            "or --device /dev/net/tun in a container); or use RUN --network=none")

    def close(self) -> None:
        """Stop slirp4netns and the holder (also happens by itself when this process exits)."""
        if self._exit_w is not None:
            os.close(self._exit_w)
            self._exit_w = None
        for proc in (self._slirp, self._holder):
            if proc is None:
                continue
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self._slirp = self._holder = None
