"""Native platforms from the CPU (x86-64 psABI levels) and the fixed display order."""

from __future__ import annotations

from pathlib import Path

from dockyard.builders import hostplatforms
from dockyard.platform import Platform

V2 = {"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"}
V3 = {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}
V4 = {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}


def _names(ps: list[Platform]) -> list[str]:
    return [str(p) for p in ps]


def test_amd64_levels_need_every_flag_of_each_level() -> None:
    assert hostplatforms.amd64_levels(frozenset({"sse2"})) == []
    assert hostplatforms.amd64_levels(frozenset(V2)) == ["v2"]
    assert hostplatforms.amd64_levels(frozenset(V2 | V3)) == ["v2", "v3"]
    assert hostplatforms.amd64_levels(frozenset(V2 | V3 | V4)) == ["v2", "v3", "v4"]
    assert hostplatforms.amd64_levels(frozenset((V2 | V3) - {"avx2"})) == ["v2"]
    assert hostplatforms.amd64_levels(frozenset(V3 | V4)) == []  # a level needs the one below


def test_native_platforms_by_machine() -> None:
    assert _names(hostplatforms.native_platforms(machine="x86_64", flags=frozenset(V2 | V3))) == [
        "linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/386"]
    assert _names(hostplatforms.native_platforms(machine="aarch64", flags=frozenset())) == [
        "linux/arm64", "linux/arm/v7", "linux/arm/v6"]


def test_cpu_flags_reads_the_first_flags_line(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx\n\nprocessor\t: 1\nflags\t\t: other\n")
    assert hostplatforms.cpu_flags(info) == frozenset({"fpu", "sse2", "avx"})
    assert hostplatforms.cpu_flags(tmp_path / "missing") == frozenset()


def test_emulated_platforms_follow_catalogue_order() -> None:
    got = hostplatforms.emulated_platforms(["riscv64", "arm", "arm64", "amd64"])
    assert _names(got) == ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/riscv64"]


def test_order_puts_native_first_then_catalogue() -> None:
    ps = [Platform.parse(p) for p in ("linux/s390x", "linux/arm64", "linux/amd64", "linux/386")]
    native = [Platform.parse("linux/amd64"), Platform.parse("linux/386")]
    assert _names(hostplatforms.order(ps, native=native)) == [
        "linux/amd64", "linux/386", "linux/arm64", "linux/s390x"]
