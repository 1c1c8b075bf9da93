"""`` (did you mean X?)``: the one suggestion for a misspelt word, wherever a word is chosen from a list
(Dockerfile instructions, flags and mount keys, ``--output`` and ``--cache-*`` types and keys, targets).

Letter case is ignored in the match and the choice is shown as written. difflib loads only when a
word is misspelt: every start would pay for it otherwise (issue 17).
"""

from __future__ import annotations

from collections.abc import Iterable


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest choice, or empty when none is close."""
    import difflib

    originals = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(word.lower(), list(originals), n=1, cutoff=0.6)
    return f" (did you mean {originals[found[0]]}?)" if found else ""
