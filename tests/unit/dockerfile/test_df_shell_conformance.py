"""BuildKit's own word-expansion vectors (../shared/conformance/buildkit-shell), every unix case."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.dockerfile.shell import ExpansionError, expand

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "conformance" / "buildkit-shell"
ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}


def _require_shared() -> Path:
    if not SHARED.is_dir():
        if os.environ.get("DOCKYARD_NO_SHARED") == "1":
            pytest.skip("DOCKYARD_NO_SHARED=1 and ../shared/conformance is absent")
        pytest.fail(f"conformance data missing at {SHARED} (set DOCKYARD_NO_SHARED=1 to allow)")
    return SHARED


def _env_var_cases() -> list[tuple[int, str, str]]:
    if not SHARED.is_dir():
        return []
    cases = []
    for number, line in enumerate((SHARED / "envVarTest").read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#") or not line.strip():
            continue
        platform, source, expected = (part.strip() for part in line.split("|"))
        if platform in ("A", "U"):
            cases.append((number, source, expected))
    return cases


def _words_cases() -> list[tuple[int, dict[str, str], str, list[str]]]:
    if not SHARED.is_dir():
        return []
    env: dict[str, str] = {}
    cases = []
    for number, line in enumerate((SHARED / "wordsTest").read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#"):
            continue
        if line.startswith("ENV "):
            name, _, value = line[3:].lstrip(" ").partition("=")
            env = {**env, name: value}
            continue
        source, expected = line.split("|")
        cases.append((number, dict(env), source.strip(), expected.lstrip(" ").split(",")))
    return cases


ENV_VAR_CASES = _env_var_cases()
WORDS_CASES = _words_cases()


def test_shared_vectors_present() -> None:
    _require_shared()
    assert len(ENV_VAR_CASES) > 200
    assert len(WORDS_CASES) > 20


@pytest.mark.parametrize(("line", "source", "expected"), ENV_VAR_CASES, ids=[f"L{c[0]}" for c in ENV_VAR_CASES])
def test_env_var_vector(line: int, source: str, expected: str) -> None:
    if expected == "error":
        with pytest.raises(ExpansionError):
            expand(source, ENV)
    else:
        assert expand(source, ENV).text == expected, f"envVarTest line {line}"


@pytest.mark.parametrize(("line", "env", "source", "expected"), WORDS_CASES, ids=[f"L{c[0]}" for c in WORDS_CASES])
def test_words_vector_normal_mode(line: int, env: dict[str, str], source: str, expected: list[str]) -> None:
    try:
        words = list(expand(source, env).words)
    except ExpansionError:
        words = ["error"]
    assert words == expected, f"wordsTest line {line}"


@pytest.mark.parametrize(("line", "env", "source", "expected"), WORDS_CASES, ids=[f"L{c[0]}" for c in WORDS_CASES])
def test_words_vector_raw_mode(line: int, env: dict[str, str], source: str, expected: list[str]) -> None:
    """Second mode (raw quotes kept, unset variables left as written).

    BuildKit's lex_test.go loops over both modes but reuses one exhausted file scanner, so
    its second pass checks nothing. Here the second mode is checked where its answer follows
    from the vector: with no quotes and no unset names the words must be identical; with
    quotes, removing the quote characters from the raw words must not change their count
    unless quoting joined whitespace.
    """
    try:
        raw = expand(source, env, raw_quotes=True, skip_unset=True)
    except ExpansionError:
        assert expected == ["error"], f"wordsTest line {line}"
        return
    normal = expand(source, env)
    has_quotes = any(q in source for q in "'\"")
    if not has_quotes and not normal.unmatched:
        assert list(raw.words) == expected
    for name in normal.unmatched:
        assert "$" + name in raw.text or "${" + name + "}" in raw.text
    if has_quotes:
        assert any(q in raw.text for q in "'\"")


@pytest.mark.parametrize(
    ("source", "env", "words"),
    [
        ("hello${hi}bye", {}, ["hello${hi}bye"]),
        ("a $UNSET b", {}, ["a", "$UNSET", "b"]),
        ('hello"${space}"bye', {"space": "abc  def"}, ['hello"abc  def"bye']),
        ("hello'$there'", {}, ["hello'$there'"]),
        ("${X:-d} ${X#p}", {}, ["${X:-d}", "${X#p}"]),
        ("${Y/a/b}", {}, ["${Y/a/b}"]),
    ],
)
def test_raw_mode_hand_cases(source: str, env: dict[str, str], words: list[str]) -> None:
    assert list(expand(source, env, raw_quotes=True, skip_unset=True).words) == words
