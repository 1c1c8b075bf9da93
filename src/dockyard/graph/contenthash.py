"""Checksums of the build-context entries an op reads, and only those.

A COPY's cache key must change when anything it copies changes, and must not change when an
unrelated file changes. So the checksum is computed over the very entries the copy iterates
(:func:`dockyard.selector.select`, the same function :mod:`dockyard.engine.copy` uses):
for each selected source its name as selected, then for the source and every entry below it
the path, kind, permission bits (setuid, setgid and sticky included), extended attributes,
hard-link structure, and the file's content digest or the link's target. Owners are not
hashed because the copy never takes them from the context: context files are written as
root or as ``--chown`` says, and ``--chown`` is in the op itself. Timestamps are left out,
as BuildKit leaves them out (``cache/contenthash/filehash.go`` ``NewFromStat`` hashes a tar
header without times), although the copy keeps them.

Symlinks are resolved inside the (filtered) context, never on the host, exactly as the copy
resolves them; a regular file is opened with ``O_NOFOLLOW`` and nothing else is ever read.

The selection a checksum hashed is kept (:meth:`ContextHasher.keyed`) with the entries whose
extended attributes it met: a COPY archived straight from the context
(:mod:`dockyard.engine.copylayer`) writes exactly those entries and asks the file system about
attributes only where the key saw some, so nothing is selected or listed twice.

Hashing is the expensive part (50,000 small files take ~0.9 s to read), so file digests, and
the files' extended attributes (listing them costs as much as the stat), are kept in a
:class:`StatCache` keyed by ``(path in the context, size, mtime, ctime, inode)``: an unchanged
file is stat'ed, never re-read. The cache is saved between builds (mode 0600,
atomic write) and holds only context-relative paths.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import stat
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard import gcpause
from dockyard.oci.tarfs import is_overlay_xattr
from dockyard.selector import Node, PatternMatcher, Selected, SourceSpec, SourceTree, select
from dockyard.selector.errors import SourceNotFoundError

__all__ = ["ContextHasher", "KeyedSelection", "SourceNotFoundError", "StatCache", "entry_record"]

_CHUNK = 1 << 20
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC

_Key = tuple[str, int, int, int, int]
# How long after its last change a file's stat may still miss a change: a write lands in the
# kernel's coarse clock tick (1-10 ms) and keeps mtime and ctime when the tick has not moved on.
# 50 ms is well past any tick; a file system with whole-second times (ctime on a second) gets 2 s.
TICK_NS = 50_000_000
_SECOND_TICK_NS = 2_000_000_000
_ROW_WITH_XATTRS = 8  # the key's five fields, the digest, the xattr text, whether any were listed


class StatCache:
    """What a regular file's record holds besides its stat (its content digest, and its extended
    attributes as :func:`xattr_text` gives them), by ``(rel, size, mtime_ns, ctime_ns, inode)``;
    counts content reads for tests and stats. Writing content moves mtime and ctime, setting or
    removing an attribute moves ctime: either way the key changes and the file is read again. A
    file read within a clock tick of its last change is not kept for later builds (:meth:`_note_racy`)."""

    def __init__(self) -> None:
        self._digests: dict[_Key, str] = {}
        self._xattrs: dict[_Key, tuple[str, bool]] = {}
        self._used: set[_Key] = set()
        self._racy: set[_Key] = set()
        self._added = False
        self.reads = 0

    def digest(self, rel: str, host: bytes, st: os.stat_result) -> str:
        """The sha256 of the regular file ``host`` (``rel`` in the context), read at most once."""
        key = (rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        self._used.add(key)
        found = self._digests.get(key)
        return found if found is not None else self._read(key, host)

    def facts(self, rel: str, host: bytes, st: os.stat_result) -> tuple[str, tuple[str, bool]]:
        """:meth:`digest` and the file's :func:`xattr_text`, each found at most once (a context
        of small files spends as long listing attributes as stat'ing the files)."""
        key = (rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        self._used.add(key)
        digest = self._digests.get(key)
        xattrs = self._xattrs.get(key)
        return (digest if digest is not None else self._read(key, host),
                xattrs if xattrs is not None else self._list(key, host))

    def _read(self, key: _Key, host: bytes) -> str:
        self._note_racy(key)
        h = hashlib.sha256()
        fd = os.open(host, _READ)
        with os.fdopen(fd, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
        self.reads += 1
        digest = self._digests[key] = h.hexdigest()
        self._added = True
        return digest

    def _list(self, key: _Key, host: bytes) -> tuple[str, bool]:
        self._note_racy(key)
        found = self._xattrs[key] = xattr_text(host)
        self._added = True
        return found

    def _note_racy(self, key: _Key) -> None:
        """A file changed within a clock tick of being read is used, never kept for a later build.

        A second write in the same tick as the stat leaves size, mtime and ctime as they were, so
        the key would still match content that is gone (git's "racily clean" entries). Read before
        the tick is over, the digest serves this build only; the next build reads the file again.
        """
        ctime = key[3]
        tick = _SECOND_TICK_NS if ctime % 1_000_000_000 == 0 else TICK_NS
        if ctime >= time.time_ns() - tick:
            self._racy.add(key)

    @staticmethod
    def path_for(root: Path, context: Path) -> Path:
        """Where builds with the store ``root`` keep the stat cache of ``context`` (one file per context)."""
        return root / "statcache" / (hashlib.sha256(str(context.resolve()).encode()).hexdigest()[:20] + ".json")

    def save(self, path: Path) -> None:
        """Write the entries this process used, atomically and readable by the owner only:
        files that changed or went away drop out, so the file stays the size of the context."""
        if not self._added and len(self._used) == len(self._digests) and path.exists():
            return  # nothing new, nothing dropped: the file already says this (50,000 rows: ~0.2 s to write)
        xattrs = self._xattrs
        racy = self._racy
        rows = [[*k, v, *xattrs[k]] if k in xattrs else [*k, v] for k, v in self._digests.items()
                if k in self._used and k not in racy]
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # threads share a pid
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)
            json.dump(rows, fh)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> StatCache:
        cache = cls()
        digests, xattrs = cache._digests, cache._xattrs
        try:
            with gcpause.paused():  # a list per row, then a key per file, kept for the build
                rows = json.loads(path.read_text(encoding="utf-8"))
                for row in rows:  # as save wrote them (types unchecked: 50,000 rows, ~0.5 us each)
                    key = (row[0], row[1], row[2], row[3], row[4])
                    digests[key] = row[5]
                    if len(row) == _ROW_WITH_XATTRS:
                        xattrs[key] = (row[6], row[7])
        except (OSError, ValueError, TypeError, IndexError):
            return cls()  # an unreadable or old-format cache is only a slower build
        return cache


def entry_record(rel: str, node: Node, content: str, *, hardlink: str = "", xattrs: str | None = None) -> str:
    """The hashed description of one entry: what the copy writes for it, owners aside
    (``xattrs``: the entry's :func:`xattr_text`, when the caller has read it already)."""
    st = node.st
    mode = st.st_mode
    if xattrs is None:
        xattrs = xattr_text(node.host)[0]
    if stat.S_ISDIR(mode):
        kind = "dir"
    elif stat.S_ISLNK(mode):
        kind, content = "link", os.fsdecode(os.readlink(node.host))
    elif stat.S_ISREG(mode):
        kind = "file"
    else:
        kind, content = f"special{stat.S_IFMT(mode):o}", f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    perms = 0o777 if kind == "link" else stat.S_IMODE(mode)
    return "\0".join((rel, kind, f"{perms:o}", xattrs, content, hardlink))


def xattr_text(host: bytes) -> tuple[str, bool]:
    """The extended attributes of ``host`` as hashed (overlay's own left out), and whether the
    file system showed any attribute or failed to list them (False: it has none at all)."""
    try:
        listed = os.listxattr(host, follow_symlinks=False)
    except OSError:
        return "", True
    if not listed:
        return "", False  # the common case: one system call
    out = []
    for name in sorted(listed):
        if is_overlay_xattr(name):
            continue
        try:
            out.append(f"{name}={os.getxattr(host, name, follow_symlinks=False).hex()}")
        except OSError:
            continue
    return ",".join(out), True


@dataclass(frozen=True)
class KeyedSelection:
    """What one checksum hashed: the selection, and the hosts of the entries that showed
    extended attributes (or could not list them); every other entry had none when keyed."""

    selected: tuple[Selected, ...]
    with_xattrs: frozenset[bytes]
    links: tuple[Node, ...] = ()  # the symlinks among the selection's entries

    def changed(self, *, files: bool = True) -> str | None:
        """The first file or symlink of the selection (its path in the context) whose size, times,
        inode or type moved since it was keyed, or None (``files`` False: symlinks only).

        The context is read in place, after the keys are made: a file edited in between would be
        copied (or seen through a step's mount) while the key names the bytes hashed before, and
        the step's cache record would then serve the new bytes for the old. BuildKit cannot meet
        this: it syncs the context once and every step reads that copy. Directories are left out:
        a file created beside the selected ones (an editor's swap file) moves their times, and a
        copy made from this selection does not see new entries anyway."""
        nodes = (node for item in self.selected for node in (item.top.node, *(e.node for e in item.entries))
                 if stat.S_ISREG(node.st.st_mode)) if files else iter(())
        for node in itertools.chain(self.links, nodes):
            st = node.st
            try:
                now = os.lstat(node.host)
            except OSError:
                return node.rel
            if (now.st_mode, now.st_size, now.st_mtime_ns, now.st_ctime_ns, now.st_ino) != (
                    st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino):
                return node.rel
        return None


class ContextHasher:
    """Checksums selections of one context directory (the ``ContentHasher`` of cache keys).

    One hasher sees the context as it was when first listed (directory listings are kept),
    so all keys of one build agree with each other; the next build makes a new hasher.
    """

    def __init__(self, root: Path, *, cache: StatCache | None = None) -> None:
        self.root = root
        self.cache = cache if cache is not None else StatCache()
        self._trees: dict[tuple[str, ...], SourceTree] = {}
        self._keyed: dict[tuple[tuple[str, ...], SourceSpec], KeyedSelection] = {}
        self._sums: dict[tuple[tuple[str, ...], SourceSpec, bool], str] = {}

    def tree(self, ignore: Sequence[str]) -> SourceTree:
        """The context as steps see it with these .dockerignore patterns (kept per pattern list)."""
        key = tuple(ignore)
        found = self._trees.get(key)
        if found is None:
            found = self._trees[key] = SourceTree(self.root, ignore=PatternMatcher(ignore))
        return found

    def keyed(self, spec: SourceSpec, *, ignore: Sequence[str] = ()) -> KeyedSelection | None:
        """What the checksum of ``spec`` with these patterns hashed in this build (None: none was made)."""
        return self._keyed.get((tuple(ignore), spec))

    def checksum(self, spec: SourceSpec, *, ignore: Sequence[str] = (), owners: bool = False) -> str:
        """``sha256:`` digest of what ``spec`` selects; raises ``SourceNotFoundError`` or
        ``BadPatternError`` (:mod:`dockyard.selector.errors`). ``owners`` adds each entry's
        uid and gid, for readers that see the context's own owners (a bind mount in place).
        Kept per selection: every platform of a build copies the same files, and hashing them once
        per platform doubled a two-platform build's key phase (issue 17)."""
        key = (tuple(ignore), spec, owners)
        found = self._sums.get(key)
        if found is None:
            found = self._sums[key] = "sha256:" + hashlib.sha256("\n".join(
                self.records(spec, ignore=ignore, owners=owners)).encode("utf-8", "surrogateescape")).hexdigest()
        return found

    def records(self, spec: SourceSpec, *, ignore: Sequence[str] = (), owners: bool = False) -> list[str]:
        """The records :meth:`checksum` hashes, in order (tests compare them with copies)."""
        found = self._records(spec, ignore)
        if not owners:
            return [record for record, _ in found]
        return [record if node is None else f"{record}\0{node.st.st_uid}:{node.st.st_gid}" for record, node in found]

    def _records(self, spec: SourceSpec, ignore: Sequence[str]) -> list[tuple[str, Node | None]]:
        out: list[tuple[str, Node | None]] = []
        inodes: dict[tuple[int, int], str] = {}
        flagged: set[bytes] = set()
        links: list[Node] = []
        with gcpause.paused():  # a node, a stat result and a record per entry, kept (see gcpause)
            selected = select(self.tree(ignore), spec)
            for item in selected:
                top = item.top
                out.append(("source\0" + top.name, None))
                out.append((self._record(".", top.node, inodes, flagged, links), top.node))
                prefix = "" if top.name == "." else top.name + "/"
                for entry in item.entries:
                    record = self._record(entry.rel, entry.node, inodes, flagged, links, shown=prefix)
                    out.append((("lazy\0" if entry.lazy else "") + record, entry.node))
        self._keyed[(tuple(ignore), spec)] = KeyedSelection(tuple(selected), frozenset(flagged), tuple(links))
        return out

    def _record(self, rel: str, node: Node, inodes: dict[tuple[int, int], str], flagged: set[bytes],
                links: list[Node], *, shown: str | None = None) -> str:
        """``shown``: what names the entry in hard-link records is ``shown + rel`` (None: its path in the
        context); a symlink goes to ``links`` (what :meth:`KeyedSelection.changed` checks after a copy)."""
        st = node.st
        content = ""
        link = ""
        if stat.S_ISREG(st.st_mode):
            content, (xattrs, seen) = self.cache.facts(node.rel, node.host, st)
            if st.st_nlink > 1:
                name = node.rel if shown is None else shown + rel
                link = inodes.setdefault((st.st_dev, st.st_ino), name)
                link = "" if link == name else link
        else:
            xattrs, seen = xattr_text(node.host)
            if stat.S_ISLNK(st.st_mode):
                links.append(node)
        if seen:
            flagged.add(node.host)
        return entry_record(rel, node, content, hardlink=link, xattrs=xattrs)
