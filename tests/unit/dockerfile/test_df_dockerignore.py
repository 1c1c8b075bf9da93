"""moby patternmatcher semantics, rule by rule, plus .dockerignore file reading and precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.dockerfile.dockerignore import PatternMatcher, load_for, read_patterns
from dockyard.errors import DockerfileError


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        # plain names match the path and everything under it
        (["foo"], "foo", True),
        (["foo"], "foo/bar", True),
        (["foo"], "foobar", False),
        (["foo"], "a/foo", False),
        # a leading slash is the context root; a trailing slash is dropped
        (["/foo"], "foo/x", True),
        (["foo/"], "foo", True),
        (["foo/"], "foo/x/y", True),
        # * and ? stay inside one segment
        (["*.md"], "README.md", True),
        (["*.md"], "docs/README.md", False),
        (["*/*.md"], "docs/README.md", True),
        (["?.txt"], "a.txt", True),
        (["?.txt"], "ab.txt", False),
        (["a?c"], "a/c", False),
        # ** spans any number of segments, including none
        (["**/*.md"], "README.md", True),
        (["**/*.md"], "a/b/c/README.md", True),
        (["**/foo"], "foo", True),
        (["**/foo"], "x/y/foo", True),
        (["a/**/b"], "a/b", True),
        (["a/**/b"], "a/x/y/b", True),
        (["a/**"], "a/x", True),
        (["a/**"], "ab", False),
        (["**"], "anything/at/all", True),
        # character classes and escapes
        (["[ab].txt"], "a.txt", True),
        (["[ab].txt"], "c.txt", False),
        (["[^a].txt"], "b.txt", True),
        (["\\*.txt"], "*.txt", True),
        (["\\*.txt"], "a.txt", False),
        # regex metacharacters are literal
        (["a.b"], "axb", False),
        (["a+b(c)"], "a+b(c)", True),
        # exceptions re-include; the last matching rule wins
        (["*.md", "!README.md"], "README.md", False),
        (["*.md", "!README.md"], "CHANGES.md", True),
        (["*.md", "!README.md", "README*"], "README.md", True),
        (["docs", "!docs/keep.txt"], "docs/keep.txt", False),
        (["docs", "!docs/keep.txt"], "docs/other.txt", True),
        # a parent directory match excludes children even with a deeper pattern
        (["a/b"], "a/b/c/d", True),
        # cleaning: ./ and duplicate slashes
        (["./foo//bar"], "foo/bar", True),
        # the context root itself is never excluded
        (["*"], ".", False),
    ],
)
def test_rule(patterns: list[str], path: str, excluded: bool) -> None:
    """Each case is the lines of a .dockerignore file and one context path."""
    assert PatternMatcher(read_patterns("\n".join(patterns))).matches(path) is excluded


def test_illegal_exclusion() -> None:
    with pytest.raises(ValueError, match="illegal exclusion"):
        PatternMatcher(["!"])


def test_read_patterns_cleans_like_docker() -> None:
    text = "\ufeff# comment\n  foo/  \n\n!/bar/\n /baz\n  # indented is a pattern\n"
    assert read_patterns(text) == ["foo", "!bar", "baz", "# indented is a pattern"]


def test_dockerfile_specific_ignore_file_wins(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("general\n")
    dockerfile = tmp_path / "app.Dockerfile"
    dockerfile.write_text("FROM scratch\n")
    (tmp_path / "app.Dockerfile.dockerignore").write_text("specific\n")
    assert load_for(tmp_path, dockerfile) == ["specific"]
    assert load_for(tmp_path, tmp_path / "Dockerfile") == ["general"]
    assert load_for(tmp_path / "missing", None) == []


def test_bad_pattern_names_the_file(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("[a-\n")
    with pytest.raises(DockerfileError, match=r"\.dockerignore"):
        load_for(tmp_path, None)
