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
from functools import lru_cache

from dockyard.dockerfile.dockerignore import PatternMatcher


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

    Intermediate components are only entered when they are real directories (a symlinked
    directory is not walked into, as Go's ``filepath.Walk`` does not). ``visible`` is the
    .dockerignore matcher: ignored paths are not in the context, so they never match.
    """
    parts = clean_source(source).split("/")
    found: list[str] = []
    _expand(root, "", parts, found, visible)
    return found


def _expand(root: str, base: str, parts: list[str], found: list[str], visible: PatternMatcher | None) -> None:
    head, rest = parts[0], parts[1:]
    directory = os.path.join(root, base) if base else root
    if not has_wildcards(head):
        names = [unescape(head)]
    else:
        try:
            names = sorted(os.listdir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return
        names = [name for name in names if match_component(head, name)]
    for name in names:
        rel = f"{base}/{name}" if base else name
        try:
            st = os.lstat(os.path.join(root, rel))
        except (FileNotFoundError, NotADirectoryError):
            continue
        if not is_visible(visible, rel, is_dir=stat.S_ISDIR(st.st_mode)):
            continue
        if not rest:
            found.append(rel)
        elif stat.S_ISDIR(st.st_mode):
            _expand(root, rel, rest, found, visible)


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
