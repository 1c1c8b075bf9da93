"""Platform parsing and normalisation, as users type platforms and as indexes record them.

The normal form is containerd's, as BuildKit uses it: containerd/platforms database.go
``normalizeArch`` (arm64 with v8/8/v8.0 -> no variant; 9/9.0/v9.0 -> v9; arm -> v7; amd64/v1 ->
amd64; 386 drops its variant), and compare.go/``NewMatcher`` normalise both sides before matching.
"""

from __future__ import annotations

import pytest

from dockyard.errors import UsageError
from dockyard.platform import Platform, parse_platforms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/amd64", "linux/amd64"),
        ("amd64", "linux/amd64"),
        ("x86_64", "linux/amd64"),
        ("linux/x86_64", "linux/amd64"),
        ("arm64", "linux/arm64"),
        ("linux/aarch64", "linux/arm64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/arm64/8", "linux/arm64"),
        ("linux/arm64/v8.0", "linux/arm64"),
        ("linux/arm64/9.0", "linux/arm64/v9"),
        ("linux/arm64/v8.2", "linux/arm64/v8.2"),
        ("linux/arm/7", "linux/arm/v7"),
        ("linux/arm/5", "linux/arm/v5"),
        ("linux/i386", "linux/386"),
        ("armhf", "linux/arm/v7"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/arm/v6", "linux/arm/v6"),
        ("armel", "linux/arm/v6"),
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/amd64/v1", "linux/amd64"),
        ("LINUX/AMD64", "linux/amd64"),
        ("linux/riscv64", "linux/riscv64"),
    ],
)
def test_parse_normalises(text: str, expected: str) -> None:
    assert str(Platform.parse(text)) == expected


@pytest.mark.parametrize("text", ["", "linux/", "linux/amd64/v3/x", "plan9/amd64", "linux/sparc99"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(UsageError) as info:
        Platform.parse(text)
    assert info.value.hint


def test_parse_platforms_keeps_order_and_drops_duplicates() -> None:
    plats = parse_platforms("linux/arm64,linux/amd64,arm64")
    assert [str(p) for p in plats] == ["linux/arm64", "linux/amd64"]


def test_matches_ignores_missing_variant() -> None:
    want = Platform.parse("linux/arm64")
    assert want.matches(Platform("linux", "arm64", ""))
    assert want.matches(Platform("linux", "arm64", "v8"))  # an index entry written with v8
    assert Platform("linux", "arm64", "v8").matches(Platform("linux", "arm64", ""))
    assert want.same(Platform("linux", "arm64", "v8")) and not want.same(Platform("linux", "arm64", "v9"))
    assert not want.matches(Platform("linux", "amd64", ""))
    assert not Platform.parse("linux/arm/v7").matches(Platform.parse("linux/arm/v6"))


def test_to_oci_omits_empty_variant() -> None:
    assert Platform.parse("amd64").to_oci() == {"architecture": "amd64", "os": "linux"}
    assert Platform.parse("arm64").to_oci() == {"architecture": "arm64", "os": "linux"}
    assert Platform.parse("arm").to_oci() == {"architecture": "arm", "os": "linux", "variant": "v7"}


def test_unknown_architectures_in_index_entries_are_kept() -> None:
    assert Platform("linux", "sparc64", "x").normal() == Platform("linux", "sparc64", "x")
