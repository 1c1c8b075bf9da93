"""``.dockerignore`` files and the pattern matching of moby's patternmatcher.

Which context files a build may read decides the cache keys, so the rules must be exactly
Docker's: patterns are cleaned paths relative to the context root (a leading ``/`` and a
trailing ``/`` are dropped), ``*`` and ``?`` stay within one path segment, ``**`` spans any
number of segments, ``[...]`` is a character class, ``\\`` escapes, and ``!pattern`` re-includes
what earlier lines excluded. A path is excluded when it, or any of its parent directories,
matches the last applicable pattern. ``NAME.dockerignore`` next to a Dockerfile called
``NAME`` takes precedence over the context's ``.dockerignore``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from dockyard.errors import DockerfileError

_REGEX_SPECIAL = frozenset(".+()|{}$")


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
                raise ValueError('illegal exclusion pattern: "!"')
            text = text[1:]
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


def _translate(pattern: str) -> tuple[_Kind, re.Pattern[str] | None]:
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
        raise ValueError(f"syntax error in pattern {pattern!r}: {exc}") from None


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
        parent = posixpath.dirname(path)
        parent_dirs = parent.split("/") if parent else []
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.match(path)
            if not hit and parent:
                for k in range(1, len(parent_dirs) + 1):
                    if pattern.match("/".join(parent_dirs[:k])):
                        hit = True
                        break
            if hit:
                matched = not pattern.exclusion
        return matched


def read_patterns(text: str) -> list[str]:
    """The patterns of a .dockerignore file, cleaned as Docker cleans them."""
    out: list[str] = []
    for number, raw in enumerate(text.splitlines()):
        line = raw.removeprefix("\ufeff") if number == 0 else raw
        if line.startswith("#"):
            continue
        line = line.strip()
        if not line:
            continue
        invert = line.startswith("!")
        if invert:
            line = line[1:].strip()
        if line:
            line = clean(line)
            if len(line) > 1 and line.startswith("/"):
                line = line[1:]
        out.append("!" + line if invert else line)
    return out


def load_for(context_dir: Path, dockerfile: Path | None) -> list[str]:
    """Patterns for a build: ``<Dockerfile>.dockerignore`` first, else the context's file."""
    candidates: list[Path] = []
    if dockerfile is not None:
        candidates.append(dockerfile.with_name(dockerfile.name + ".dockerignore"))
    candidates.append(context_dir / ".dockerignore")
    for candidate in candidates:
        if candidate.is_file():
            patterns = read_patterns(candidate.read_text(encoding="utf-8", errors="replace"))
            try:
                PatternMatcher(patterns)
            except ValueError as exc:
                raise DockerfileError(f"invalid pattern: {exc}", file=str(candidate)) from None
            return patterns
    return []


def excluded(paths: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """The subset of ``paths`` the patterns exclude (for tests and diagnostics)."""
    matcher = PatternMatcher(patterns)
    return [p for p in paths if matcher.matches(p)]
