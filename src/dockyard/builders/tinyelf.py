"""Hand-assembled static ELF programs that only ``exit(42)``, one per architecture.

busybox-static .debs are at hand only for the architectures ``scripts/setup`` downloads.
To still prove that an emulated platform runs code (the binfmt handler is registered,
qemu starts, the instructions execute), bootstrap runs one of these: a 130-byte program
whose only effect is the exit status 42, which nothing else (a missing interpreter, an
"exec format error", a crash) produces. Three instructions per architecture, encoded
below with the ABI's exit syscall number.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from dockyard.platform import Platform

EXIT_CODE = 42


@dataclass(frozen=True)
class _Target:
    """What an ELF probe needs for one architecture: its header fields and its few instructions."""

    bits: int
    big_endian: bool
    machine: int  # e_machine
    flags: int  # e_flags
    code: bytes


def _words(*words: int, big: bool = False) -> bytes:
    return b"".join(struct.pack(">I" if big else "<I", w) for w in words)


_TARGETS = {
    # mov edi,42; mov eax,60 (exit); syscall
    "amd64": _Target(64, False, 62, 0, bytes.fromhex("bf2a000000" "b83c000000" "0f05")),
    # mov ebx,42; mov eax,1 (exit); int 0x80
    "386": _Target(32, False, 3, 0, bytes.fromhex("bb2a000000" "b801000000" "cd80")),
    # movz x0,#42; movz x8,#93 (exit); svc #0
    "arm64": _Target(64, False, 183, 0, _words(0xD2800540, 0xD2800BA8, 0xD4000001)),
    # mov r0,#42; mov r7,#1 (exit); svc #0   (EABI version 5)
    "arm": _Target(32, False, 40, 0x05000000, _words(0xE3A0002A, 0xE3A07001, 0xEF000000)),
    # li r3,42; li r0,1 (exit); sc   (ELFv2 ABI)
    "ppc64le": _Target(64, False, 21, 2, _words(0x3860002A, 0x38000001, 0x44000002)),
    # lghi %r2,42; svc 1 (exit)
    "s390x": _Target(64, True, 22, 0, bytes.fromhex("a729002a" "0a01")),
    # addi a0,zero,42; addi a7,zero,93 (exit); ecall
    "riscv64": _Target(64, False, 243, 0, _words(0x02A00513, 0x05D00893, 0x00000073)),
    # addiu a0,zero,42; addiu v0,zero,5058 (n64 exit); syscall
    "mips64le": _Target(64, False, 8, 0x80000007, _words(0x2404002A, 0x240213C2, 0x0000000C)),
    # addi.w a0,zero,42; addi.w a7,zero,93 (exit); syscall 0
    "loong64": _Target(64, False, 258, 0x43, _words(0x0280A804, 0x0281740B, 0x002B0000)),
}


def exit_program(platform: Platform) -> bytes | None:
    """The ELF executable for ``platform``'s architecture, or None when we have no encoding."""
    t = _TARGETS.get(platform.architecture)
    if t is None:
        return None
    e = ">" if t.big_endian else "<"
    ident = b"\x7fELF" + bytes([2 if t.bits == 64 else 1, 2 if t.big_endian else 1, 1]) + bytes(9)
    if t.bits == 64:
        base, ehsize, phsize = 0x400000, 64, 56
        entry = base + ehsize + phsize
        size = ehsize + phsize + len(t.code)
        header = ident + struct.pack(f"{e}HHIQQQIHHHHHH", 2, t.machine, 1, entry, ehsize, 0, t.flags,
                                     ehsize, phsize, 1, 0, 0, 0)
        phdr = struct.pack(f"{e}IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    else:
        base, ehsize, phsize = 0x10000, 52, 32
        entry = base + ehsize + phsize
        size = ehsize + phsize + len(t.code)
        header = ident + struct.pack(f"{e}HHIIIIIHHHHHH", 2, t.machine, 1, entry, ehsize, 0, t.flags,
                                     ehsize, phsize, 1, 0, 0, 0)
        phdr = struct.pack(f"{e}IIIIIIII", 1, 0, base, base, size, size, 5, 0x1000)
    return header + phdr + t.code
