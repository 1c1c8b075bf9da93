"""Which platforms this machine can build for, natively and through qemu, in buildx's order.

Native platforms come from the kernel's machine name, and for amd64 from the x86-64
psABI micro-architecture levels the CPU supports (read from /proc/cpuinfo flags): an
image built for ``linux/amd64/v3`` may use AVX2, so a node may only claim v3 when the
CPU has every v3 feature. Emulated platforms are those qemu-user-static ships a handler
for. The order is fixed (native first, then the list below) so ``ls`` and ``inspect``
read the same on every machine.
"""

from __future__ import annotations

import platform as _stdlib_platform
from pathlib import Path

from dockyard.executor import qemu
from dockyard.platform import Platform

# x86-64 psABI levels: the CPU features (as /proc/cpuinfo names them) each level adds.
AMD64_LEVELS: dict[str, frozenset[str]] = {
    "v2": frozenset({"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"}),
    "v3": frozenset({"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}),
    "v4": frozenset({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}),
}

# Display order of every platform dockyard knows how to serve, and the OCI architecture
# whose emulator (or native support) provides it.
CATALOGUE: tuple[Platform, ...] = tuple(Platform.parse(p) for p in (
    "linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/amd64/v4", "linux/386",
    "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/ppc64le", "linux/s390x",
    "linux/riscv64", "linux/mips64le", "linux/loong64",
))


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The feature flags of the first CPU (all CPUs of a machine share them)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def amd64_levels(flags: frozenset[str]) -> list[str]:
    """The micro-architecture levels above v1 that ``flags`` cover, in order (each needs the previous)."""
    levels: list[str] = []
    for level, needed in AMD64_LEVELS.items():
        if not needed <= flags:
            break
        levels.append(level)
    return levels


def native_platforms(*, machine: str | None = None, flags: frozenset[str] | None = None) -> list[Platform]:
    """Platforms whose binaries this CPU runs directly, best first."""
    host = Platform.normalized("linux", machine or _stdlib_platform.machine())
    out = [host]
    if host.architecture == "amd64":
        levels = amd64_levels(cpu_flags() if flags is None else flags)
        out += [Platform("linux", "amd64", level) for level in levels]
        out.append(Platform.parse("linux/386"))
    elif host.architecture == "arm64":
        out += [Platform.parse("linux/arm/v7"), Platform.parse("linux/arm/v6")]
    return out


def emulated_platforms(architectures: list[str]) -> list[Platform]:
    """The platforms qemu provides for the given OCI architectures, in catalogue order."""
    wanted = set(architectures)
    # qemu's x86-64 CPU model is not promised to cover v2+, so only the baseline is offered.
    return [p for p in CATALOGUE if p.architecture in wanted and not (p.architecture == "amd64" and p.variant)]


def order(platforms: list[Platform], *, native: list[Platform]) -> list[Platform]:
    """Native first (in the order given), then catalogue order, then anything else by name."""
    rank = {p: i for i, p in enumerate(CATALOGUE)}
    rest = sorted((p for p in platforms if p not in native), key=lambda p: (rank.get(p, len(rank)), str(p)))
    return [p for p in native if p in platforms] + rest


def installed_emulated() -> list[Platform]:
    """Every foreign platform qemu-user-static can provide on this machine."""
    return emulated_platforms(qemu.installed())
