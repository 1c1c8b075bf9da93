"""Word expansion beyond the shared vectors: modifiers, patterns, escapes, lookups."""

from __future__ import annotations

import pytest

from dockyard.dockerfile.shell import ExpansionError, expand, expand_word, expand_words


@pytest.mark.parametrize(
    ("word", "env", "expected"),
    [
        ("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx  ccc"),
        ("${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx bbb ccc"),
        ("${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", {"FOO": "xxx", "BAR": ""}, "aaa bbb "),
        ("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", {"FOO": "xxx", "BAR": ""}, "aaa  "),
        ("${BAR?bbb}", {"BAR": ""}, ""),
        ("${FOO#*x*y}", {"FOO": "xxyy"}, "y"),
        ("${FOO#*}", {"FOO": "xxyy"}, "xxyy"),
        ("${FOO##*x}", {"FOO": "xxyy"}, "yy"),
        ("${FOO#$BAR}", {"FOO": "xxyy", "BAR": "x"}, "xyy"),
        ("${FOO#?\\?}", {"FOO": "???y"}, "?y"),
        ("${FOO%y}", {"FOO": "xxyy"}, "xxy"),
        ("${FOO%%y*}", {"FOO": "xxyyxy"}, "xx"),
        ("${FOO%y*}", {"FOO": "xxyyxy"}, "xxyyx"),
        ("${FOO%%\\**}", {"FOO": "xx**"}, "xx"),
        ("${FOO%%\\**\\*}", {"FOO": "a***yy*"}, "a"),
        ("${FOO#()[]{\\}^$.\\*\\?|\\\\}", {"FOO": "()[]{}^$.*?|\\x"}, "x"),
        ("${FOO/o/0}", {"FOO": "foo"}, "f0o"),
        ("${FOO//o/0}", {"FOO": "foo"}, "f00"),
        ("${FOO//\\//\\/}", {"FOO": "/tmp/foo.txt"}, "\\/tmp\\/foo.txt"),
        ("${FOO/$N/.} - ${FOO//$N/.}", {"FOO": "/foo*/*/*.txt", "N": "\\*/"}, "/foo.*/*.txt - /foo..*.txt"),
        (
            "${FOO/$N/$R} - ${FOO//$N/$R}",
            {"FOO": "/a/foo/b/c.txt", "N": "/?/", "R": "/"},
            "/foo/b/c.txt - /foo/c.txt",
        ),
        ("${FOO///}", {"FOO": "xxyy"}, "xxyy"),
        ("a${T:+-${T}}b", {"T": "v7"}, "a-v7b"),
        ("a${T:+-${T}}b", {"T": ""}, "ab"),
    ],
)
def test_modifiers(word: str, env: dict[str, str], expected: str) -> None:
    assert expand_word(word, env) == expected


@pytest.mark.parametrize(
    "word",
    ["${FOO:#}", "${FOO:%%}", "${FOO=aaa}", "${FOO//ww}", "${FOO//}", "${BAR:?bbb}", "${X#\\x}", "${X"],
)
def test_errors(word: str) -> None:
    with pytest.raises(ExpansionError):
        expand_word(word, {"FOO": "xxyy", "BAR": "", "X": "a"})


def test_required_message_is_expanded() -> None:
    with pytest.raises(ExpansionError, match="message herex"):
        expand_word("${VAR:?message here$ARG}", {"VAR": "", "ARG": "x"})


def test_backtick_escape() -> None:
    assert expand_word("C:`$HOME`\\x", {"HOME": "h"}, escape="`") == "C:$HOME\\x"
    assert expand_word('"a`"b"', {}, escape="`") == 'a"b'


def test_matches_are_recorded() -> None:
    result = expand("${A:-x} $B", {"A": "1"})
    assert result.matched == {"A"}
    assert result.unmatched == {"B"}


def test_words_split_after_expansion() -> None:
    assert expand_words("a $X 'c d'", {"X": "b  b2"}) == ("a", "b", "b2", "c d")


def test_heredoc_marker_kept() -> None:
    assert expand_words("cat <<  EOF", {}) == ("cat", "<<  EOF")
