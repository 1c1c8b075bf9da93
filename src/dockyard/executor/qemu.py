"""binfmt_misc registration of qemu-user-static, so foreign-architecture binaries just run.

Debian's qemu-user-static ships handler definitions (/usr/lib/binfmt.d/qemu-*.conf) but
registers nothing without systemd-binfmt, which machines like CI containers lack. dockyard
registers them itself, always with the F ("fix binary") flag: the kernel opens the
interpreter at registration, so it works inside containers and chroots.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import HostError
from dockyard.rootless.mode import is_rootless

BINFMT = Path("/proc/sys/fs/binfmt_misc")
DEFINITIONS = Path("/usr/lib/binfmt.d")

# OCI architecture -> qemu's name for it (the suffix of qemu-NAME-static and of the handler).
QEMU_ARCH = {
    "amd64": "x86_64",
    "arm64": "aarch64",
    "arm": "arm",
    "386": "i386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "mips64le": "mips64el",
    "loong64": "loongarch64",
}

# The kernel's machine name -> OCI architecture, to know what runs natively.
_NATIVE = {"x86_64": {"amd64", "386"}, "aarch64": {"arm64", "arm"}}


@dataclass(frozen=True)
class Emulator:
    """What the kernel can do for one foreign architecture."""

    arch: str  # OCI name, e.g. arm64
    handler: str  # binfmt handler name, e.g. qemu-aarch64
    registered: bool
    flags: str
    interpreter: str | None
    installed: bool  # a definition and interpreter exist on disk


def native_architectures() -> set[str]:
    """OCI architectures this kernel runs without emulation."""
    machine = platform.machine()
    return _NATIVE.get(machine, {machine})


def _handler_state(handler: str) -> tuple[bool, str, str | None]:
    path = BINFMT / handler
    try:
        text = path.read_text()
    except OSError:
        return False, "", None
    enabled = text.splitlines()[0].strip() == "enabled" if text else False
    flags = interpreter = ""
    for line in text.splitlines():
        if line.startswith("flags:"):
            flags = line.split(":", 1)[1].strip()
        elif line.startswith("interpreter"):
            interpreter = line.split(None, 1)[1].strip()
    return enabled, flags, interpreter or None


def _definition(handler: str) -> str | None:
    conf = DEFINITIONS / f"{handler}.conf"
    try:
        lines = conf.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f":{handler}:"):
            return line.strip()
    return None


def mount_binfmt() -> None:
    """Mount binfmt_misc when the host has not (needs root)."""
    if (BINFMT / "register").exists():
        return
    try:
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=True,
                       capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise HostError(
            f"cannot mount binfmt_misc on {BINFMT}: {getattr(exc, 'stderr', '') or exc}".strip(),
            hint="run as root, or ask the host to mount binfmt_misc",
        ) from exc


def status(arch: str) -> Emulator:
    """The emulation state of one OCI architecture (e.g. ``arm64``)."""
    name = QEMU_ARCH.get(arch, arch)
    handler = f"qemu-{name}"
    registered, flags, interpreter = _handler_state(handler)
    definition = _definition(handler)
    installed = definition is not None and Path(definition.split(":")[-2]).exists()
    return Emulator(arch, handler, registered, flags, interpreter, installed)


def can_run(arch: str) -> bool:
    """True when binaries of ``arch`` run here, natively or through a registered F handler."""
    if arch in native_architectures():
        return True
    emu = status(arch)
    return emu.registered and "F" in emu.flags


def unregistered_error(arch: str) -> HostError:
    """What a rootless build says when ``arch`` has no F handler: registering needs root, once per boot."""
    emu = status(arch)
    state = "registered without the F flag" if emu.registered else "not registered"
    return HostError(
        f"cannot run {arch} binaries: {emu.handler} is {state} in {BINFMT}, and only root can register it",
        hint="as root, once per boot: dockyard inspect --bootstrap (or the distribution's package: "
        "apt-get install qemu-user-static binfmt-support); every user's builds can then emulate it")


def ensure(arch: str) -> Emulator:
    """Make ``arch`` runnable: register its qemu handler with the F flag if needed.

    Idempotent; a handler registered without F (or with another interpreter) is replaced.
    A rootless process cannot register anything (binfmt_misc belongs to the host's root):
    it only checks, and says what root must run once.
    """
    if arch in native_architectures():
        return Emulator(arch, "native", True, "", None, True)
    if is_rootless():
        if not can_run(arch):
            raise unregistered_error(arch)
        return status(arch)
    mount_binfmt()
    emu = status(arch)
    definition = _definition(emu.handler)
    if definition is None:
        raise HostError(
            f"no qemu emulator for {arch}: {DEFINITIONS / (emu.handler + '.conf')} is missing",
            hint="install it: apt-get install qemu-user-static",
        )
    fields = definition.split(":")
    interpreter, flags = fields[-2], fields[-1]
    if not Path(interpreter).exists():
        raise HostError(f"qemu interpreter {interpreter} is missing",
                        hint="apt-get install --reinstall qemu-user-static")
    if "F" not in flags:
        fields[-1] = flags + "F"
    if emu.registered and "F" in emu.flags and emu.interpreter == interpreter:
        return emu
    status_file = BINFMT / "status"
    with contextlib.suppress(OSError):
        if status_file.read_text().strip() != "enabled":
            status_file.write_text("1")
    try:
        if (BINFMT / emu.handler).exists():
            (BINFMT / emu.handler).write_text("-1")
        fd = os.open(BINFMT / "register", os.O_WRONLY)
        try:
            os.write(fd, ":".join(fields).encode())
        finally:
            os.close(fd)
    except OSError as exc:
        raise HostError(
            f"cannot register {emu.handler} in binfmt_misc: {exc.strerror}",
            hint="registering emulators needs root (CAP_SYS_ADMIN)",
        ) from exc
    return status(arch)


def installed() -> list[str]:
    """OCI architectures qemu-user-static can emulate here (definition and interpreter on disk).

    Native architectures are left out; the order is QEMU_ARCH's, which is stable.
    """
    native = native_architectures()
    return [arch for arch in QEMU_ARCH if arch not in native and status(arch).installed]
