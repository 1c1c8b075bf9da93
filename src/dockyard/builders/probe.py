"""Proof that a platform really runs here: execute a small static binary built for it.

A registered binfmt handler is only a promise; a missing interpreter, a handler without
the F flag or a broken qemu shows up only when code runs. So bootstrap runs
``busybox uname -m`` from Debian's busybox-static for each platform it can find a .deb
for, and checks the machine name it prints; for the others it runs the tiny program of
:mod:`dockyard.builders.tinyelf` and checks its exit status. The .debs are looked up (never downloaded)
in $DOCKYARD_PROBE_DEBS (directories, ``:``-separated), the data root's ``probes/debs``,
apt's cache, and a source checkout's ``.cache/debs`` (where ``scripts/setup`` puts them);
the binary is extracted once into the data root.
"""

from __future__ import annotations

import errno
import io
import lzma
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dockyard.builders import tinyelf
from dockyard.paths import data_root
from dockyard.platform import Platform

# Debian's name for each platform's architecture.
DEB_ARCH = {
    "linux/amd64": "amd64", "linux/386": "i386", "linux/arm64": "arm64", "linux/arm/v7": "armhf",
    "linux/arm/v6": "armel", "linux/ppc64le": "ppc64el", "linux/s390x": "s390x", "linux/riscv64": "riscv64",
    "linux/mips64le": "mips64el", "linux/loong64": "loong64",
}

# What ``uname -m`` may print for each Debian architecture (a 32-bit x86 process on a
# 64-bit kernel sees x86_64; qemu-arm reports the CPU model it emulates).
MACHINES = {
    "amd64": {"x86_64"}, "i386": {"i686", "i386", "x86_64"}, "arm64": {"aarch64"},
    "armhf": {"armv7l", "armv8l"}, "armel": {"armv5tel", "armv6l", "armv7l"}, "ppc64el": {"ppc64le"},
    "s390x": {"s390x"}, "riscv64": {"riscv64"}, "mips64el": {"mips64"}, "loong64": {"loongarch64"},
}


@dataclass(frozen=True)
class ProbeResult:
    """``verified`` None means no binary was at hand; False means it ran and failed."""

    verified: bool | None
    detail: str


def deb_dirs() -> list[Path]:
    """Where busybox-static .debs are looked for, in order."""
    dirs = [Path(d) for d in os.environ.get("DOCKYARD_PROBE_DEBS", "").split(os.pathsep) if d]
    dirs += [data_root() / "probes" / "debs", Path("/var/cache/apt/archives")]
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file():
        dirs.append(checkout / ".cache" / "debs")
    return dirs


def find_binary(platform: Platform) -> Path | None:
    """A busybox for ``platform``, extracted from a .deb if needed; None when none is at hand."""
    arch = DEB_ARCH.get(str(platform.normal()))
    if arch is None:
        return None
    target = data_root() / "probes" / arch / "busybox"
    if target.is_file():
        return target
    for d in deb_dirs():
        for deb in sorted(d.glob(f"busybox-static_*_{arch}.deb")) if d.is_dir() else []:
            data = _member(deb.read_bytes(), "./bin/busybox")
            if data is not None:
                _install(target, data)
                return target
    return None


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a probe binary, retrying while the kernel says "Text file busy".

    Bootstrap probes platforms from several threads, each extracting its binary just before
    running it. A fork in another thread while this one still holds the new file open for
    writing gives the child a copy of that descriptor until it execs, and exec of a file
    open for writing fails with ETXTBSY; the window is short, so a retry succeeds (Go's
    os/exec retries the same way). Without it a native platform was dropped from the node
    about one bootstrap in six under load.
    """
    for attempt in range(20):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        except OSError as exc:
            if exc.errno != errno.ETXTBSY or attempt == 19:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def verify(platform: Platform) -> ProbeResult:
    """Run ``busybox uname -m`` for ``platform`` and check the machine name it reports."""
    binary = find_binary(platform)
    if binary is None:
        return _verify_tiny(platform)
    arch = DEB_ARCH[str(platform.normal())]
    try:
        out = _run([str(binary), "uname", "-m"])
    except OSError as exc:
        return ProbeResult(False, f"busybox ({arch}) did not start: {exc.strerror}")
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"busybox ({arch}) timed out")
    machine = out.stdout.strip()
    if out.returncode == 0 and machine in MACHINES[arch]:
        return ProbeResult(True, f"busybox uname -m: {machine}")
    return ProbeResult(False, f"busybox ({arch}) exited {out.returncode}: {(machine or out.stderr.strip())[:80]}")


def _verify_tiny(platform: Platform) -> ProbeResult:
    program = tinyelf.exit_program(platform)
    if program is None:
        return ProbeResult(None, "unverified: no test binary at hand")
    path = data_root() / "probes" / platform.architecture / "exit42"
    if not path.is_file() or path.read_bytes() != program:
        _install(path, program)
    try:
        out = _run([str(path)])
    except OSError as exc:
        return ProbeResult(False, f"{platform.architecture} test program did not start: {exc.strerror}")
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"{platform.architecture} test program timed out")
    if out.returncode == tinyelf.EXIT_CODE:
        return ProbeResult(True, f"ran a {len(program)}-byte {platform.architecture} program (exit {out.returncode})")
    return ProbeResult(False, f"{platform.architecture} test program exited {out.returncode}, not {tinyelf.EXIT_CODE}")


_install_lock = threading.Lock()


def _install(path: Path, data: bytes) -> None:
    """Write an executable atomically; one writer at a time, each with its own temporary name."""
    with _install_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        tmp.write_bytes(data)
        tmp.chmod(0o755)
        os.replace(tmp, path)


def _member(deb: bytes, name: str) -> bytes | None:
    """One file out of a .deb: an ar archive holding data.tar.{xz,gz,zst}."""
    if not deb.startswith(b"!<arch>\n"):
        return None
    pos = 8
    while pos + 60 <= len(deb):
        header = deb[pos:pos + 60]
        member = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = deb[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
        if not member.startswith("data.tar"):
            continue
        if member.endswith(".zst"):
            import zstandard

            raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body)).read()
        elif member.endswith(".xz"):
            raw = lzma.decompress(body)
        else:
            raw = body
        import tarfile  # only when a probe image is unpacked

        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as tar:
            for info in tar:
                if info.name in (name, name.lstrip("./"), name.lstrip(".")) and info.isfile():
                    f = tar.extractfile(info)
                    return f.read() if f else None
    return None
