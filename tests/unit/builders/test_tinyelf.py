"""The exit(42) probe programs: well-formed ELF headers for every catalogue architecture."""

from __future__ import annotations

import struct

import pytest

from dockyard.builders import hostplatforms, tinyelf
from dockyard.platform import Platform

MACHINES = {"amd64": 62, "386": 3, "arm64": 183, "arm": 40, "ppc64le": 21, "s390x": 22, "riscv64": 243,
            "mips64le": 8, "loong64": 258}


@pytest.mark.parametrize("arch", sorted(MACHINES))
def test_header_matches_architecture(arch: str) -> None:
    program = tinyelf.exit_program(Platform("linux", arch))
    assert program is not None
    assert program[:4] == b"\x7fELF"
    is64, big = program[4] == 2, program[5] == 2
    assert is64 == (arch not in ("386", "arm"))
    assert big == (arch == "s390x")
    e = ">" if big else "<"
    e_type, e_machine = struct.unpack_from(f"{e}HH", program, 16)
    assert (e_type, e_machine) == (2, MACHINES[arch])
    if is64:
        entry, phoff = struct.unpack_from(f"{e}QQ", program, 24)
        p_type, p_flags, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(f"{e}IIQQQQ", program, phoff)
    else:
        entry, phoff = struct.unpack_from(f"{e}II", program, 24)
        p_type, p_offset, p_vaddr, _, p_filesz, _, p_flags = struct.unpack_from(f"{e}IIIIIII", program, phoff)
    assert (p_type, p_flags, p_offset, p_filesz) == (1, 5, 0, len(program))
    assert p_vaddr < entry < p_vaddr + len(program)


def test_every_catalogue_platform_has_a_program() -> None:
    assert all(tinyelf.exit_program(p) is not None for p in hostplatforms.CATALOGUE)
    assert tinyelf.exit_program(Platform("linux", "sparc64")) is None
