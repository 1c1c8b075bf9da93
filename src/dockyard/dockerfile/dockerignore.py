"""``.dockerignore`` files: which one applies, and its lines as patterns.

``NAME.dockerignore`` next to a Dockerfile called ``NAME`` takes precedence over the
context's ``.dockerignore``. Lines are cleaned as moby's ``ignorefile.ReadAll`` cleans them
(comments and blank lines dropped, a leading ``/`` removed, ``!`` kept for exceptions); a
malformed pattern is a Dockerfile error naming the file and line. What the patterns mean,
and what the build then sees of the context, is :mod:`dockyard.selector`'s business.
"""

from __future__ import annotations

from pathlib import Path

from dockyard.errors import DockerfileError
from dockyard.selector.errors import BadPatternError
from dockyard.selector.patterns import Pattern, PatternMatcher, clean

__all__ = ["PatternMatcher", "load_for", "read_patterns"]


def read_patterns(text: str) -> list[str]:
    """The patterns of a .dockerignore file, cleaned as Docker cleans them."""
    return [pattern for _, pattern in _numbered(text)]


def _numbered(text: str) -> list[tuple[int, str]]:
    """(line number, pattern) for each pattern line (moby ``ignorefile.ReadAll``)."""
    out: list[tuple[int, str]] = []
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
        out.append((number + 1, "!" + line if invert else line))
    return out


def load_for(context_dir: Path, dockerfile: Path | None) -> list[str]:
    """Patterns for a build: ``<Dockerfile>.dockerignore`` first, else the context's file."""
    candidates: list[Path] = []
    if dockerfile is not None:
        candidates.append(dockerfile.with_name(dockerfile.name + ".dockerignore"))
    candidates.append(context_dir / ".dockerignore")
    for candidate in candidates:
        if candidate.is_file():
            numbered = _numbered(candidate.read_text(encoding="utf-8", errors="replace"))
            for number, pattern in numbered:
                try:
                    Pattern.compile(pattern)
                except BadPatternError as exc:
                    raise DockerfileError(f"invalid .dockerignore pattern {pattern!r}: {exc}",
                                          file=str(candidate), line=number,
                                          hint="escape [ ] * ? with a backslash to match them literally") from None
            return [pattern for _, pattern in numbered]
    return []
