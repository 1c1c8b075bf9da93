"""Stanzas of ``Key: value`` lines separated by blank lines: dpkg status, Python METADATA."""

from __future__ import annotations


def stanzas(text: str) -> list[dict[str, str]]:
    """Each stanza as a dict; continuation lines (leading space or tab) are joined to their field."""
    out: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                out.append(current)
            current, last = {}, ""
            continue
        if line[0] in " \t" and last:
            current[last] += "\n" + line.strip()
            continue
        key, colon, value = line.partition(":")
        if colon:
            last = key.strip()
            current.setdefault(last, value.strip())
    if current:
        out.append(current)
    return out


def headers(text: str) -> dict[str, str]:
    """The header block of an email-format file (Python METADATA/PKG-INFO): up to the first blank line."""
    block = text.split("\n\n", 1)[0]
    found = stanzas(block)
    return found[0] if found else {}
