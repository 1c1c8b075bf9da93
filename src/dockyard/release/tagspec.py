"""Tag specs and flavor lines in docker/metadata-action's syntax, so workflows port unchanged.

A tag spec is one CSV line of ``key=value`` fields (a field without ``=`` is the ``value``),
e.g. ``type=semver,pattern={{major}}.{{minor}}`` or ``type=raw,value=edge,enable={{is_default_branch}}``.
Each type has metadata-action's defaults (``type=sha`` gets ``prefix=sha-``, ``type=ref,event=pr``
gets ``prefix=pr-``, ``type=schedule`` gets ``pattern=nightly``) and priority; specs are applied
highest priority first, and the first tag made is the version. A flavor line sets
``latest=auto|true|false``, a global ``prefix=``/``suffix=`` and whether ``latest`` gets them
(``onlatest=true`` after the prefix or suffix it applies to).
"""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dockyard.errors import UsageError


class TagType(enum.StrEnum):
    SCHEDULE = "schedule"
    SEMVER = "semver"
    PEP440 = "pep440"
    MATCH = "match"
    EDGE = "edge"
    REF = "ref"
    RAW = "raw"
    SHA = "sha"


PRIORITIES = {TagType.SCHEDULE: 1000, TagType.SEMVER: 900, TagType.PEP440: 900, TagType.MATCH: 800,
              TagType.EDGE: 700, TagType.REF: 600, TagType.RAW: 200, TagType.SHA: 100}
REF_EVENTS = ("branch", "tag", "pr")
DEFAULT_SPECS = ("type=schedule", "type=ref,event=branch", "type=ref,event=tag", "type=ref,event=pr")


@dataclass(frozen=True)
class TagSpec:
    """One parsed line: its type, priority and attributes (``prefix``/``suffix`` only when given)."""

    type: TagType
    priority: int
    attrs: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str, default: str = "") -> str:
        return self.attrs.get(key, default)


@dataclass(frozen=True)
class Flavor:
    latest: str = "auto"  # auto | true | false
    prefix: str = ""
    prefix_latest: bool = False
    suffix: str = ""
    suffix_latest: bool = False


def _fields(line: str, *, what: str) -> list[str]:
    try:
        rows = [row for row in csv.reader([line], skipinitialspace=True) if row]
    except csv.Error as exc:
        raise UsageError(f"invalid {what} {line!r}: {exc}") from None
    return [f for f in rows[0] if f.strip()] if rows else []


def parse_tag_spec(line: str) -> TagSpec:
    """Parse one tag spec line; a missing or bad attribute is a UsageError naming the line."""
    attrs: dict[str, str] = {}
    kind = TagType.RAW
    for item in _fields(line, what="tag spec"):
        key, eq, value = (part.strip() for part in item.partition("="))
        if not eq:
            attrs["value"] = key
        elif key.lower() == "type":
            try:
                kind = TagType(value)
            except ValueError:
                raise UsageError(f"unknown tag type {value!r} in {line!r}",
                                 hint="types: " + ", ".join(t.value for t in TagType)) from None
        else:
            attrs[key.lower()] = value
    _defaults(kind, attrs, line)
    attrs.setdefault("enable", "true")
    try:
        priority = int(attrs.pop("priority", PRIORITIES[kind]))
    except ValueError:
        raise UsageError(f"invalid priority in {line!r}", hint="use a whole number") from None
    return TagSpec(kind, priority, attrs)


def _defaults(kind: TagType, attrs: dict[str, str], line: str) -> None:  # noqa: C901 - metadata-action's default tags per event type, in its order
    def need(key: str) -> None:
        if key not in attrs:
            raise UsageError(f"missing {key} attribute in tag spec {line!r}")

    if kind is TagType.SCHEDULE:
        attrs.setdefault("pattern", "nightly")
    elif kind in (TagType.SEMVER, TagType.PEP440):
        need("pattern")
        attrs.setdefault("value", "")
        attrs.setdefault("match", "")
    elif kind is TagType.MATCH:
        need("pattern")
        attrs.setdefault("group", "0")
        attrs.setdefault("value", "")
        if not attrs["group"].isdigit():
            raise UsageError(f"invalid match group in {line!r}", hint="group= takes a number")
    elif kind is TagType.EDGE:
        attrs.setdefault("branch", "")
    elif kind is TagType.REF:
        need("event")
        if attrs["event"] not in REF_EVENTS:
            raise UsageError(f"invalid event in {line!r}", hint="event= is branch, tag or pr")
        if attrs["event"] == "pr":
            attrs.setdefault("prefix", "pr-")
    elif kind is TagType.RAW:
        need("value")
    elif kind is TagType.SHA:
        attrs.setdefault("prefix", "sha-")
        attrs.setdefault("format", "short")
        if attrs["format"] not in ("short", "long"):
            raise UsageError(f"invalid format in {line!r}", hint="format= is short or long")


def parse_tag_specs(lines: Sequence[str]) -> list[TagSpec]:
    """The specs in application order: highest priority first, ties in the order given."""
    specs = [parse_tag_spec(line) for line in (lines or DEFAULT_SPECS) if line.strip()]
    return sorted(specs, key=lambda s: -s.priority)


def parse_flavor(lines: Sequence[str]) -> Flavor:
    latest, prefix, suffix = "auto", "", ""
    prefix_latest = suffix_latest = False
    for line in lines:
        applies_to = ""
        for item in _fields(line, what="flavor"):
            key, eq, value = (part.strip() for part in item.partition("="))
            key = key.lower()
            if not eq:
                raise UsageError(f"invalid flavor entry {line!r}", hint="use latest=, prefix=, suffix=, onlatest=")
            if key == "latest":
                if value not in ("auto", "true", "false"):
                    raise UsageError(f"invalid latest flavor {line!r}", hint="latest= is auto, true or false")
                latest = value
            elif key in ("prefix", "suffix"):
                prefix, suffix = (value, suffix) if key == "prefix" else (prefix, value)
                applies_to = key
            elif key == "onlatest":
                if value not in ("true", "false"):
                    raise UsageError(f"invalid onlatest value {value!r}", hint="onlatest= is true or false")
                if applies_to == "prefix":
                    prefix_latest = value == "true"
                elif applies_to == "suffix":
                    suffix_latest = value == "true"
            else:
                raise UsageError(f"unknown flavor entry {line!r}", hint="use latest=, prefix=, suffix=, onlatest=")
    return Flavor(latest, prefix, prefix_latest, suffix, suffix_latest)


_TAG_CHARS = re.compile(r"[^a-zA-Z0-9._-]+")


def sanitize_tag(tag: str) -> str:
    """Characters a tag may not hold become ``-`` (metadata-action's rule)."""
    return _TAG_CHARS.sub("-", tag)
