"""Instruction flags (``--name=value``) with BuildKit's rules, and did-you-mean suggestions.

Each instruction declares the flags it accepts and their kind: a string (``--from=x``), a
boolean (``--link`` or ``--link=false``) or a repeatable list (``--mount``, ``--exclude``).
Anything else is an error that names the closest known flag, because a mistyped flag that
were silently ignored would change what the image contains.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from dockyard.suggest import suggest

_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}


class FlagKind(Enum):
    STRING = "string"
    BOOL = "bool"
    LIST = "list"


class FlagError(ValueError):
    """A flag is unknown, repeated, missing its value or has a bad one."""


def _levenshtein(a: str, b: str) -> int:
    """Edit distance with unit costs (agext/levenshtein ``Distance`` with nil params)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def closest(word: str, options: Iterable[str]) -> str:
    """BuildKit's util/suggest ``Search`` (case-sensitive): the first option closer than 3 edits,
    a closer one replacing it; empty when none is, or when ``word`` itself is an option (the lint
    rules' "did you mean" hints)."""
    match, best = "", 3
    for option in options:
        if option == word:
            return ""
        distance = _levenshtein(word, option)
        if distance < best:
            match, best = option, distance
    return match


@dataclass(frozen=True)
class ParsedFlags:
    """Flag values by name; absent flags are missing from the mappings."""

    strings: Mapping[str, str]
    bools: Mapping[str, bool]
    lists: Mapping[str, tuple[str, ...]]

    def string(self, name: str, default: str = "") -> str:
        return self.strings.get(name, default)

    def flag(self, name: str, default: bool = False) -> bool:
        return self.bools.get(name, default)

    def many(self, name: str) -> tuple[str, ...]:
        return self.lists.get(name, ())


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("", "true", "1", "t"):
        return True
    if lowered in ("false", "0", "f"):
        return False
    raise FlagError(f"expecting boolean value for flag --{name}, not: {value}")


def parse_flags(keyword: str, raw: Iterable[str], spec: Mapping[str, FlagKind]) -> ParsedFlags:
    """Parse raw ``--name[=value]`` items against ``spec``; raises :class:`FlagError`."""
    strings: dict[str, str] = {}
    bools: dict[str, bool] = {}
    lists: dict[str, list[str]] = {}
    for item in raw:
        if not item.startswith("--"):
            raise FlagError(f"arg should start with -- : {item}")
        body = item[2:]
        name, has_value, value = body.partition("=")
        if name not in spec:
            hint = suggest(name, [f"--{k}" for k in spec]) if spec else ""
            raise FlagError(f"unknown flag: --{name}{hint}")
        kind = spec[name]
        if kind is FlagKind.LIST:
            if not has_value:
                raise FlagError(f"missing a value on flag: --{name}")
            lists.setdefault(name, []).append(value)
            continue
        if name in strings or name in bools:
            raise FlagError(f"duplicate flag specified: --{name}")
        if kind is FlagKind.BOOL:
            bools[name] = _parse_bool(name, value if has_value else "")
        else:
            if not has_value:
                raise FlagError(f"missing a value on flag: --{name}")
            strings[name] = value
    return ParsedFlags(strings, bools, {k: tuple(v) for k, v in lists.items()})


def parse_duration(name: str, text: str) -> int:
    """A Go-style duration (``30s``, ``1m30s``, ``1.5h``, ``0``) in nanoseconds."""
    if text in ("", "0"):
        return 0
    pos = 0
    total = 0.0
    for m in _DURATION_RE.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise FlagError(f"invalid duration {text!r} for --{name} (use e.g. 30s, 1m30s, 500ms)")
    nanos = int(total)
    if 0 < nanos < 1_000_000:
        raise FlagError(f"--{name} cannot be less than 1ms")
    return nanos
