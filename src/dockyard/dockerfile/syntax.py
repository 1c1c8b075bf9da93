"""Parser adapter: BuildKit's own Dockerfile parser (PyPI ``dockerfile``) plus what it drops.

The compiled Go parser is the reference for line continuations, heredocs and JSON forms, so
we use it rather than re-implement it. It does not report directives, comments, whether a
heredoc delimiter was quoted (which turns expansion off) or where a syntax error is; this
module adds those from the raw text, so later stages get everything with line numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import dockerfile as _gopar

from dockyard.errors import DockerfileError

DIRECTIVES = ("syntax", "escape", "check")
_DIRECTIVE_RE = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$")
_COMMENT_RE = re.compile(r"^\s*#(.*)$")


@dataclass(frozen=True)
class Heredoc:
    """A here-document body; ``expand`` is False when the delimiter was quoted."""

    name: str
    content: str
    expand: bool
    chomp: bool


@dataclass(frozen=True)
class RawCommand:
    """One instruction as the parser saw it, before any typing or expansion.

    ``keyword`` is upper case; ``written`` keeps the spelling of the file (for the casing
    checks). For ONBUILD, ``trigger`` is the text after the keyword, kept verbatim because
    it is stored in the image config and parsed again in the child image.
    """

    keyword: str
    written: str
    flags: tuple[str, ...]
    args: tuple[str, ...]
    json: bool
    original: str
    line: int
    end_line: int
    heredocs: tuple[Heredoc, ...] = ()
    trigger: str = ""


@dataclass(frozen=True)
class ParsedDockerfile:
    """A parsed file: its directives, commands and the comment lines (for descriptions)."""

    filename: str
    directives: Mapping[str, str]
    commands: tuple[RawCommand, ...]
    comments: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))
    escape: str = "\\"
    lines: tuple[str, ...] = ()


def _directives(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        m = _DIRECTIVE_RE.match(line)
        if not m:
            break
        key = m.group(1).lower()
        if key not in DIRECTIVES or key in found:
            break
        found[key] = m.group(2)
    return found


def _heredocs(original: str, docs: tuple[object, ...]) -> tuple[Heredoc, ...]:
    out = []
    for doc in docs:
        name = str(getattr(doc, "name", ""))
        content = str(getattr(doc, "content", ""))
        m = re.search(r"<<(-?)([\"']?)" + re.escape(name) + r"\2", original)
        chomp = bool(m and m.group(1))
        quoted = bool(m and m.group(2))
        if chomp:
            content = "".join(line.lstrip("\t") for line in content.splitlines(keepends=True))
        out.append(Heredoc(name=name, content=content, expand=not quoted, chomp=chomp))
    return tuple(out)


def _convert(cmd: object) -> RawCommand:
    written = str(getattr(cmd, "cmd", ""))
    keyword = written.upper()
    original = str(getattr(cmd, "original", ""))
    trigger = ""
    if keyword == "ONBUILD":
        trigger = re.sub(r"^\s*\S+\s*", "", original, count=1)
    return RawCommand(
        keyword=keyword,
        written=written,
        flags=tuple(getattr(cmd, "flags", ())),
        args=tuple(getattr(cmd, "value", ())),
        json=bool(getattr(cmd, "json", False)),
        original=original,
        line=int(getattr(cmd, "start_line", 0)),
        end_line=int(getattr(cmd, "end_line", 0)),
        heredocs=_heredocs(original, tuple(getattr(cmd, "heredocs", ()))),
        trigger=trigger,
    )


def _locate_error(lines: list[str], message: str) -> int:
    """Find the line a Go parse error belongs to (the parser does not say).

    The answer is the shortest prefix of the file from which every longer prefix fails
    with the same message: a prefix that merely cuts a valid heredoc fails too, but the
    next line repairs it, so walking back from the end finds the real culprit.
    """
    line = len(lines)
    for k in range(len(lines), 0, -1):
        try:
            _gopar.parse_string("\n".join(lines[:k]) + "\n")
        except _gopar.GoParseError as exc:
            if str(exc) != message:
                break
            line = k
            continue
        break
    return line


def parse_text(text: str, *, filename: str = "Dockerfile") -> ParsedDockerfile:
    """Parse Dockerfile text; syntax errors become one-line :class:`DockerfileError`."""
    lines = text.splitlines()
    try:
        commands = tuple(_convert(c) for c in _gopar.parse_string(text))
    except _gopar.GoParseError as exc:
        message = str(exc)
        line = _locate_error(lines, message)
        shown = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        raise DockerfileError(f"{message}: {shown}" if shown else message, file=filename, line=line) from None
    directives = _directives(lines)
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise DockerfileError(f"invalid escape token {escape!r} does not match [\\`]", file=filename, line=1)
    comments = {}
    for number, raw in enumerate(lines, 1):
        m = _COMMENT_RE.match(raw)
        if m:
            comments[number] = m.group(1).strip()
    return ParsedDockerfile(
        filename=filename,
        directives=MappingProxyType(directives),
        commands=commands,
        comments=MappingProxyType(comments),
        escape=escape,
        lines=tuple(lines),
    )


def parse_path(path: Path) -> ParsedDockerfile:
    """Read and parse a Dockerfile; the error names the file as given."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DockerfileError(f"cannot read Dockerfile: {exc.strerror}", file=str(path)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DockerfileError(f"not UTF-8: byte 0x{data[exc.start]:02x} at column {column}", file=str(path),
                              line=line, hint="save the Dockerfile as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
    return parse_text(text, filename=str(path))


def parse_trigger(trigger: str, *, filename: str, line: int) -> RawCommand:
    """Parse one ONBUILD trigger expression taken from a base image's config."""
    try:
        parsed = _gopar.parse_string(trigger + "\n")
    except _gopar.GoParseError as exc:
        message = f"invalid ONBUILD trigger {trigger!r}: {exc}"
        raise DockerfileError(message, file=filename, line=line) from None
    if len(parsed) != 1:
        raise DockerfileError(f"invalid ONBUILD trigger {trigger!r}", file=filename, line=line)
    cmd = _convert(parsed[0])
    return RawCommand(
        keyword=cmd.keyword,
        written=cmd.written,
        flags=cmd.flags,
        args=cmd.args,
        json=cmd.json,
        original=cmd.original,
        line=line,
        end_line=line,
        heredocs=cmd.heredocs,
    )
