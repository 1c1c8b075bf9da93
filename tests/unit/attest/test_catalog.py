"""Catalogers on real-shaped package databases (stanzas as Debian 12, Alpine 3.19, pip and npm write them)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from dockyard.attest import spdx
from dockyard.attest.catalog import catalog, golang
from dockyard.attest.packages import purl
from tests.unit.attest.layers import layer
from tests.unit.attest.spdxcheck import validation_errors

DEBIAN_OS_RELEASE = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
"""

DPKG_STATUS = """Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 13001
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u7
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: tzdata
Status: install ok installed
Priority: required
Architecture: all
Multi-Arch: foreign
Version: 2024a-0+deb12u1
Description: time zone and daylight-saving time data

Package: oldpkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
Description: removed, config files left

Package: bsdutils
Status: install ok installed
Architecture: amd64
Source: util-linux (2.38.1-5)
Version: 1:2.38.1-5+deb12u1
Description: basic utilities from 4.4BSD-Lite
"""

APK_INSTALLED = """C:Q1b3oFz2JVZ9qhGl4dIjdFfq0ZZ4I=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407278
I:663552
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1705332953
c:8541a2dce6bb0e7bf1e0c0c2fb4c9c5a1c25e4b7
D:so:libc.musl-x86_64.so.1
F:lib
R:ld-musl-x86_64.so.1

C:Q1bcTkIkMLkMa0sQiMyRsEe6g8iJw=
P:libcrypto3
V:3.1.4-r5
A:x86_64
L:Apache-2.0
o:openssl
"""

PIP_METADATA = """Metadata-Version: 2.1
Name: PyYAML
Version: 6.0.1
Summary: YAML parser and emitter for Python
License: MIT
Requires-Python: >=3.6

YAML is a data serialization format designed for human readability.
Name: not-a-header
"""


def test_dpkg_packages_with_versions_and_purls() -> None:
    found = catalog([layer(("usr/lib/os-release", DEBIAN_OS_RELEASE), ("var/lib/dpkg/status", DPKG_STATUS))])
    debs = {p.name: p for p in found.packages}
    assert set(debs) == {"libc6", "tzdata", "bsdutils"}  # the deinstalled one is not there
    assert debs["libc6"].version == "2.36-9+deb12u7"
    # the purl spec percent-encodes '+' and ':'; syft and Trivy write these very strings
    assert debs["libc6"].purl == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12&upstream=glibc"
    assert debs["tzdata"].purl == "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12"
    assert debs["bsdutils"].purl == \
        "pkg:deb/debian/bsdutils@1%3A2.38.1-5%2Bdeb12u1?arch=amd64&distro=debian-12&upstream=util-linux"
    assert found.os_release.pretty_name == "Debian GNU/Linux 12 (bookworm)"


def test_distroless_status_d() -> None:
    stanza = "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: arm64\n"
    found = catalog([layer(("var/lib/dpkg/status.d/base", stanza), ("var/lib/dpkg/status.d/base.md5sums", "x"))])
    assert [(p.name, p.version, p.arch, p.location) for p in found.packages] == \
        [("base-files", "12.4+deb12u5", "arm64", "/var/lib/dpkg/status.d/base")]


def test_apk_installed_db() -> None:
    release = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n'
    found = catalog([layer(("etc/os-release", release), ("lib/apk/db/installed", APK_INSTALLED))])
    by_name = {p.name: p for p in found.packages}
    assert by_name["musl"].purl == "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1"
    assert by_name["libcrypto3"].purl == \
        "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1&upstream=openssl"
    assert by_name["musl"].licenses == ("MIT",)


def test_python_dist_info_and_egg_info() -> None:
    site = "usr/local/lib/python3.11/site-packages"
    egg = "Metadata-Version: 1.1\nName: zope.interface\nVersion: 5.5.2\nLicense: ZPL 2.1\n"
    found = catalog([layer((f"{site}/PyYAML-6.0.1.dist-info/METADATA", PIP_METADATA),
                           (f"{site}/PyYAML-6.0.1.dist-info/RECORD", "yaml/__init__.py,,"),
                           ("usr/lib/python3/dist-packages/zope.interface-5.5.2.egg-info/PKG-INFO", egg))])
    assert [(p.name, p.version, p.purl) for p in found.packages] == [
        ("PyYAML", "6.0.1", "pkg:pypi/pyyaml@6.0.1"),
        ("zope.interface", "5.5.2", "pkg:pypi/zope-interface@5.5.2"),
    ]


def test_npm_node_modules_and_lockfile() -> None:
    lock = {"name": "app", "lockfileVersion": 3, "packages": {
        "": {"name": "app", "version": "1.0.0"},
        "node_modules/express": {"version": "4.18.2", "license": "MIT"},
        "node_modules/express/node_modules/debug": {"version": "2.6.9"},
        "node_modules/local": {"resolved": "../local", "link": True}}}
    found = catalog([layer(
        ("app/package-lock.json", json.dumps(lock)),
        ("app/node_modules/@types/node/package.json", json.dumps({"name": "@types/node", "version": "20.11.5",
                                                                  "license": "MIT"})),
        ("app/node_modules/@types/node/ts4.8/package.json", json.dumps({"name": "nested", "version": "0"})),
    )])
    assert sorted(p.purl for p in found.packages) == [
        "pkg:npm/%40types/node@20.11.5", "pkg:npm/debug@2.6.9", "pkg:npm/express@4.18.2"]


