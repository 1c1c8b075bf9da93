"""A source root as a build step sees it: the build context after .dockerignore, or a stage's root.

BuildKit never shows a step the context directory itself: the client sends it through fsutil's
filtered walker (``filter.go`` ``filterFS.Walk``), and every step (COPY, ADD, ``RUN
--mount=type=bind``) reads what was sent. :class:`SourceTree` answers the same questions about
the same files without copying them:

- an entry the patterns exclude is not there; a directory is there when it is not excluded, or
  when something inside it is (a ``!exception``): fsutil sends excluded parents lazily, just
  before the first entry inside them, so an excluded tree with no exception inside is absent,
  not an empty directory;
- exclusion is decided walking down (``MatchesUsingParentResults``), and an excluded
  directory is not entered when no exception could reach inside (fsutil's prefix pruning);
- symlinks are entries like others (sent as links, never followed by the walk).
  :meth:`SourceTree.resolve` follows them for a path a Dockerfile names, with the root as
  ``/`` (``..`` stops there) and through the *filtered* tree: a link into an excluded file,
  out of the root or into ``/proc`` finds nothing on the host.

A stage or image root (``COPY --from``) is a tree without patterns.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass

from dockyard.selector.errors import LinkLoopError
from dockyard.selector.patterns import NO_INFO, MatchInfo, PatternMatcher

MAX_LINKS = 255
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


@dataclass(frozen=True)
class Node:
    """One entry of a tree: ``rel`` is its slash path below the root (``"."`` for the root)."""

    rel: str
    host: bytes
    st: os.stat_result
    info: MatchInfo = NO_INFO  # the ignore patterns' results, handed to children while walking

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.st.st_mode)

    @property
    def is_link(self) -> bool:
        return stat.S_ISLNK(self.st.st_mode)


class SourceTree:
    """The files under ``root`` that survive ``ignore`` (None: all of them); see the module doc."""

    def __init__(self, root: str | bytes | os.PathLike[str], *, ignore: PatternMatcher | None = None) -> None:
        self.root = os.fsencode(os.fspath(root)).rstrip(b"/") or b"/"
        self.ignore = ignore if ignore is not None and ignore.patterns else None
        self._children: dict[str, list[Node]] = {}
        self._nodes: dict[str, Node | None] = {}
        self._root = Node(".", self.root, os.stat(self.root))

    @property
    def filtered(self) -> bool:
        """Whether some pattern may hide files (the tree can differ from the directory)."""
        return self.ignore is not None

    # -- lookups ---------------------------------------------------------------------

    def node(self, rel: str) -> Node | None:
        """The entry at the real path ``rel`` (no symlinks followed), or None when absent."""
        if rel in ("", "."):
            return self._root
        if rel in self._nodes:
            return self._nodes[rel]
        parent = self.node(rel.rpartition("/")[0] or ".")
        if parent is not None and parent.is_dir:
            self.children(parent)  # records every visible child in _nodes
        return self._nodes.setdefault(rel, None)

    def children(self, parent: Node) -> list[Node]:
        """The visible entries of directory ``parent``, sorted by name as bytes (Go's order)."""
        cached = self._children.get(parent.rel)
        if cached is not None:
            return cached
        out: list[Node] = []
        try:
            fd = os.open(parent.host, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            self._children[parent.rel] = out
            return out
        try:
            try:
                with os.scandir(parent.host) as it:  # bytes in, bytes names out: sorted as Go sorts
                    entries = sorted(it, key=lambda e: e.name)
            except (FileNotFoundError, NotADirectoryError):
                entries = []
            prefix = "" if parent.rel == "." else parent.rel + "/"
            nodes = self._nodes
            clear = self._clear_below(parent)
            for entry in entries:
                rel = prefix + entry.name.decode(_FS_ENCODING, _FS_ERRORS)  # os.fsdecode, without its checks
                try:  # by name in the open directory: the kernel looks up one name, not the whole path
                    st = os.stat(entry.name, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue
                node = Node(rel, entry.path, st, parent.info) if clear else self._visible(rel, entry.path, st, parent)
                nodes[rel] = node
                if node is not None:
                    out.append(node)
        finally:
            os.close(fd)
        self._children[parent.rel] = out
        return out

    def _clear_below(self, parent: Node) -> bool:
        """Whether no pattern can exclude anything inside ``parent``: none matched it (so none
        carries over, ``MatchesUsingParentResults``) and none names a path below it. Then every
        child's answer is "not excluded" with the parent's all-False results, and the patterns
        need not be tried for each of them (a context's bulk sits in such directories)."""
        info = parent.info
        return (self.ignore is not None and bool(info) and not any(info)
                and not self.ignore.may_match_below(parent.rel, exclusions=False))

    def _visible(self, rel: str, host: bytes, st: os.stat_result, parent: Node) -> Node | None:
        if self.ignore is None:
            return Node(rel, host, st)
        excluded, info = self.ignore.matches_below(rel, parent.info)
        node = Node(rel, host, st, info)
        if not excluded:
            return node
        if not node.is_dir or not self.ignore.may_match_below(rel, exclusions=True):
            return None
        # sent lazily: only when something inside is sent
        return node if self.children(node) else None

    # -- symlinks ----------------------------------------------------------------------

    def resolve(self, rel: str, *, follow_last: bool = True) -> str:
        """``rel`` with its symlinks followed inside the tree (the real path, which may be absent)."""
        todo = [p for p in rel.split("/") if p not in ("", ".")]
        todo.reverse()
        done: list[str] = []
        links = 0
        while todo:
            part = todo.pop()
            if part == "..":
                if done:
                    done.pop()
                continue
            node = self.node("/".join([*done, part]))
            if node is not None and node.is_link and (todo or follow_last):
                links += 1
                if links > MAX_LINKS:
                    raise LinkLoopError(f"too many levels of symbolic links resolving {rel!r}")
                target = os.fsdecode(os.readlink(node.host))
                if target.startswith("/"):
                    done = []
                parts = [p for p in target.split("/") if p not in ("", ".")]
                todo.extend(reversed(parts))
                continue
            done.append(part)
        return "/".join(done) or "."

    def lookup(self, rel: str, *, follow_last: bool = True) -> Node | None:
        """The entry a Dockerfile path names, symlinks followed inside the tree; None if absent."""
        return self.node(self.resolve(rel, follow_last=follow_last))
