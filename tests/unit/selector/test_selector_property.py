"""Property: a COPY's cache key hashes exactly what the copy copies, for every COPY form.

Hypothesis builds small contexts (files, directories, symlinks inside and out of the context,
names with pattern characters) and COPY forms (literal and wildcard sources, ``--parents`` with
and without a ``/./`` pivot and ``**``, ``--exclude``, .dockerignore with ``!`` exceptions).
For each it runs the real copy into an empty root and checks:

1. the entries the key hashes are the entries found in the destination, with the same kind,
   permission bits, content and link target (``set(hashed) == set(copied)``);
2. after one random change to the context, the key changes whenever the copied tree changes
   (no stale cache hit), and stays when the change touched nothing the copy read.

The BuildKit rules followed are cited in :mod:`dockyard.selector.select`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dockyard.engine.copy import CopySpec, copy_into
from dockyard.errors import BuildError
from dockyard.graph.contenthash import ContextHasher
from dockyard.selector import SelectionError, SourceSpec, select

NAMES = ["a", "b", "ab", "a.txt", "b.txt", "c.go", "x[1]", "d-1"]
WILD = ["*", "?", "a*", "*.txt", "[ab]*", "[^a]*", "[^a].txt", "?.go", "x\\[1]", "[a-c].txt"]
PARENTS = ["**/*.txt", "*/a.txt", "a", "**", "a/**/b*"]
IGNORES = ["*.go", "a", "!a/b.txt", "**/b*", "!**/*.txt", "x*", "*/ab", "!ab"]
LINKS = ["a.txt", "../a.txt", "/a", "/etc", "..", "b/../a.txt", "missing", "/proc/self"]


@dataclass(frozen=True)
class Node:
    path: str
    kind: str  # file | dir | link
    data: str


def _trees() -> st.SearchStrategy[list[Node]]:
    path = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map("/".join)
    node = st.one_of(
        st.builds(Node, path, st.just("file"), st.sampled_from(["", "x", "hello", "hello\n"])),
        st.builds(Node, path, st.just("dir"), st.sampled_from(["755", "700", "750"])),
        st.builds(Node, path, st.just("link"), st.sampled_from(LINKS)),
    )
    return st.lists(node, min_size=1, max_size=12)


def _make(root: Path, nodes: list[Node]) -> None:
    root.mkdir()
    for node in nodes:
        path = root / node.path
        if not _real_parents(root, node.path):
            continue  # a parent is a file or a link: this node cannot exist (never write through links)
        try:
            if os.path.lexists(path):
                continue
            if node.kind == "file":
                path.write_text(node.data)
                path.chmod(0o755 if node.data.startswith("h") else 0o644)
            elif node.kind == "dir":
                path.mkdir()
                path.chmod(int(node.data, 8))
            else:
                path.symlink_to(node.data)
        except (FileExistsError, NotADirectoryError):
            continue


def _real_parents(root: Path, rel: str, *, create: bool = True) -> bool:
    """Whether the parents of ``rel`` are real directories (made when missing and ``create``);
    False when one is a file or a link, or missing."""
    current = root
    for part in rel.split("/")[:-1]:
        current = current / part
        if not os.path.lexists(current):
            if not create:
                return False
            current.mkdir()
        elif current.is_symlink() or not current.is_dir():
            return False
    return True


@st.composite
def _forms(draw: st.DrawFn) -> tuple[SourceSpec, tuple[str, ...]]:
    parents = draw(st.booleans())
    if parents:
        pivot = draw(st.sampled_from(["", "a/./", "./", "b/./"]))
        paths = tuple(pivot + p for p in draw(st.lists(st.sampled_from(PARENTS + NAMES), min_size=1, max_size=2)))
    else:
        pool = NAMES + WILD + [f"{d}/{w}" for d in ("a", "b", "*") for w in ("*", "a.txt", "[^a]*")] + ["."]
        paths = tuple(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3)))
    excludes = tuple(draw(st.lists(st.sampled_from(["*.txt", "b", "!b/a.txt", "**/ab", "a/*"]), max_size=2)))
    ignore = tuple(draw(st.lists(st.sampled_from(IGNORES), max_size=3)))
    spec = SourceSpec(paths=paths, excludes=excludes, parents=parents, allow_empty_wildcard=draw(st.booleans()))
    return spec, ignore


def _describe(root: Path) -> dict[str, tuple[str, str, str]]:
    """Every entry below ``root``: kind, permission bits, content digest or link target."""
    out: dict[str, tuple[str, str, str]] = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(base, name)
            rel = os.path.relpath(full, root)
            st_ = os.lstat(full)
            if stat.S_ISLNK(st_.st_mode):
                out[rel] = ("link", "777", os.readlink(full))
            elif stat.S_ISDIR(st_.st_mode):
                out[rel] = ("dir", f"{stat.S_IMODE(st_.st_mode):o}", "")
            else:
                digest = hashlib.sha256(Path(full).read_bytes()).hexdigest()
                out[rel] = ("file", f"{stat.S_IMODE(st_.st_mode):o}", digest)
    return out


def _hashed(records: list[str]) -> tuple[dict[str, tuple[str, str, str]], set[str]]:
    """What the records say lands in the destination directory (later sources win), and
    which directories are lazy there (their metadata is kept when they already exist)."""
    out: dict[str, tuple[str, str, str]] = {}
    lazy: set[str] = set()
    top_name = ""
    top_is_dir = False
    for record in records:
        fields = record.split("\0")
        if fields[0] == "source":
            top_name = fields[1]
            continue
        is_lazy = fields[0] == "lazy"
        rel, kind, perms, _xattrs, content, _hardlink = fields[1:] if is_lazy else fields
        if rel == ".":
            top_is_dir = kind == "dir"
            if top_is_dir:
                continue
            rel = os.path.basename(top_name)
        elif not top_is_dir:
            continue
        if kind == "dir" and rel in out and is_lazy:
            continue  # an existing directory keeps its metadata (fsutil createParentDirs)
        if is_lazy:
            lazy.add(rel)
        else:
            lazy.discard(rel)
        out[rel] = (kind, perms, content)
    return out, lazy


def _read(hasher: ContextHasher, spec: SourceSpec, ignore: tuple[str, ...]) -> set[str]:
    """The context paths the copy reads: each source and every entry below it."""
    selected = select(hasher.tree(ignore), spec)
    return {item.top.node.rel for item in selected} | {entry.node.rel for item in selected for entry in item.entries}


def _copy(context: Path, dest: Path, spec: SourceSpec, ignore: tuple[str, ...]) -> dict[str, tuple[str, str, str]]:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir()
    copy_into(source_root=context, dest_root=dest, spec=CopySpec(
        paths=spec.paths, dest="/out/", excludes=spec.excludes, parents=spec.parents,
        allow_empty_wildcard=spec.allow_empty_wildcard, context_excludes=ignore))
    return _describe(dest / "out") if (dest / "out").exists() else {}


@st.composite
def _changes(draw: st.DrawFn) -> tuple[str, str]:
    return draw(st.sampled_from(["append", "chmod", "relink", "add", "rmdir-make"])), draw(
        st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map("/".join))


def _apply(context: Path, change: tuple[str, str]) -> str | None:
    """Change one thing in the context; returns the path touched (None if nothing changed)."""
    what, rel = change
    path = context / rel
    if not _real_parents(context, rel, create=False):
        return None
    if what == "add":
        if os.path.lexists(path):
            return None
        path.write_text("new")
        return rel
    if not os.path.lexists(path):
        return None
    if path.is_symlink():
        if what != "relink":
            return None
        path.unlink()
        path.symlink_to("b.txt")
        return rel
    if path.is_dir():
        path.chmod(0o711)
        return rel
    if what == "append":
        with path.open("a") as fh:
            fh.write("!")
    elif what == "chmod":
        path.chmod(0o600)
    else:
        return None
    return rel


@settings(max_examples=int(os.environ.get("DOCKYARD_PROPERTY_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(tree=_trees(), form=_forms(), change=_changes())
def test_the_key_hashes_exactly_what_the_copy_copies(tree: list[Node], form: tuple[SourceSpec, tuple[str, ...]],
                                                     change: tuple[str, str]) -> None:
    spec, ignore = form
    with tempfile.TemporaryDirectory() as tmp:
        context, dest = Path(tmp) / "ctx", Path(tmp) / "dest"
        _make(context, tree)
        try:
            records = ContextHasher(context).records(spec, ignore=ignore)
        except SelectionError:
            # the key refuses it: then the copy must refuse it too (never copy what cannot be keyed)
            try:
                _copy(context, dest, spec, ignore)
            except BuildError:
                return
            raise AssertionError("the key computation failed but the copy succeeded") from None
        try:
            copied = _copy(context, dest, spec, ignore)
        except BuildError as exc:
            assume("cannot" not in str(exc) and "non-directory" not in str(exc))  # dest conflicts
            raise
        hashed, lazy = _hashed(records)
        assert set(hashed) == set(copied)
        for rel, (kind, perms, content) in hashed.items():
            got = copied[rel]
            assert got[0] == kind, rel
            if kind != "dir":
                assert got == (kind, perms, content), rel
            elif rel not in lazy:
                assert got[1] == perms, rel

        hasher = ContextHasher(context)
        key = hasher.checksum(spec, ignore=ignore)
        read = _read(hasher, spec, ignore)
        touched = _apply(context, change)
        assume(touched is not None)
        try:
            changed = ContextHasher(context)
            after = changed.checksum(spec, ignore=ignore)
            again = _copy(context, dest, spec, ignore)
        except (SelectionError, BuildError):
            return  # the change made the copy invalid (a conflict or a dangling source): no key to compare
        if again != copied:
            assert after != key, f"stale cache: {change} changed the copy but not the key"
        elif touched not in read | _read(changed, spec, ignore):
            # (a file added where the copy reads it, then overwritten by a later source, is read)
            assert after == key, f"{change} touched nothing the copy read, yet the key changed"
