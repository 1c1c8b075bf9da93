"""buildx's --annotation syntax, read into the one annotation model the -o annotation keys use."""

from __future__ import annotations

import pytest

from dockyard.errors import UsageError
from dockyard.oci.annotations import Annotation, merged, parse_cli, standard
from dockyard.platform import Platform


def test_types_platforms_and_default_level() -> None:
    got = parse_cli(["org.a=1", "index,manifest:org.b=x=y", "manifest[linux/arm64]:org.c=arm",
                     "manifest-descriptor:org.d=https://example.com/d"])
    arm = Platform.parse("linux/arm64")
    assert got.items == (
        Annotation("manifest", None, "org.a", "1"), Annotation("index", None, "org.b", "x=y"),
        Annotation("manifest", None, "org.b", "x=y"), Annotation("manifest", arm, "org.c", "arm"),
        Annotation("manifest-descriptor", None, "org.d", "https://example.com/d"))
    assert got.for_platform("manifest", arm) == {"org.a": "1", "org.b": "x=y", "org.c": "arm"}
    assert got.for_platform("manifest", Platform.parse("linux/amd64")) == {"org.a": "1", "org.b": "x=y"}
    assert got.index == {"org.b": "x=y"}


@pytest.mark.parametrize(("text", "message"), [
    ("novalue", "invalid --annotation"), ("bogus:k=v", "unrecognized annotation type bogus"),
    ("index[linux/amd64]:k=v", "cannot name a platform"), ("index-descriptor:k=v", "not supported"),
])
def test_bad_annotations(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_cli([text])


def test_given_annotations_win_over_the_standard_ones() -> None:
    both = merged(standard({"org.opencontainers.image.version": "1.0"}, index=True),
                  parse_cli(["index:org.opencontainers.image.version=override"]))
    assert both.index == {"org.opencontainers.image.version": "override"}
    assert both.for_platform("manifest", Platform.parse("linux/amd64")) == {"org.opencontainers.image.version": "1.0"}
    assert standard({"k": "v"}, index=False).index == {}
