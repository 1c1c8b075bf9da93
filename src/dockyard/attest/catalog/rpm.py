"""RPM packages (Fedora 33+, RHEL/CentOS Stream 9, Amazon Linux 2023): ``var/lib/rpm/rpmdb.sqlite``.

The sqlite rpmdb keeps each installed package as an rpm *header blob* in ``Packages.blob``:
a count of index entries and the size of the data store (both big-endian 32-bit), then 16-byte
entries (tag, type, offset, count), then the data store. NAME (1000), VERSION (1001), RELEASE
(1002), EPOCH (1003), LICENSE (1014), ARCH (1022) and SOURCERPM (1044) are read from it, as
``rpm -q --qf`` would print them. The database file is opened in memory (sqlite's deserialize),
never written to disk. The older Berkeley DB (``Packages``, RHEL 8 and before) and SUSE's NDB
(``Packages.db``) formats are not read; neither is an uncheckpointed ``-wal`` file.
"""

from __future__ import annotations

import sqlite3
import struct
import tarfile
from collections.abc import Mapping

from dockyard.attest.catalog.osrelease import OsRelease
from dockyard.attest.imagefs import Reader, read_all
from dockyard.attest.packages import Package, purl

DATABASE = "var/lib/rpm/rpmdb.sqlite"
KIND = "rpm"
_TAGS = {1000: "name", 1001: "version", 1002: "release", 1003: "epoch", 1014: "license", 1022: "arch",
         1044: "sourcerpm"}
_INT32, _STRING, _I18NSTRING = 4, 6, 9


def choose(path: str, info: tarfile.TarInfo) -> Reader[bytes] | None:
    return read_all(512 << 20) if path in (DATABASE, "usr/lib/sysimage/rpm/rpmdb.sqlite") else None


def header(blob: bytes) -> dict[str, str]:
    """The fields this cataloger needs from one header blob (missing ones are left out)."""
    if len(blob) < 8:
        return {}
    count, size = struct.unpack(">II", blob[:8])
    store = 8 + 16 * count
    if store + size > len(blob):
        return {}
    out: dict[str, str] = {}
    for i in range(count):
        tag, kind, offset, items = struct.unpack(">IIII", blob[8 + 16 * i:24 + 16 * i])
        name = _TAGS.get(tag)
        if name is None or offset >= size or items < 1:
            continue
        at = store + offset
        if kind == _INT32 and at + 4 <= len(blob):
            out[name] = str(struct.unpack(">I", blob[at:at + 4])[0])
        elif kind in (_STRING, _I18NSTRING):
            end = blob.find(b"\0", at, store + size)
            if end >= 0:
                out[name] = blob[at:end].decode("utf-8", "replace")
    return out


def _blobs(data: bytes) -> list[bytes]:
    # rpm keeps the database in WAL mode (file header bytes 18-19 = 2), which an in-memory copy cannot
    # open; the copy is marked as a rollback-journal database (1, 1): the same pages, read as they are
    if len(data) > 20 and data[18:20] == b"\x02\x02":
        data = data[:18] + b"\x01\x01" + data[20:]
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(data)
        return [bytes(row[0]) for row in connection.execute("SELECT blob FROM Packages ORDER BY hnum")]
    except sqlite3.DatabaseError:
        return []
    finally:
        connection.close()


def _source_name(sourcerpm: str) -> str:
    """``glibc-2.38-16.fc39.src.rpm`` -> ``glibc`` (the name is what precedes version-release)."""
    parts = sourcerpm.removesuffix(".rpm").rsplit("-", 2)
    return parts[0] if len(parts) == 3 else ""


def packages(files: Mapping[str, bytes], os_release: OsRelease) -> list[Package]:
    out: list[Package] = []
    for path, data in files.items():
        for blob in _blobs(data):
            fields = header(blob)
            name, version = fields.get("name"), fields.get("version")
            if not name or not version or name == "gpg-pubkey":
                continue
            full = f"{version}-{fields['release']}" if fields.get("release") else version
            source = _source_name(fields.get("sourcerpm", ""))
            arch = fields.get("arch", "")
            qualifiers = {"arch": arch, "epoch": fields.get("epoch", ""), "distro": os_release.distro,
                          "upstream": fields.get("sourcerpm", "") if source and source != name else ""}
            out.append(Package(name=name, version=full, kind=KIND, location="/" + path, arch=arch,
                               licenses=(fields["license"],) if fields.get("license") else (),
                               source_package=source,
                               purl=purl(KIND, name, full, namespace=os_release.id or None, qualifiers=qualifiers)))
    return out
