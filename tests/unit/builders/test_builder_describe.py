"""The text shapes of ls/inspect: platform labels, byte sizes, GC policy lines."""

from __future__ import annotations

from dockyard.builders.config import GCPolicy, GCRule
from dockyard.builders.describe import gc_lines, human_bytes
from dockyard.builders.summary import platform_label
from dockyard.platform import Platform


def test_platform_label_drops_arm64_v8_only() -> None:
    assert platform_label(Platform.parse("arm64")) == "linux/arm64"
    assert platform_label(Platform.parse("linux/arm/v7")) == "linux/arm/v7"
    assert platform_label(Platform.parse("linux/amd64/v3")) == "linux/amd64/v3"


def test_human_bytes() -> None:
    assert human_bytes(512) == "512B"
    assert human_bytes(512_000_000) == "488.3MiB"
    assert human_bytes(9 * 1024**3) == "9GiB"
    assert human_bytes(10 * 1024**5) == "10240TiB"


def test_gc_lines_in_buildx_shape() -> None:
    policy = GCPolicy(rules=(GCRule(keep_bytes=512_000_000, keep_duration=172800, filters=("type==source.local",)),
                             GCRule(all=True, keep_percent=10.0)), default=False)
    assert gc_lines(policy) == [
        "GC Policy rule#0:",
        "  All:            false",
        "  Filters:        type==source.local",
        "  Keep Duration:  48h0m0s",
        "  Keep Bytes:     488.3MiB",
        "GC Policy rule#1:",
        "  All:            true",
        "  Keep Bytes:     10% of the store's filesystem",
    ]
    assert gc_lines(GCPolicy(enabled=False)) == ["GC Policy:        disabled (gc = false)"]
