"""What one COPY/ADD reads from a source tree: the sources it names and every entry below them.

Both the copy (:mod:`dockyard.engine.copy`) and its cache key (:mod:`dockyard.graph.contenthash`)
iterate the :class:`Entry` values produced here, so the key covers exactly what is copied.
The rules are BuildKit's:

- a source is a path relative to the root (``/x``, ``x`` and ``../x`` all mean ``x``), taken
  as written when it has no wildcard (a ``\\`` in it is part of the name: fsutil
  ``splitWildcards`` and ``rootPath`` never unescape);
  with wildcards (Go's ``path.Match``, :mod:`dockyard.selector.gomatch`) the literal part
  before the first wildcard is resolved through symlinks, then the tree below is walked and
  each path is matched whole against the rest; a matching directory is not entered further
  (fsutil ``copy.ResolveWildcards``); a named source that is a symlink is followed inside the
  tree (``FollowSymlinks``); the wildcard matches are in walk order (sorted by name);
- ``COPY --parents a/./b/*.txt`` copies from ``a`` with the include pattern ``b/*.txt``
  (moby/patternmatcher, so ``**`` works); without a ``/./`` pivot from the root; a source
  without wildcards must exist (``RequiredPaths``; dockerfile2llb ``dispatchCopy``);
- below a source, ``--exclude`` patterns and ``--parents`` include patterns are matched
  against the path relative to the source, walking down (``MatchesUsingParentResults``);
  a directory that is not itself included is emitted only just before the first entry inside
  it that is (fsutil ``copy/copy.go`` ``copier.createParentDirs``): it is ``lazy``.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from dockyard.selector.errors import SourceNotFoundError
from dockyard.selector.gomatch import fixed_depth, has_wildcards, match, validate
from dockyard.selector.patterns import NO_INFO, MatchInfo, PatternMatcher
from dockyard.selector.tree import Node, SourceTree


@dataclass(frozen=True, kw_only=True)
class SourceSpec:
    """The file-selecting part of a COPY/ADD (everything that decides *which* entries)."""

    paths: tuple[str, ...]
    excludes: tuple[str, ...] = ()
    parents: bool = False
    follow_symlinks: bool = True
    allow_wildcard: bool = True
    allow_empty_wildcard: bool = True  # dockerfile2llb dispatchCopy sets AllowEmptyWildcard


@dataclass(frozen=True)
class Top:
    """One selected source: ``name`` as selected (for ``dest/<basename>``), ``node`` followed."""

    name: str
    node: Node


@dataclass(frozen=True)
class Entry:
    """An entry below a :class:`Top`; ``rel`` is its path relative to the top's directory."""

    rel: str
    node: Node
    lazy: bool = False


@dataclass(frozen=True)
class Selected:
    """A selected source and the entries below it (empty for a file or symlink)."""

    top: Top
    entries: tuple[Entry, ...]


def check_patterns(spec: SourceSpec) -> None:
    """Raise :class:`~dockyard.selector.errors.BadPatternError` for any malformed pattern of ``spec``."""
    for written in spec.paths:
        path, include = split_pivot(written) if spec.parents else (written, "")
        if spec.allow_wildcard and has_wildcards(path):
            validate(clean_source(path))
        if include:
            PatternMatcher([include])
    PatternMatcher(spec.excludes)


