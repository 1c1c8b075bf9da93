"""The sqlite rpmdb, made by rpm itself (rpmbuild, then ``rpm -i --justdb``), read by dockyard's
cataloger and compared with what ``rpm -qa`` prints from the same database."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dockyard.attest.catalog import catalog
from tests.unit.attest.layers import layer

SPEC = """Name: hello-dy
Version: 2.1.3
Release: 4.fc39
Epoch: 1
Summary: a test package
License: MIT AND Apache-2.0
BuildArch: noarch
%description
test
%package libs
Summary: its library
License: MIT
%description libs
test
%files
%files libs
"""


def _rpmdb(tmp_path: Path) -> Path:
    top, db = tmp_path / "rpmbuild", tmp_path / "db"
    (top / "SPECS").mkdir(parents=True)
    db.mkdir()
    (top / "SPECS" / "hello.spec").write_text(SPEC)
    defines = ["--define", f"_topdir {top}", "--define", f"_dbpath {db}"]
    subprocess.run(["rpmbuild", "-bb", *defines, str(top / "SPECS" / "hello.spec")], check=True, capture_output=True)
    subprocess.run(["rpm", "--initdb", "--dbpath", str(db)], check=True, capture_output=True)
    rpms = sorted(str(p) for p in (top / "RPMS").rglob("*.rpm"))
    subprocess.run(["rpm", "-i", "--justdb", "--nodeps", "--dbpath", str(db), *rpms], check=True, capture_output=True)
    return db / "rpmdb.sqlite"


def test_rpmdb_sqlite_matches_rpm_query(tmp_path: Path) -> None:
    database = _rpmdb(tmp_path)
    listed = subprocess.run(["rpm", "-qa", "--dbpath", str(database.parent), "--qf",
                             "%{NAME} %{EPOCHNUM} %{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM}\\n"],
                            check=True, capture_output=True, text=True).stdout.split("\n")
    expected = sorted(tuple(line.split()) for line in listed if line)
    assert len(expected) == 2
    release = 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=39\n'
    found = catalog([layer(("etc/os-release", release), ("var/lib/rpm/rpmdb.sqlite", database.read_bytes()))])
    rpms = [p for p in found.packages if p.kind == "rpm"]
    got = sorted((p.name, p.purl.partition("epoch=")[2].partition("&")[0] or "0", p.version, p.arch,
                  f"hello-dy-{p.version}.src.rpm") for p in rpms)
    assert got == expected
    by_name = {p.name: p for p in rpms}
    assert by_name["hello-dy"].purl == \
        "pkg:rpm/fedora/hello-dy@2.1.3-4.fc39?arch=noarch&distro=fedora-39&epoch=1"
    assert by_name["hello-dy-libs"].purl == ("pkg:rpm/fedora/hello-dy-libs@2.1.3-4.fc39?arch=noarch&distro=fedora-39"
                                             "&epoch=1&upstream=hello-dy-2.1.3-4.fc39.src.rpm")
    assert by_name["hello-dy"].licenses == ("MIT AND Apache-2.0",)


def test_damaged_database_gives_no_packages() -> None:
    found = catalog([layer(("var/lib/rpm/rpmdb.sqlite", b"SQLite format 3\0" + b"\x07" * 200))])
    assert found.packages == ()