def _buildinfo(version: str, modinfo: str) -> bytes:
    """The .go.buildinfo section as the Go 1.18+ linker writes it (inline strings, flags bit 2)."""

    def varint_string(text: bytes) -> bytes:
        out, n = b"", len(text)
        while True:
            out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
            n >>= 7
            if not n:
                return out + text

    start = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
    end = bytes.fromhex("f932433186182072008242104116d8f2")
    header = golang.MAGIC + struct.pack("BB", 8, 2) + bytes(16)
    return header + varint_string(version.encode()) + varint_string(start + modinfo.encode() + end)


def test_go_buildinfo_in_an_elf_binary() -> None:
    modinfo = ("path\texample.com/cmd/app\nmod\texample.com\t(devel)\t\n"
               "dep\tgithub.com/spf13/cobra\tv1.8.0\th1:abc=\n"
               "dep\tgolang.org/x/sys\tv0.15.0\n=>\tgolang.org/x/sys\tv0.16.0\th1:def=\n"
               "build\t-compiler=gc\n")
    # the magic also appears unaligned in rodata (as in any binary importing debug/buildinfo): skipped
    binary = b"\x7fELF" + bytes(27) + golang.MAGIC + b"junk" + bytes(4096 - 49) + \
        _buildinfo("go1.21.5", modinfo) + bytes(100)
    found = catalog([layer(("usr/local/bin/app", binary, 0o755), ("usr/local/bin/data", binary, 0o644))])
    assert [(p.name, p.version, p.purl) for p in found.packages] == [
        ("github.com/spf13/cobra", "v1.8.0", "pkg:golang/github.com/spf13/cobra@v1.8.0"),
        ("golang.org/x/sys", "v0.16.0", "pkg:golang/golang.org/x/sys@v0.16.0"),
        ("stdlib", "1.21.5", "pkg:golang/stdlib@1.21.5"),
    ]


def test_go_buildinfo_across_read_chunks() -> None:
    # the first read is 4 bytes (the ELF magic), then 1 MiB: the magic at offset 1 MiB straddles two reads
    binary = b"\x7fELF" + bytes((1 << 20) - 4) + _buildinfo("go1.22.0", "path\tx\n")
    found = catalog([layer(("bin/x", binary, 0o755))])
    assert [p.purl for p in found.packages] == ["pkg:golang/stdlib@1.22.0"]


@pytest.mark.skipif(shutil.which("runc") is None, reason="runc is installed by scripts/setup")
def test_go_version_of_a_real_binary_matches_its_own_report() -> None:
    """Debian's runc is a Go binary; `runc --version` prints the Go version it was built with."""
    runc = shutil.which("runc")
    assert runc is not None
    with open(runc, "rb") as f:
        blob = golang._find(f)
    assert blob is not None
    decoded = golang.decode(blob)
    assert decoded is not None
    reported = subprocess.run([runc, "--version"], capture_output=True, text=True, check=True).stdout
    assert f"go: {decoded[0]}" in reported
    assert "path\tgithub.com/opencontainers/runc" in decoded[1]


def test_purl_encoding() -> None:
    assert purl("npm", "node", "1.0", namespace="@types") == "pkg:npm/%40types/node@1.0"
    assert purl("deb", "a", "1:2+3~4", namespace="debian", qualifiers={"distro": "debian-12", "arch": "all"}) \
        == "pkg:deb/debian/a@1%3A2%2B3~4?arch=all&distro=debian-12"
    assert purl("docker", "app", "1.0", namespace="127.0.0.1:5000/team", qualifiers={"platform": "linux/arm64"}) \
        == "pkg:docker/127.0.0.1%3A5000/team/app@1.0?platform=linux%2Farm64"


def test_spdx_document_is_valid_for_spdx_tools(tmp_path: Path) -> None:
    """SPDX 2.3 as the SPDX project's validator reads it: ids, purls, license expressions, relationships."""
    site = "usr/local/lib/python3.11/site-packages"
    found = catalog([layer(("usr/lib/os-release", DEBIAN_OS_RELEASE), ("var/lib/dpkg/status", DPKG_STATUS),
                           ("lib/apk/db/installed", APK_INSTALLED),
                           (f"{site}/PyYAML-6.0.1.dist-info/METADATA", PIP_METADATA),
                           (f"{site}/odd-1.0.dist-info/METADATA", "Name: odd\nVersion: 1.0\nLicense: BSD License\n"))])
    document = spdx.document(found, name="pkg:docker/app@1.0?platform=linux%2Famd64", created="2023-11-14T22:13:20Z")
    assert validation_errors(document, tmp_path / "sbom.spdx.json") == []
    by_name = {p["name"]: p for p in document["packages"]}
    assert by_name["PyYAML"]["licenseDeclared"] == "MIT"
    assert by_name["odd"]["licenseDeclared"] == "NOASSERTION"  # not an SPDX expression: kept as text
    assert by_name["odd"]["attributionTexts"] == ["declared licenses: BSD License"]
    assert document["relationships"][0] == {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                                            "relatedSpdxElement": "SPDXRef-Image"}
