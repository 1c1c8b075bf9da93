"""Go's path.Match, case by case (the expectations are Go's documented and implemented rules:
src/path/match.go Match, matchChunk, getEsc; run against Go 1.22 when the table was made)."""

from __future__ import annotations

import pytest

from dockyard.selector.errors import BadPatternError
from dockyard.selector.gomatch import fixed_depth, has_wildcards, match

CASES = [
    ("file[^a].txt", "fileb.txt", True),
    ("file[^a].txt", "filea.txt", False),
    ("[!a]", "!", True),  # "!" is no negation in Go
    ("[!a]", "b", False),
    ("a[^x]b", "a/b", True),  # a class can match "/"
    ("*[^a]*c", "b/c", False),  # leftmost chunk placement, stars never cross "/"
    ("*", "a/b", False),
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
    ("[a-c]", "b", True),
    ("[b-a]", "a", False),  # an empty range is no error, it just never matches
    ("[\\]]", "]", True),
    ("[*]", "*", True),
    ("ab*", "ab", True),
    ("*x", "ax/x", False),
    ("a*b*c", "aXbYc", True),
    ("a*b?c", "abbxc", True),
    ("", "", True),
    ("", "a", False),
    ("?", "/", False),
    ("??", "é1", True),  # characters, not bytes
]

BAD = ["[", "file[.txt", "[]a]", "[a-]", "[-a]", "a\\", "[a", "[^]", "[\\", "[a-b-c]", "x[a]\\"]


@pytest.mark.parametrize(("pattern", "name", "want"), CASES)
def test_match(pattern: str, name: str, want: bool) -> None:
    assert match(pattern, name) is want


@pytest.mark.parametrize("pattern", BAD)
def test_bad_patterns_fail_whatever_the_name(pattern: str) -> None:
    with pytest.raises(BadPatternError, match="syntax error in pattern"):
        match(pattern, "zzz")


def test_wildcard_detection_skips_escapes() -> None:
    assert has_wildcards("a*") and has_wildcards("[x]") and not has_wildcards("a\\*") and not has_wildcards("a\\[")


def test_fixed_depth_lets_a_walk_stop() -> None:
    assert fixed_depth("*.txt") == 1
    assert fixed_depth("a/*/b") == 3
    assert fixed_depth("a[^x]b") is None  # the class may match "/"
    assert fixed_depth("a[^/]b") == 1
