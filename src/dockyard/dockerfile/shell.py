"""Word expansion with BuildKit's Dockerfile semantics (not a real shell).

Dockerfile instructions expand ``$VAR`` and ``${VAR...}`` themselves, before anything runs,
so that a FROM line, a COPY destination or a label value means the same on every builder.
The rules are BuildKit's: quotes are removed (single quotes keep everything literal, double
quotes still expand ``$``), the escape character (``\\`` or the ``escape=`` directive's
backtick) quotes the next character, and the ``${...}`` modifiers are ``:-  -  :+  +  :?  ?``
plus the pattern forms ``#  ##  %  %%  /  //`` (``*`` and ``?`` wildcards, no brackets).

Two extra modes exist because the frontend needs them:

* ``raw_quotes``: keep quote characters in the output (used when text is expanded now and
  handed to a shell later, e.g. the ``RUN`` line checks).
* ``skip_unset``: leave references to unset variables as written, so a later stage of the
  pipeline (or the container's shell) can still see them.
* ``skip_quotes``: quote characters are ordinary text (BuildKit's ``SkipProcessQuotes``, used
  for the bodies of unquoted COPY/ADD heredocs: ``$VAR`` and ``\\`` escapes are processed,
  ``'daemon off;'`` stays quoted).

An expanded word may not exceed :data:`MAX_WORD` characters: a chain such as
``ARG a=${a}${a}`` doubles on every line and would otherwise exhaust memory. BuildKit has no
explicit cap (its parser refuses a Dockerfile line over 65535 bytes, parser.go, and an LLB
definition must fit a gRPC message); 1 MiB per word keeps every real Dockerfile working.

The scanner works on code points, so multi-byte text such as Korean passes through intact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_SPECIAL_PARAMS = frozenset("@*#?-$!0")
_EOF = ""
# BuildKit (Go) has no limit short of memory; each level costs a few Python frames, and this
# keeps the deepest word far from the interpreter's recursion limit
MAX_NESTING = 100
_SPECIAL_CHARS = frozenset("$'\"<")
MAX_WORD = 1 << 20


class ExpansionError(ValueError):
    """A word cannot be expanded (bad syntax or a ``${VAR?}`` requirement not met)."""


@dataclass(frozen=True)
class Expansion:
    """Result of expanding one word: the text, its split words and the names looked up."""

    text: str
    words: tuple[str, ...]
    matched: frozenset[str] = field(default_factory=frozenset)
    unmatched: frozenset[str] = field(default_factory=frozenset)


class _Words:
    """Accumulates whitespace-separated words; quoted text is added without splitting."""

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch.isspace():
            if self.in_word and self.buf:
                self.words.append("".join(self.buf))
                self.buf.clear()
                self.in_word = False
        else:
            self.add_raw_char(ch)

    def add_raw_char(self, ch: str) -> None:
        self.buf.append(ch)
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def add_raw_string(self, text: str) -> None:
        self.buf.append(text)
        self.in_word = True

    def finish(self) -> list[str]:
        if self.buf:
            self.words.append("".join(self.buf))
            self.buf.clear()
            self.in_word = False
        return self.words


class _Scanner:
    """One pass over one word; holds the position and what was looked up."""

    def __init__(self, text: str, env: Mapping[str, str], *, escape: str, raw_quotes: bool, skip_unset: bool,
                 skip_quotes: bool = False) -> None:
        self.text = text
        self.skip_quotes = skip_quotes
        self.pos = 0
        self.env = env
        self.escape = escape
        self.raw_quotes = raw_quotes
        self.skip_unset = skip_unset
        self.raw_escapes = False
        self.depth = 0
        self.matched: set[str] = set()
        self.unmatched: set[str] = set()

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def next(self) -> str:
        if self.pos >= len(self.text):
            return _EOF
        ch = self.text[self.pos]
        self.pos += 1
        return ch

    def lookup(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            self.matched.add(name)
            return self.env[name], True
        self.unmatched.add(name)
        return "", False

    # -- the word ------------------------------------------------------------------------

    def until(self, stop: str, *, raw_escapes: bool) -> tuple[str, list[str]]:
        """Expand up to (and consuming) ``stop``; ``stop == ""`` means the end of the word."""
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpansionError(f"substitutions nested more than {MAX_NESTING} deep: split them over several ARGs")
        try:
            return self._until(stop)
        finally:
            self.depth -= 1
            self.raw_escapes = saved

    def _until(self, stop: str) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        while (ch := self.peek()) != _EOF:
            if stop and ch == stop:
                self.next()
                return "".join(result), words.finish()
            if ch == "$":
                piece = self.dollar()
                result.append(piece)
                words.add_string(piece)
            elif ch == "<":
                piece = self.maybe_heredoc()
                result.append(piece)
                words.add_raw_string(piece)
            elif ch == "'" and not self.skip_quotes:
                piece = self.single_quoted()
                result.append(piece)
                words.add_raw_string(piece)
            elif ch == '"' and not self.skip_quotes:
                piece = self.double_quoted()
                result.append(piece)
                words.add_raw_string(piece)
            else:
                ch = self.next()
                if ch == self.escape:
                    if self.raw_escapes:
                        words.add_raw_char(ch)
                        result.append(ch)
                    ch = self.next()
                    if ch == _EOF:
                        break
                    words.add_raw_char(ch)
                else:
                    words.add_char(ch)
                result.append(ch)
        if stop:
            raise ExpansionError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.finish()

    def single_quoted(self) -> str:
        out: list[str] = []
        quote = self.next()
        if self.raw_quotes:
            out.append(quote)
        while True:
            ch = self.next()
            if ch == _EOF:
                raise ExpansionError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def double_quoted(self) -> str:
        out: list[str] = []
        quote = self.next()
        if self.raw_quotes:
            out.append(quote)
        while True:
            ch = self.peek()
            if ch == _EOF:
                raise ExpansionError("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.next()
                if self.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            ch = self.next()
            if ch == self.escape:
                if self.raw_escapes:
                    out.append(ch)
                following = self.peek()
                if following == _EOF:
                    continue
                if following in ('"', "$", self.escape):
                    ch = self.next()
            out.append(ch)

    def maybe_heredoc(self) -> str:
        self.next()
        if self.peek() != "<":
            return "<"
        self.next()
        spaces: list[str] = []
        while self.peek() in ("\t", "\r", " ") and self.peek() != _EOF:
            spaces.append(self.next())
        return "<<" + "".join(spaces)

    # -- parameters ------------------------------------------------------------------------

    def name(self) -> str:
        chars: list[str] = []
        while (ch := self.peek()) != _EOF:
            if not chars and ch.isdigit():
                while self.peek() != _EOF and self.peek().isdigit():
                    chars.append(self.next())
                return "".join(chars)
            if not chars and ch in _SPECIAL_PARAMS:
                return self.next()
            if not (ch.isalpha() or ch.isdigit() or ch == "_"):
                break
            chars.append(self.next())
        return "".join(chars)

    def dollar(self) -> str:  # noqa: C901, PLR0912 - the ${...} operators as BuildKit's shell lexer's processDollar: one branch each
        self.next()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value, found = self.lookup(name)
            if not found and self.skip_unset:
                return "$" + name
            return value
        self.next()
        first = self.peek()
        if first == _EOF:
            raise ExpansionError("syntax error: missing '}'")
        if first in "{}:":
            raise ExpansionError("syntax error: bad substitution")
        name = self.name()
        op = self.next()
        if op == "}":
            value, found = self.lookup(name)
            if not found and self.skip_unset:
                return "${" + name + "}"
            return value
        if op == "/":
            return self.replace(name)
        null_is_unset = False
        modifier = op
        if op == ":":
            null_is_unset = True
            op = self.next()
            modifier += op
        if op not in ("+", "-", "?", "#", "%"):
            raise ExpansionError(f"unsupported modifier ({modifier}) in substitution")
        pattern_op = op in ("#", "%")
        if null_is_unset and pattern_op:
            raise ExpansionError(f"unsupported modifier ({modifier}) in substitution")
        try:
            word, _ = self.until("}", raw_escapes=pattern_op)
        except ExpansionError:
            if self.peek() == _EOF:
                raise ExpansionError("syntax error: missing '}'") from None
            raise
        value, found = self.lookup(name)
        if self.skip_unset and not found:
            return "${" + name + modifier + word + "}"
        empty = not found or (null_is_unset and value == "")
        if op == "-":
            return word if empty else value
        if op == "+":
            return "" if empty else word
        if op == "?":
            if not found:
                raise ExpansionError(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise ExpansionError(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        greedy = word.startswith(op)
        if greedy:
            word = word[1:]
        if op == "%":
            return _trim_suffix(word, value, greedy=greedy)
        return _trim_prefix(word, value, greedy=greedy)

    def replace(self, name: str) -> str:
        replace_all = self.peek() == "/"
        if replace_all:
            self.next()
        try:
            pattern, _ = self.until("/", raw_escapes=True)
        except ExpansionError:
            if self.peek() == _EOF:
                raise ExpansionError("syntax error: missing '/' in ${}") from None
            raise
        try:
            replacement, _ = self.until("}", raw_escapes=True)
        except ExpansionError:
            if self.peek() == _EOF:
                raise ExpansionError("syntax error: missing '}'") from None
            raise
        value, found = self.lookup(name)
        if self.skip_unset and not found:
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        regex = _pattern_regex(pattern, greedy=True, anchored=False)
        if replace_all:
            return regex.sub(lambda _m: replacement, value)
        m = regex.search(value)
        if m is None:
            return value
        return value[: m.start()] + replacement + value[m.end() :]


def _pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """Translate a shell wildcard pattern (``*``, ``?``, ``\\`` escapes; no brackets)."""
    out: list[str] = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append(star)
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            following = pattern[i] if i < len(pattern) else ""
            if following in ("}", "/"):
                continue  # the escape only protected the ${} delimiter
            if following not in ("*", "?", "\\"):
                raise ExpansionError(f"invalid pattern ({pattern}) in substitution: invalid escape '\\{following}'")
            out.append(re.escape(following))
            i += 1
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out))


def _trim_prefix(pattern: str, value: str, *, greedy: bool) -> str:
    m = _pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value[m.end() :] if m else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern but keep each ``\\x`` escape pair in order (``a\\*c`` -> ``c\\*a``)."""
    pieces: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            pieces.append(pattern[i : i + 2])
            i += 2
        else:
            pieces.append(pattern[i])
            i += 1
    return "".join(reversed(pieces))


