"""moby/patternmatcher: the pattern language of .dockerignore, ``--exclude`` and ``--parents``.

Unlike COPY wildcards (:mod:`dockyard.selector.gomatch`), these patterns are translated to a
regular expression over the whole slash path: ``*`` and ``?`` stay within one segment, ``**``
spans any number of segments (``**/x`` also matches ``x``, a trailing ``**`` anything below),
``[...]`` passes through as a class (``[^a]`` negates), ``\\`` escapes. Patterns are cleaned
paths (a leading or trailing ``/`` is dropped); ``!pattern`` re-includes what earlier lines
excluded. A pattern that Go's ``filepath.Match`` finds malformed is refused when compiled
(``patternmatcher.New``), as Docker refuses it.

Two ways to ask "is this path excluded", both from ``patternmatcher.go``:

- :meth:`PatternMatcher.matches` (``MatchesOrParentMatches``): the path or any parent matches;
  for a single path looked up without a walk;
- :meth:`PatternMatcher.matches_below` (``MatchesUsingParentResults``): during a walk, each
  pattern that matched the parent directory counts as matching the child, and only the child's
  own path is tested otherwise. fsutil's walker (``filter.go`` ``filterFS.Walk``) and copier
  (``copy/copy.go`` ``copier.copy``) use this one, and it can differ: with ``a/b`` then ``!a``,
  a walk excludes ``a/b``, a lookup does not. The selector walks, so it uses this one.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from dockyard.selector.errors import BadPatternError
from dockyard.selector.gomatch import validate

_REGEX_SPECIAL = frozenset(".+()|{}$")
_PATTERN_CHARS = frozenset("*[]?^\\")


class _Kind(Enum):
    EXACT = 1
    PREFIX = 2
    SUFFIX = 3
    REGEX = 4


def clean(path: str) -> str:
    """Go's ``filepath.Clean`` for slash paths (``""`` -> ``"."``)."""
    if not path:
        return "."
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


@dataclass(frozen=True)
class Pattern:
    """One compiled pattern; ``exclusion`` is True for ``!pattern`` lines."""

    text: str
    exclusion: bool
    kind: _Kind
    regex: re.Pattern[str] | None

    @classmethod
    def compile(cls, raw: str) -> Pattern:
        text = clean(raw.strip())
        exclusion = text.startswith("!")
        if exclusion:
            if len(text) == 1:
                raise BadPatternError('illegal exclusion pattern: "!"')
            text = text[1:]
        validate(text)
        kind, regex = _translate(text)
        return cls(text=text, exclusion=exclusion, kind=kind, regex=regex)

    def match(self, path: str) -> bool:
        if self.kind is _Kind.EXACT:
            return path == self.text
        if self.kind is _Kind.PREFIX:
            return path.startswith(self.text[:-2])
        if self.kind is _Kind.SUFFIX:
            suffix = self.text[2:]
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]
        assert self.regex is not None
        return self.regex.match(path) is not None

    def literal_prefix(self) -> str | None:
        """The path this pattern names when it has no pattern characters, ignoring a trailing
        ``/*`` or ``/**`` (fsutil's ``patternWithoutTrailingGlob``); None otherwise."""
        text = self.text.removesuffix("/**").removesuffix("/*")
        return None if any(c in _PATTERN_CHARS for c in text) else text


def _translate(pattern: str) -> tuple[_Kind, re.Pattern[str] | None]:  # noqa: C901, PLR0912 - Go filepath.Match pattern syntax translated token by token
    out = ["^"]
    kind = _Kind.EXACT
    i = 0
    step = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":
                    i += 1
                if i >= n:
                    if kind is _Kind.EXACT:
                        kind = _Kind.PREFIX
                    else:
                        out.append(".*")
                        kind = _Kind.REGEX
                else:
                    out.append("(.*/)?")
                    kind = _Kind.REGEX
                if step == 0:
                    kind = _Kind.SUFFIX
            else:
                out.append("[^/]*")
                kind = _Kind.REGEX
        elif ch == "?":
            out.append("[^/]")
            kind = _Kind.REGEX
        elif ch in _REGEX_SPECIAL:
            out.append("\\" + ch)
        elif ch == "\\":
            if i < n:
                out.append(re.escape(pattern[i]))
                i += 1
                kind = _Kind.REGEX
            else:
                out.append("\\\\")
        elif ch in "[]":
            out.append(ch)
            kind = _Kind.REGEX
        else:
            out.append(ch)
        step += 1
    if kind is not _Kind.REGEX:
        return kind, None
    try:
        return kind, re.compile("".join(out) + "$")
    except re.error as exc:
        raise BadPatternError(f"syntax error in pattern {pattern!r}: {exc}") from None


class MatchInfo(tuple[bool, ...]):
    """Which patterns matched a directory (``patternmatcher.MatchInfo``); empty = unknown."""

    __slots__ = ()


NO_INFO = MatchInfo(())


class PatternMatcher:
    """An ordered list of patterns; the last applicable one decides."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(Pattern.compile(p) for p in patterns if p.strip())
        self.has_exclusions = any(p.exclusion for p in self.patterns)

    def matches(self, path: str) -> bool:
        """True when ``path`` (slash-separated, relative) or one of its parents is excluded."""
        path = clean(path)
        if path == ".":
            return False
        return self.matches_below(path, NO_INFO)[0]

    def matches_below(self, path: str, parent: MatchInfo) -> tuple[bool, MatchInfo]:
        """``MatchesUsingParentResults``: ``parent`` is what this returned for the directory
        holding ``path`` (``NO_INFO`` at the top: then parents are tested by path)."""
        matched = False
        info: list[bool] = []
        for index, pattern in enumerate(self.patterns):
            hit = bool(parent) and parent[index]
            if not hit:
                if pattern.exclusion != matched:
                    info.append(False)
                    continue
                hit = pattern.match(path)
                if not hit and not parent:
                    hit = _parent_matches(pattern, path)
            info.append(hit)
            if hit:
                matched = not pattern.exclusion
        return matched, MatchInfo(info)

    def may_match_below(self, directory: str, *, exclusions: bool) -> bool:
        """False only when no pattern of the kind asked (``!`` exceptions, or plain patterns)
        can match anything inside ``directory``; fsutil's prefix-only pruning (``filter.go``)."""
        wanted = [p for p in self.patterns if p.exclusion == exclusions]
        prefix = directory + "/"
        for pattern in wanted:
            literal = pattern.literal_prefix()
            if literal is None or (literal + "/").startswith(prefix):
                return True
        return False


def _parent_matches(pattern: Pattern, path: str) -> bool:
    parts = path.split("/")[:-1]
    return any(pattern.match("/".join(parts[: k + 1])) for k in range(len(parts)))
