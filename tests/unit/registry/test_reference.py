"""References parse with Docker's defaults and refuse what Docker refuses."""

from __future__ import annotations

import pytest

from dockyard.errors import UsageError
from dockyard.reference import Reference

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(("text", "registry", "repo", "tag", "api"), [
    ("busybox", "docker.io", "library/busybox", "latest", "index.docker.io"),
    ("user/app:v1", "docker.io", "user/app", "v1", "index.docker.io"),
    ("docker.io/busybox", "docker.io", "library/busybox", "latest", "index.docker.io"),
    ("index.docker.io/library/busybox:1", "docker.io", "library/busybox", "1", "index.docker.io"),
    ("localhost/app", "localhost", "app", "latest", "localhost"),
    ("localhost:5000/a/b/c:t", "localhost:5000", "a/b/c", "t", "localhost:5000"),
    ("127.0.0.1:5000/app:v1.2-rc_3", "127.0.0.1:5000", "app", "v1.2-rc_3", "127.0.0.1:5000"),
    ("ghcr.io/org/app", "ghcr.io", "org/app", "latest", "ghcr.io"),
    ("[::1]:5000/app", "[::1]:5000", "app", "latest", "[::1]:5000"),
])
def test_defaults(text: str, registry: str, repo: str, tag: str, api: str) -> None:
    ref = Reference.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.api_host) == (registry, repo, tag, api)


def test_digest_and_tag_together() -> None:
    ref = Reference.parse(f"127.0.0.1:5000/app:v1@{D}")
    assert ref.tag == "v1"
    assert str(ref.digest) == D
    assert ref.identifier == D
    assert str(ref) == f"127.0.0.1:5000/app:v1@{D}"


def test_digest_only_has_no_default_tag() -> None:
    ref = Reference.parse(f"app@{D}")
    assert ref.tag is None
    assert str(ref) == f"docker.io/library/app@{D}"


def test_no_default_tag_when_asked() -> None:
    assert Reference.parse("app", default_tag=None).tag is None


@pytest.mark.parametrize("text", ["", "app/UPPER", "app:", "app:-bad", "a//b", "app@sha256:123",
                                  "app@md5:" + "a" * 32, "host:port/app", "-app", "a" * 260])
def test_invalid_references_are_usage_errors_with_hints(text: str) -> None:
    with pytest.raises(UsageError) as info:
        Reference.parse(text)
    assert info.value.hint


def test_with_tag_drops_digest() -> None:
    ref = Reference.parse(f"r.io/app@{D}").with_tag("v2")
    assert str(ref) == "r.io/app:v2"
