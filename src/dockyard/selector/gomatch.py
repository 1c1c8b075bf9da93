"""Go's ``path.Match`` (``filepath.Match`` on Linux), the wildcard language of COPY/ADD sources.

BuildKit resolves COPY wildcards with Go's matcher (fsutil ``copy.ResolveWildcards``, and
``path.Match`` in buildkit ``cache/contenthash/checksum.go`` ``includedPaths``), whose rules
differ from Python's ``fnmatch`` and from regular expressions:

- ``*`` matches any run of non-``/`` characters, ``?`` one non-``/`` character;
- ``[...]`` is a class of single characters and ranges ``a-z``, negated by a leading ``^``
  (not ``!``); a class *can* match ``/``; ``]`` first in a class, an unescaped ``-`` where a
  character is expected, an unterminated class or a trailing ``\\`` make the pattern bad;
- ``\\`` escapes the next character, also inside a class;
- matching is Go's chunk algorithm: each ``*`` takes the *leftmost* place where the chunk
  after it matches, and never crosses a ``/`` (so ``*[^a]*c`` does not match ``b/c``,
  although the regular expression one would write for it does).

A malformed pattern is an error even when the name does not reach the bad part (Go checks
the rest of the pattern before answering "no"): :class:`BadPatternError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from dockyard.selector.errors import BadPatternError


@dataclass(frozen=True)
class _Class:
    """A ``[...]`` character class: inclusive ranges, matched unless ``negated``."""

    negated: bool
    ranges: tuple[tuple[str, str], ...]

    def matches(self, ch: str) -> bool:
        return any(lo <= ch <= hi for lo, hi in self.ranges) != self.negated


# A chunk is a sequence of items: a literal character (str of length 1), ``None`` for ``?``,
# or a character class.
_Item = str | None | _Class


@dataclass(frozen=True)
class _Chunk:
    """A run of literal items and classes, optionally preceded by ``*`` (Go's ``filepath.Match`` chunks)."""

    star: bool
    items: tuple[_Item, ...]


def _class(pattern: str, i: int) -> tuple[_Class, int]:
    """Parse the class starting after ``[`` at ``i``; returns it and the index after ``]``."""
    negated = i < len(pattern) and pattern[i] == "^"
    if negated:
        i += 1
    ranges: list[tuple[str, str]] = []
    while True:
        if i < len(pattern) and pattern[i] == "]" and ranges:
            return _Class(negated, tuple(ranges)), i + 1
        lo, i = _class_char(pattern, i)
        hi = lo
        if pattern[i] == "-":
            hi, i = _class_char(pattern, i + 1)
        ranges.append((lo, hi))


def _class_char(pattern: str, i: int) -> tuple[str, int]:
    """One (possibly escaped) character of a class; a bad one, or the pattern's end, is an error."""
    if i >= len(pattern) or pattern[i] in "-]":
        raise BadPatternError
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            raise BadPatternError
    i += 1
    if i >= len(pattern):  # a class can never be the end of a well-formed pattern
        raise BadPatternError
    return pattern[i - 1], i


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> tuple[_Chunk, ...]:
    chunks: list[_Chunk] = []
    i, n = 0, len(pattern)
    while i < n or not chunks:
        star = False
        while i < n and pattern[i] == "*":
            star = True
            i += 1
        items: list[_Item] = []
        while i < n and pattern[i] != "*":
            ch = pattern[i]
            if ch == "[":
                klass, i = _class(pattern, i + 1)
                items.append(klass)
                continue
            if ch == "?":
                items.append(None)
            elif ch == "\\":
                i += 1
                if i >= n:
                    raise BadPatternError
                items.append(pattern[i])
            else:
                items.append(ch)
            i += 1
        chunks.append(_Chunk(star, tuple(items)))
        if i >= n:
            break
    return tuple(chunks)


def validate(pattern: str) -> None:
    """Raise :class:`BadPatternError` unless ``pattern`` is well-formed."""
    try:
        _compile(pattern)
    except BadPatternError:
        raise BadPatternError(f"syntax error in pattern {pattern!r}") from None


def _match_chunk(items: tuple[_Item, ...], name: str, at: int) -> int:
    """Index after ``items`` matched at ``name[at:]``, or -1."""
    for item in items:
        if at >= len(name):
            return -1
        ch = name[at]
        if item is None:
            if ch == "/":
                return -1
        elif isinstance(item, _Class):
            if not item.matches(ch):
                return -1
        elif item != ch:
            return -1
        at += 1
    return at


def match(pattern: str, name: str) -> bool:
    """Go's ``path.Match(pattern, name)``; raises :class:`BadPatternError` for a bad pattern."""
    try:
        chunks = _compile(pattern)
    except BadPatternError:
        raise BadPatternError(f"syntax error in pattern {pattern!r}") from None
    at = 0
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        if chunk.star and not chunk.items:
            return "/" not in name[at:]
        end = _match_chunk(chunk.items, name, at)
        if end >= 0 and (end == len(name) or not last):
            at = end
            continue
        if not chunk.star:
            return False
        found = -1
        skip = at
        while skip < len(name) and name[skip] != "/":
            end = _match_chunk(chunk.items, name, skip + 1)
            if end >= 0 and not (last and end < len(name)):
                found = end
                break
            skip += 1
        if found < 0:
            return False
        at = found
    return at == len(name)


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


def fixed_depth(pattern: str) -> int | None:
    """How many path components every name ``pattern`` matches has, or None when a character
    class could match ``/`` (then any depth can match). Lets a wildcard walk stop early."""
    slashes = 0
    for chunk in _compile(pattern):
        for item in chunk.items:
            if isinstance(item, _Class) and item.matches("/"):
                return None
            slashes += item == "/"
    return slashes + 1
