"""Which paths of a source filesystem a COPY/ADD source names: wildcards and ``--parents`` pivots.

Sources are written as container paths relative to the source root (a leading ``/`` and any
``..`` that would climb above it are dropped, as BuildKit does). Wildcards follow Go's
``filepath.Match`` — not Python's ``fnmatch``: ``*`` and ``?`` never cross a ``/``, character
classes negate with ``^``, and ``\\`` escapes — because Dockerfiles are written against Go's
rules (``arr[[]0].txt`` names ``arr[0].txt``). A wildcard only matches within the component it
is written in; the matched paths are returned sorted, as a directory walk would visit them.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from dataclasses import dataclass
from functools import lru_cache

from dockyard.dockerfile.dockerignore import PatternMatcher
from dockyard.errors import BuildError
from dockyard.oci.rootpath import resolve


def has_wildcards(text: str) -> bool:
    """True when ``text`` holds an unescaped ``*``, ``?`` or ``[`` (Go's ``containsWildcards``)."""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch in "*?[":
            return True
        i += 1
    return False


def clean_source(path: str) -> str:
    """A source as a clean path relative to the root (``"."`` for the root itself)."""
    cleaned = posixpath.normpath("/" + path)
    cleaned = cleaned.lstrip("/")
    return cleaned or "."


@lru_cache(maxsize=256)
def _component_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i < n:
            out.append(re.escape(pattern[i]))
            i += 1
        elif ch == "[":
            end = i
            if end < n and pattern[end] == "^":
                end += 1
            if end < n and pattern[end] == "]":
                end += 1
            while end < n and pattern[end] != "]":
                end += 2 if pattern[end] == "\\" else 1
            if end >= n:
                raise ValueError(f"syntax error in pattern {pattern!r}")
            body = pattern[i:end]
            negate = body.startswith("^")
            if negate:
                body = body[1:]
            if not body:
                raise ValueError(f"syntax error in pattern {pattern!r}")
            klass = "".join("\\" + c if c in "\\[]^" else c for c in body.replace("\\", ""))
            out.append(f"[{'^' if negate else ''}{klass}]")
            i = end + 1
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def match_component(pattern: str, name: str) -> bool:
    """Go's ``filepath.Match`` for one path component."""
    return _component_regex(pattern).match(name) is not None


def unescape(text: str) -> str:
    """A wildcard-free pattern component as the literal name it stands for."""
    return re.sub(r"\\(.)", r"\1", text)


def expand(root: str, source: str, *, visible: PatternMatcher | None = None) -> list[str]:
    """The paths (relative, sorted) under ``root`` that the wildcard ``source`` matches.

    The literal components before the first wildcard are resolved with symlinks followed
    inside the root (``linkdir/*.txt`` works, as in BuildKit); below that, only real
    directories are entered (Go's ``filepath.Walk`` does not follow links either).
    ``visible`` is the .dockerignore matcher: ignored paths are not in the context.
    """
    parts = clean_source(source).split("/")
    first = next((i for i, part in enumerate(parts) if has_wildcards(part)), len(parts))
    prefix = "/".join(unescape(part) for part in parts[:first])
    try:
        base = os.fsdecode(resolve(root, prefix)) if prefix else root
    except BuildError:
        return []
    found: list[str] = []
    if first < len(parts):
        _expand(base, "", parts[first:], found, _Scope(prefix, visible))
    return found


@dataclass(frozen=True)
class _Scope:
    prefix: str
    visible: PatternMatcher | None

    def name(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel


def _expand(base: str, rel_dir: str, parts: list[str], found: list[str], scope: _Scope) -> None:
    head, rest = parts[0], parts[1:]
    directory = os.path.join(base, rel_dir) if rel_dir else base
    if not has_wildcards(head):
        names = [unescape(head)]
    else:
        try:
            names = sorted(os.listdir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return
        names = [name for name in names if match_component(head, name)]
    for name in names:
        rel = f"{rel_dir}/{name}" if rel_dir else name
        try:
            st = os.lstat(os.path.join(base, rel))
        except (FileNotFoundError, NotADirectoryError):
            continue
        if not is_visible(scope.visible, scope.name(rel), is_dir=stat.S_ISDIR(st.st_mode)):
            continue
        if not rest:
            found.append(scope.name(rel))
        elif stat.S_ISDIR(st.st_mode):
            _expand(base, rel, rest, found, scope)


def is_visible(ignore: PatternMatcher | None, rel: str, *, is_dir: bool) -> bool:
    """Whether the context sent ``rel``: not ignored, or a directory a ``!pattern`` may reach into."""
    if ignore is None or rel == "." or not ignore.matches(rel):
        return True
    return is_dir and ignore.has_exclusions


def split_pivot(source: str) -> tuple[str, str]:
    """``COPY --parents`` source -> (directory copied from, pattern kept below it).

    ``x/./y/*.txt`` keeps ``y/...`` under the destination; without a ``/./`` pivot the whole
    path is kept and the copy starts at the root.
    """
    parent, sep, pattern = source.partition("/./")
    if not sep:
        return ".", clean_source(source)
    return clean_source(parent), clean_source(pattern)
