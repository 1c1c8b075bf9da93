"""type=local and type=tar: layers applied in order, whiteouts honoured, platforms split."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from dockyard.errors import UsageError
from dockyard.exporters import export
from dockyard.exporters.output import LocalOutput, TarOutput
from dockyard.exporters.rootfs import merge_into
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.layer import Compression
from dockyard.store.content import ContentStore
from tests.unit.exporters import imagefactory


def _layered(tmp_path: Path, store: ContentStore, platform: str = "linux/amd64",
             compression: Compression = Compression.GZIP) -> Descriptor:
    """Base: etc/keep, etc/gone, opt/old/x, bin/tool (0755). Top: deletes etc/gone, replaces opt/old."""
    base = imagefactory.tree(tmp_path / f"base-{platform.replace('/', '_')}",
                             {"etc/keep": "k", "etc/gone": "g", "opt/old/x": "x", "bin/tool": platform})
    os.chmod(base / "bin" / "tool", 0o755)
    top = imagefactory.tree(tmp_path / f"top-{platform.replace('/', '_')}",
                            {"etc/.wh.gone": "", "opt/old/.wh..wh..opq": "", "opt/old/y": "y", "etc/new": "n"})
    return imagefactory.image(store, [base, top], platform=platform, compression=compression)


def _files(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = Path(dirpath) / name
            out[str(path.relative_to(root))] = path.read_text()
    return out


@pytest.mark.parametrize("compression", list(Compression))
def test_local_applies_whiteouts_and_modes(tmp_path: Path, compression: Compression) -> None:
    store = ContentStore(tmp_path / "store")
    desc = _layered(tmp_path, store, compression=compression)
    dest = tmp_path / "out"
    export(LocalOutput(dest=dest), store, desc)
    assert _files(dest) == {"etc/keep": "k", "etc/new": "n", "opt/old/y": "y", "bin/tool": "linux/amd64"}
    assert os.stat(dest / "bin" / "tool").st_mode & 0o777 == 0o755


def test_local_keeps_unrelated_files_in_dest_and_replaces_same_names(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store")
    desc = _layered(tmp_path, store)
    dest = imagefactory.tree(tmp_path / "out", {"mine.txt": "mine", "etc/keep": "old", "opt/old/z": "z"})
    os.symlink("/etc", dest / "bin")  # a symlink where the image has a directory is replaced, never followed
    export(LocalOutput(dest=dest), store, desc)
    files = _files(dest)
    assert files["mine.txt"] == "mine" and files["etc/keep"] == "k"
    assert files["opt/old/z"] == "z"  # the opaque marker only hides what the image's lower layers had
    assert not (dest / "bin").is_symlink() and (dest / "bin" / "tool").is_file()
    assert not [p for p in dest.iterdir() if p.name.startswith(".dockyard")]


def test_multi_platform_gets_one_directory_each(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store")
    top = imagefactory.index(store, [_layered(tmp_path, store, p) for p in ("linux/amd64", "linux/arm64")])
    dest = tmp_path / "out"
    export(LocalOutput(dest=dest), store, top)
    assert sorted(p.name for p in dest.iterdir()) == ["linux_amd64", "linux_arm64"]
    assert (dest / "linux_arm64" / "bin" / "tool").read_text() == "linux/arm64"
    merged = tmp_path / "merged"
    export(LocalOutput(dest=merged, platform_split=False), store, top)
    assert (merged / "bin" / "tool").read_text() == "linux/arm64"  # later platforms overwrite
    single = tmp_path / "single-split"
    export(LocalOutput(dest=single, platform_split=True), store, _layered(tmp_path, store))
    assert [p.name for p in single.iterdir()] == ["linux_amd64"]


def test_local_into_a_file_is_refused(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store")
    desc = _layered(tmp_path, store)
    (tmp_path / "f").write_text("")
    with pytest.raises(UsageError, match="not a directory"):
        export(LocalOutput(dest=tmp_path / "f"), store, desc)


def test_tar_matches_local_and_is_deterministic(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store")
    top = imagefactory.index(store, [_layered(tmp_path, store, p) for p in ("linux/amd64", "linux/arm64")])
    export(TarOutput(dest=tmp_path / "a.tar"), store, top)
    export(TarOutput(dest=tmp_path / "b.tar"), store, top)
    data = (tmp_path / "a.tar").read_bytes()
    assert data == (tmp_path / "b.tar").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        regular = {m.name: tar.extractfile(m).read().decode() for m in members.values()  # type: ignore[union-attr]
                   if m.isreg()}
    export(LocalOutput(dest=tmp_path / "local"), store, top)
    assert regular == _files(tmp_path / "local")
    assert members["linux_amd64"].mtime == 0
    assert members["linux_amd64/bin/tool"].mode == 0o755
    assert not [n for n in members if ".wh." in n]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_tar_to_a_terminal_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ContentStore(tmp_path / "store")
    desc = _layered(tmp_path, store)

    class Tty(io.BytesIO):
        def isatty(self) -> bool:
            return True

    class FakeStdout:
        buffer = Tty()

    monkeypatch.setattr("sys.stdout", FakeStdout())
    with pytest.raises(UsageError, match="terminal"):
        export(TarOutput(dest=None), store, desc)


def test_tar_to_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ContentStore(tmp_path / "store")
    desc = _layered(tmp_path, store)

    class FakeStdout:
        buffer = io.BytesIO()

    monkeypatch.setattr("sys.stdout", FakeStdout())
    export(TarOutput(dest=None), store, desc)
    with tarfile.open(fileobj=io.BytesIO(FakeStdout.buffer.getvalue())) as tar:
        assert "etc/new" in tar.getnames()


def test_merge_replaces_files_with_dirs_and_back(tmp_path: Path) -> None:
    src = imagefactory.tree(tmp_path / "src", {"a/b": "new", "c": "file"})
    dst = imagefactory.tree(tmp_path / "dst", {"a": "was a file", "c/d": "was a dir", "e": "kept"})
    merge_into(src, dst)
    assert _files(dst) == {"a/b": "new", "c": "file", "e": "kept"}
    assert list(src.iterdir()) == []