def _trim_suffix(pattern: str, value: str, *, greedy: bool) -> str:
    # A regex finds the leftmost match; reversing both sides turns "shortest suffix" into that.
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy=greedy)[::-1]


def expand(
    word: str,
    env: Mapping[str, str],
    *,
    escape: str = "\\",
    raw_quotes: bool = False,
    skip_unset: bool = False,
    skip_quotes: bool = False,
) -> Expansion:
    """Expand ``word`` against ``env``; raises :class:`ExpansionError` on bad syntax or size."""
    if not _SPECIAL_CHARS.intersection(word) and escape not in word:
        return Expansion(word, tuple(word.split()))
    scanner = _Scanner(word, env, escape=escape, raw_quotes=raw_quotes, skip_unset=skip_unset,
                       skip_quotes=skip_quotes)
    try:
        text, words = scanner.until("", raw_escapes=False)
    except ExpansionError as exc:
        raise ExpansionError(f"failed to process {_excerpt(word)!r}: {exc}") from None
    if len(text) > MAX_WORD:
        raise ExpansionError(f"expanding {_excerpt(word)!r} gives {len(text)} characters, more than the "
                             f"{MAX_WORD} a word may have (a variable that doubles itself, e.g. ARG a=${{a}}${{a}}?)")
    return Expansion(text, tuple(words), frozenset(scanner.matched), frozenset(scanner.unmatched))


def _excerpt(word: str) -> str:
    return word if len(word) <= 80 else word[:77] + "..."


def expand_word(word: str, env: Mapping[str, str], *, escape: str = "\\") -> str:
    """The expanded text of ``word`` (quotes removed, spaces kept)."""
    return expand(word, env, escape=escape).text


def expand_words(word: str, env: Mapping[str, str], *, escape: str = "\\") -> tuple[str, ...]:
    """``word`` expanded and then split on unquoted whitespace."""
    return expand(word, env, escape=escape).words
