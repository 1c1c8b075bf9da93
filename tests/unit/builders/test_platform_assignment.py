"""Which node builds each platform: native beats emulated, node order breaks ties, gaps are clear errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dockyard.builders.node import PlatformSupport, assign_platforms
from dockyard.errors import UsageError
from dockyard.platform import Platform

P = Platform.parse


@dataclass(frozen=True)
class FakeNode:
    name: str
    offers: tuple[PlatformSupport, ...] = field(default_factory=tuple)
    endpoint: str = "local"

    def platforms(self) -> Sequence[PlatformSupport]:
        return self.offers

    def store_root(self) -> Path:
        return Path("/nonexistent") / self.name

    def status(self) -> str:
        return "running"


def native(*ps: str) -> tuple[PlatformSupport, ...]:
    return tuple(PlatformSupport(P(p)) for p in ps)


def emulated(*ps: str) -> tuple[PlatformSupport, ...]:
    return tuple(PlatformSupport(P(p), emulated=True) for p in ps)


AMD = FakeNode("amd", native("linux/amd64", "linux/386") + emulated("linux/arm64", "linux/riscv64"))
ARM = FakeNode("arm", native("linux/arm64", "linux/arm/v7") + emulated("linux/amd64"))


def test_native_node_wins_even_when_listed_later() -> None:
    got = assign_platforms([AMD, ARM], [P("linux/amd64"), P("linux/arm64"), P("linux/arm/v7")], builder="b")
    assert {str(p): n.name for p, n in got.items()} == {
        "linux/amd64": "amd", "linux/arm64": "arm", "linux/arm/v7": "arm"}


def test_emulation_is_the_fallback_in_node_order() -> None:
    got = assign_platforms([AMD, ARM], [P("linux/riscv64")], builder="b")
    assert got[P("linux/riscv64")].name == "amd"
    lone = FakeNode("x", emulated("linux/amd64"))
    other = FakeNode("y", emulated("linux/amd64"))
    assert assign_platforms([lone, other], [P("linux/amd64")], builder="b")[P("linux/amd64")] is lone


def test_variants_must_match_exactly() -> None:
    with pytest.raises(UsageError, match="linux/amd64/v3"):
        assign_platforms([AMD], [P("linux/amd64/v3")], builder="b")
    with pytest.raises(UsageError, match="linux/arm/v6"):
        assign_platforms([ARM], [P("linux/arm/v6")], builder="b")


def test_unserved_platform_names_it_and_the_fix() -> None:
    with pytest.raises(UsageError) as info:
        assign_platforms([AMD, ARM], [P("linux/amd64"), P("linux/s390x")], builder="mybuilder")
    err = info.value
    assert err.message == ("builder 'mybuilder' cannot build linux/s390x: no node serves it natively or "
                           "through emulation")
    assert err.hint is not None
    assert "dockyard inspect --bootstrap mybuilder" in err.hint and "--platform linux/s390x" in err.hint
