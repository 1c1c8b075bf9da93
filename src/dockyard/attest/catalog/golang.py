"""Go modules compiled into ELF binaries: the build info ``go version -m`` prints.

Since Go 1.18 the linker writes a ``.go.buildinfo`` section that starts with the 14-byte magic
``\\xff Go buildinf:``, a pointer size, a flags byte (bit 2: strings inline) and, from byte 32,
two varint-prefixed strings: the Go version and the module info (``path``, ``mod``, ``dep``, ``=>``
lines between two 16-byte sentinels). The section is found by that magic, 16-byte aligned as the
linker places it, while the binary streams past (Go's debug/buildinfo does the same search
within the data segment); the whole binary is never held in memory. Binaries from Go before
1.18 keep the strings behind pointers and are not read (they are rare in images built today).
"""

from __future__ import annotations

import tarfile
from collections.abc import Mapping
from typing import IO

from dockyard.attest.catalog.osrelease import OsRelease
from dockyard.attest.imagefs import Reader
from dockyard.attest.packages import Package, purl

KIND = "golang"
MAGIC = b"\xff Go buildinf:"
ELF = b"\x7fELF"
_HEADER = 32
_KEEP = 1 << 16  # bytes kept after the magic: header, version and modinfo strings
_CHUNK = 1 << 20
_FLAG_INLINE = 0x2


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def decode(blob: bytes) -> tuple[str, str] | None:
    """(go version, module info) from bytes starting at the magic, or None if not build info."""
    if not blob.startswith(MAGIC) or len(blob) < _HEADER or blob[14] not in (4, 8) \
            or not blob[15] & _FLAG_INLINE:
        return None
    try:
        length, pos = _varint(blob, _HEADER)
        version = blob[pos:pos + length]
        length, pos = _varint(blob, pos + length)
        modinfo = blob[pos:pos + length]
    except ValueError:
        return None
    if not version.startswith(b"go") or len(modinfo) != length:
        return None
    if len(modinfo) >= 33 and modinfo[-17:-16] == b"\n":
        modinfo = modinfo[16:-16]
    return version.decode("utf-8", "replace"), modinfo.decode("utf-8", "replace")


def _find(stream: IO[bytes]) -> bytes | None:
    head = stream.read(4)
    if head != ELF:
        return None
    offset = 0  # file offset of buf[0]
    buf = head
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return None
        buf += chunk
        start = 0
        while (at := buf.find(MAGIC, start)) >= 0:
            if (offset + at) % 16 == 0:
                blob = buf[at:at + _KEEP]
                if len(blob) < _KEEP:  # the stream moves on: this candidate is the last one looked at
                    blob += stream.read(_KEEP - len(blob))
                    return blob if decode(blob) is not None else None
                if decode(blob) is not None:
                    return blob
            start = at + 1
        keep = len(MAGIC) - 1
        offset += len(buf) - keep
        buf = buf[-keep:]


def choose(path: str, info: tarfile.TarInfo) -> Reader[bytes] | None:
    return _find if info.mode & 0o111 and info.size > 1024 else None


def packages(files: Mapping[str, bytes], os_release: OsRelease) -> list[Package]:
    out: list[Package] = []
    for path, blob in files.items():
        decoded = decode(blob)
        if decoded is None:
            continue
        go_version, modinfo = decoded
        out.append(_package("stdlib", go_version.removeprefix("go").split(" ")[0], path))
        for line in modinfo.splitlines():
            fields = line.split("\t")
            if fields[0] in ("mod", "dep") and len(fields) >= 3 and fields[2] not in ("", "(devel)"):
                out.append(_package(fields[1], fields[2], path))
            elif fields[0] == "=>" and len(fields) >= 3 and out and fields[2]:
                replaced = out.pop()  # a replace directive: the replacement is what was compiled in
                out.append(_package(fields[1], fields[2], path, replaces=replaced.name))
    return out


def _package(module: str, version: str, path: str, *, replaces: str = "") -> Package:
    namespace, _, name = module.rpartition("/")
    return Package(name=module, version=version, kind=KIND, location="/" + path, source_package=replaces,
                   purl=purl(KIND, name, version, namespace=namespace or None))
