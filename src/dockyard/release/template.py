"""The ``{{...}}`` expressions of docker/metadata-action's tag specs (a Handlebars subset).

An expression is a name, then optional arguments: quoted strings, bare words (looked up, and
empty when unknown, as Handlebars does) and ``key=value`` pairs, e.g.
``{{date 'YYYYMMDD' tz='Asia/Tokyo'}}``. A name maps to a string or to a helper called with the
positional arguments and the pairs. Output is HTML-escaped as Handlebars escapes ``{{...}}``, so
what a workflow got from metadata-action it gets here too. Dates use moment.js format tokens.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dockyard.errors import UsageError

Helper = Callable[[list[str | None], dict[str, str]], str]
Value = str | Helper

_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;", "=": "&#x3D;"}
_MOMENT = re.compile(r"\[[^\]]*\]|YYYY|YY|MM|M|DD|D|HH|H|hh|h|mm|m|ss|s|SSS|ZZ|Z|A|a|.", re.S)


def render(text: str, values: Mapping[str, Value]) -> str:
    """``text`` with every ``{{...}}`` replaced; an unknown helper argument is a UsageError."""
    return _EXPR.sub(lambda m: _escape(_evaluate(m.group(1), values)), text)


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _evaluate(expr: str, values: Mapping[str, Value]) -> str:
    try:
        words = shlex.split(expr, posix=True)
    except ValueError as exc:
        raise UsageError(f"invalid expression {{{{{expr}}}}}: {exc}") from None
    quoted = [w.startswith(("'", '"')) for w in shlex.split(expr, posix=False)]
    if not words:
        return ""
    value = values.get(words[0])
    args: list[str | None] = []
    pairs: dict[str, str] = {}
    for word, was_quoted in zip(words[1:], quoted[1:], strict=True):
        key, eq, rest = word.partition("=")
        if eq and not was_quoted and key.isidentifier():
            pairs[key] = rest
        else:
            args.append(word if was_quoted else _lookup(values, word))
    if callable(value):
        return value(args, pairs)
    return value or ""


def _lookup(values: Mapping[str, Value], name: str) -> str | None:
    value = values.get(name)
    return value if isinstance(value, str) else None


def date_helper(when: dt.datetime) -> Helper:
    """A ``date``-like helper: ``{{date 'FORMAT' tz='Zone'}}`` (UTC, ISO 8601 without a format)."""

    def helper(args: list[str | None], pairs: dict[str, str]) -> str:
        unknown = set(pairs) - {"tz"}
        if unknown:
            raise UsageError(f"unknown date attribute {sorted(unknown)[0]!r}", hint="only tz= is known")
        try:
            zone = ZoneInfo(pairs.get("tz", "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"unknown time zone {pairs['tz']!r}") from None
        fmt = args[0] if args and args[0] else None
        return format_moment(when.astimezone(zone), fmt)

    return helper


def format_moment(when: dt.datetime, fmt: str | None) -> str:
    """``when`` formatted with moment.js tokens; without a format, moment's ISO default."""
    if fmt is None:
        offset = when.utcoffset()
        if offset is None or offset == dt.timedelta(0):
            return when.strftime("%Y-%m-%dT%H:%M:%SZ")
        return when.isoformat(timespec="seconds")
    out = []
    for token in _MOMENT.findall(fmt):
        out.append(_token(when, token))
    return "".join(out)


def _token(when: dt.datetime, token: str) -> str:
    hour12 = when.hour % 12 or 12
    table = {
        "YYYY": f"{when.year:04d}", "YY": f"{when.year % 100:02d}", "MM": f"{when.month:02d}", "M": str(when.month),
        "DD": f"{when.day:02d}", "D": str(when.day), "HH": f"{when.hour:02d}", "H": str(when.hour),
        "hh": f"{hour12:02d}", "h": str(hour12), "mm": f"{when.minute:02d}", "m": str(when.minute),
        "ss": f"{when.second:02d}", "s": str(when.second), "SSS": f"{when.microsecond // 1000:03d}",
        "A": "AM" if when.hour < 12 else "PM", "a": "am" if when.hour < 12 else "pm",
    }
    if token in table:
        return table[token]
    if token in ("Z", "ZZ"):
        offset = when.utcoffset() or dt.timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        hh, mm = divmod(abs(minutes), 60)
        return f"{sign}{hh:02d}:{mm:02d}" if token == "Z" else f"{sign}{hh:02d}{mm:02d}"
    if token.startswith("["):
        return token[1:-1]
    return token