def clean_source(path: str) -> str:
    """A source as a clean path relative to the root (``"."`` for the root itself)."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts) or "."


def split_pivot(source: str) -> tuple[str, str]:
    """``COPY --parents`` source -> (directory copied from, include pattern below it)."""
    parent, sep, pattern = source.partition("/./")
    if not sep:
        return ".", clean_source(source)
    return clean_source(parent), clean_source(pattern)


def select(tree: SourceTree, spec: SourceSpec) -> list[Selected]:
    """The sources ``spec`` names in ``tree`` with the entries below each, in copy order.

    Raises :class:`~dockyard.selector.errors.SourceNotFoundError` for a source that selects
    nothing (a wildcard may, with ``allow_empty_wildcard``) and
    :class:`~dockyard.selector.errors.BadPatternError` for a malformed pattern.
    """
    check_patterns(spec)
    excludes = PatternMatcher(spec.excludes) if spec.excludes else None
    out: list[Selected] = []
    for written in spec.paths:
        path, pattern = split_pivot(written) if spec.parents else (written, "")
        include = PatternMatcher([pattern]) if pattern not in ("", ".") else None
        wild = spec.allow_wildcard and has_wildcards(path)
        found = _expand(tree, clean_source(path), spec) if wild else _literal(tree, path, spec)
        selected = [Selected(Top(name, node), tuple(entries(tree, node, include, excludes)))
                    for name, node in found]
        if not selected and not (wild and spec.allow_empty_wildcard):
            raise SourceNotFoundError(written)
        if spec.parents and not wild and not has_wildcards(pattern):
            _require(selected, clean_source(f"{path}/{pattern}"), written)
        out.extend(selected)
    return out


def _require(selected: list[Selected], required: str, written: str) -> None:
    """``COPY --parents`` without wildcards: the named path must be among what is copied
    (buildkit ``cache/contenthash/checksum.go`` ``includedPaths``, ``RequiredPaths``: a
    string prefix test, as there)."""
    for item in selected:
        top = item.top.name
        if top.startswith(required) or required == ".":
            return
        for entry in item.entries:
            if (entry.rel if top == "." else f"{top}/{entry.rel}").startswith(required):
                return
    raise SourceNotFoundError(written)


def _literal(tree: SourceTree, path: str, spec: SourceSpec) -> list[tuple[str, Node]]:
    name = clean_source(path)  # as written: BuildKit never unescapes a literal source
    node = tree.lookup(name, follow_last=spec.follow_symlinks)
    return [] if node is None else [(name, node)]


def _expand(tree: SourceTree, path: str, spec: SourceSpec) -> list[tuple[str, Node]]:
    """fsutil ``copy.ResolveWildcards``: walk below the literal prefix, match each path whole."""
    parts = path.split("/")
    first = next(i for i, part in enumerate(parts) if has_wildcards(part))
    prefix = "/".join(parts[:first]) or "."
    rest = "/".join(parts[first:])
    depth = fixed_depth(rest)
    base = tree.lookup(prefix)
    if base is None or not base.is_dir:
        return []
    found: list[tuple[str, Node]] = []
    stack = [(node, 1) for node in reversed(tree.children(base))]
    while stack:
        node, level = stack.pop()
        below = node.rel if base.rel == "." else node.rel[len(base.rel) + 1:]
        if match(rest, below):
            followed = tree.lookup(node.rel) if node.is_link and spec.follow_symlinks else node
            if followed is not None:
                found.append((below if prefix == "." else f"{prefix}/{below}", followed))
            continue  # a matching directory is not entered (SkipDir)
        if node.is_dir and (depth is None or level < depth):
            stack.extend((child, level + 1) for child in reversed(tree.children(node)))
    return found


def entries(tree: SourceTree, top: Node, include: PatternMatcher | None,
            excludes: PatternMatcher | None) -> Iterator[Entry]:
    """Every entry copied below directory ``top``, parents before children (see the module doc)."""
    if not top.is_dir:
        return iter(())
    if include is None and excludes is None:
        return _everything(tree, top, "")
    return _Walk(tree, include, excludes).below(top, "", NO_INFO, NO_INFO)


def _everything(tree: SourceTree, directory: Node, rel: str) -> Iterator[Entry]:
    """:meth:`_Walk.below` with no pattern to apply (a plain COPY): every entry, none lazy."""
    cut = 0 if directory.rel == "." else len(directory.rel) + 1  # a child's rel is its parent's, "/", its name
    prefix = rel + "/" if rel else ""
    for node in tree.children(directory):
        child = prefix + node.rel[cut:]
        yield Entry(child, node)
        if stat.S_ISDIR(node.st.st_mode):
            yield from _everything(tree, node, child)


@dataclass
class _Pending:
    """A directory entry held back until something under it is selected (parents come first)."""

    entry: Entry
    emitted: bool = False


@dataclass
class _Walk:
    """fsutil ``copy/copy.go`` ``copier.copy``/``copyDirectory`` as a generator of entries."""

    tree: SourceTree
    include: PatternMatcher | None
    excludes: PatternMatcher | None
    pending: list[_Pending] = field(default_factory=list)

    def below(self, directory: Node, rel: str, inc_info: MatchInfo, exc_info: MatchInfo) -> Iterator[Entry]:
        include, excludes = self.include, self.excludes
        reinclusions = excludes is not None and excludes.has_exclusions
        for node in self.tree.children(directory):
            name = node.rel.rpartition("/")[2]
            child = f"{rel}/{name}" if rel else name
            included, child_inc = (True, NO_INFO) if include is None else include.matches_below(child, inc_info)
            excluded, child_exc = (False, NO_INFO) if excludes is None else excludes.matches_below(child, exc_info)
            if excluded:
                included = False
            if not included and (not node.is_dir or (include is None and not reinclusions)):
                continue  # an excluded file, or nothing inside can come back
            if included:
                for item in self.pending:
                    if not item.emitted:
                        item.emitted = True
                        yield item.entry
            if not node.is_dir:
                yield Entry(child, node)
                continue
            if not included:
                if excluded and not reinclusions:
                    continue
                if not excluded and include is not None and not include.may_match_below(child, exclusions=False):
                    continue  # fsutil filter.go prefix pruning: no include pattern reaches inside
            entry = Entry(child, node, lazy=not included)
            if included:
                yield entry
            self.pending.append(_Pending(entry, emitted=included))
            yield from self.below(node, child, child_inc, child_exc)
            self.pending.pop()
