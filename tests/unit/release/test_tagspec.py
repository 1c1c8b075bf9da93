"""Tag spec and flavor parsing: metadata-action's defaults, priorities and its invalid inputs
(__tests__/tag.test.ts and flavor.test.ts of docker/metadata-action, as our own cases)."""

from __future__ import annotations

import pytest

from dockyard.errors import UsageError
from dockyard.release.tagspec import Flavor, TagType, parse_flavor, parse_tag_spec, parse_tag_specs


@pytest.mark.parametrize("line", [
    "type=match,enable=true,pattern=v(.*),group=foo", "type=ref,event=foo", "type=ref", "type=raw",
    "type=semver", "type=match", "type=foo", "type=sha,format=foo", "type=pep440",
    "type=raw,value=x,priority=high",
])
def test_invalid_specs_are_usage_errors_naming_the_line(line: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_tag_spec(line)
    assert repr(line) in info.value.message or line.split(",", maxsplit=1)[0].split("=")[1] in info.value.message


@pytest.mark.parametrize(("line", "kind", "priority", "attrs"), [
    ("acustomtag", TagType.RAW, 200, {"value": "acustomtag", "enable": "true"}),
    ("type=sha", TagType.SHA, 100, {"prefix": "sha-", "format": "short", "enable": "true"}),
    ("type=ref,event=pr", TagType.REF, 600, {"event": "pr", "prefix": "pr-", "enable": "true"}),
    ("type=schedule", TagType.SCHEDULE, 1000, {"pattern": "nightly", "enable": "true"}),
    ("type=semver,pattern={{version}}", TagType.SEMVER, 900,
     {"pattern": "{{version}}", "value": "", "match": "", "enable": "true"}),
    ("type=edge,priority=1", TagType.EDGE, 1, {"branch": "", "enable": "true"}),
    ('type=match,"pattern=\\d{1,3}.\\d{1,3}",group=0', TagType.MATCH, 800,
     {"pattern": "\\d{1,3}.\\d{1,3}", "group": "0", "value": "", "enable": "true"}),
])
def test_defaults_and_priorities(line: str, kind: TagType, priority: int, attrs: dict[str, str]) -> None:
    spec = parse_tag_spec(line)
    assert (spec.type, spec.priority, dict(spec.attrs)) == (kind, priority, attrs)


def test_specs_apply_highest_priority_first_ties_in_given_order() -> None:
    specs = parse_tag_specs(["type=sha", "type=raw,a", "type=raw,b", "type=semver,pattern={{version}}"])
    assert [(s.type, s.get("value")) for s in specs] == [
        (TagType.SEMVER, ""), (TagType.RAW, "a"), (TagType.RAW, "b"), (TagType.SHA, "")]


def test_no_specs_means_metadata_action_defaults() -> None:
    assert [s.type for s in parse_tag_specs([])] == [TagType.SCHEDULE, TagType.REF, TagType.REF, TagType.REF]


@pytest.mark.parametrize(("lines", "flavor"), [
    ([], Flavor()),
    (["latest=false"], Flavor(latest="false")),
    (["prefix=foo-,onlatest=true", "suffix=-bar"], Flavor(prefix="foo-", prefix_latest=True, suffix="-bar")),
    (["suffix=-dev,onlatest=true"], Flavor(suffix="-dev", suffix_latest=True)),
])
def test_flavor(lines: list[str], flavor: Flavor) -> None:
    assert parse_flavor(lines) == flavor


@pytest.mark.parametrize("line", ["latest=foo", "onlatest=maybe", "bar", "foo=bar"])
def test_invalid_flavor(line: str) -> None:
    with pytest.raises(UsageError):
        parse_flavor([line])
