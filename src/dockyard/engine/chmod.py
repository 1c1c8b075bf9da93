"""``COPY --chmod`` values: octal (``755``) or symbolic (``u+x,g-w``, ``a=rX``, ``go=u-w``).

BuildKit accepts what chmod(1) accepts, parsed with a umask of 0, and applies the result to
every copied file *and* directory. The two forms differ in one way that matters: an octal
mode replaces the permission bits outright (and is also the mode of directories the copy
has to create), while a symbolic mode edits each entry's own mode, so ``X`` can tell
directories and executables from plain files. Symlinks are never chmod'ed.

Symbolic grammar (clauses separated by ``,``)::

    clause := who* action+      who := u | g | o | a      (none = a)
    action := op (perm* | u | g | o)        op := + | - | =
    perm   := r | w | x | X | s | t

``X`` sets execute where the entry is a directory or already executable by anyone (for
``-`` it means plain ``x``); ``s`` is set-uid/gid for the ``u``/``g`` classes; ``t`` is the
sticky bit; a class letter after the operator copies that class's current bits.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass

from dockyard.errors import DockerfileError

_CLASS_BITS = {"u": 0o4700, "g": 0o2070, "o": 0o0007}
_SHIFT = {"u": 6, "g": 3, "o": 0}
_ALL = 0o6777


@dataclass(frozen=True)
class _Action:
    """One clause of a symbolic mode (``u+x``, ``go=r``, ``g=u``), as chmod(1) reads it."""

    who: str  # subset of "ugo"
    op: str  # "+", "-" or "="
    perms: str  # letters from "rwxXst"
    copy_from: str = ""  # "u", "g" or "o" when the action copies a class


@dataclass(frozen=True)
class ModeChange:
    """A parsed ``--chmod`` value; :meth:`apply` gives an entry's new permission bits."""

    text: str
    octal: int | None
    actions: tuple[_Action, ...] = ()

    def apply(self, mode: int) -> int:
        """The new ``S_IMODE`` bits for an entry whose full ``st_mode`` is ``mode``."""
        if self.octal is not None:
            return self.octal
        original = stat.S_IMODE(mode)
        result = original
        is_dir = stat.S_ISDIR(mode)
        for action in self.actions:
            result = _apply_action(action, result, original=original, is_dir=is_dir)
        return result


def _apply_action(action: _Action, current: int, *, original: int, is_dir: bool) -> int:  # noqa: C901, PLR0912 - chmod's symbolic who/op/perm rules, as coreutils/BuildKit apply them
    if action.copy_from:
        value = (current >> _SHIFT[action.copy_from]) & 0o7
        bits = 0
        for cls in action.who:
            bits |= value << _SHIFT[cls]
        if action.op == "+":
            return current | bits
        if action.op == "-":
            return current & ~bits
        cleared = current
        for cls in action.who:
            cleared &= ~(0o7 << _SHIFT[cls])
        return cleared | bits
    bits = 0
    for letter in action.perms:
        for cls in action.who:
            shift = _SHIFT[cls]
            if letter == "r":
                bits |= 0o4 << shift
            elif letter == "w":
                bits |= 0o2 << shift
            elif letter == "x" or (letter == "X" and (action.op == "-" or is_dir or original & 0o111)):
                bits |= 0o1 << shift
            elif letter == "s" and cls in "ug":
                bits |= stat.S_ISUID if cls == "u" else stat.S_ISGID
            elif letter == "t" and cls in "ug":
                bits |= stat.S_ISVTX
    if action.op == "+":
        return current | bits
    if action.op == "-":
        return current & ~bits
    cleared = current
    for cls in action.who:
        cleared &= ~_CLASS_BITS[cls]
    return cleared | bits


def parse_chmod(text: str) -> ModeChange:
    """Parse ``text`` as BuildKit's Dockerfile frontend does; raise :class:`DockerfileError` if invalid."""
    if not text:
        raise DockerfileError("invalid chmod parameter: ''. it should be octal string and between 0 and 07777")
    if text[0].isdigit():
        try:
            value = int(text, 8)
        except ValueError:
            value = -1
        if not 0 <= value <= 0o7777:
            raise DockerfileError(
                f"invalid chmod parameter: '{text}'. it should be octal string and between 0 and 07777")
        return ModeChange(text=text, octal=value)
    actions: list[_Action] = []
    for clause in text.split(","):
        actions.extend(_parse_clause(clause, text))
    return ModeChange(text=text, octal=None, actions=tuple(actions))


def _parse_clause(clause: str, text: str) -> list[_Action]:
    i = 0
    who = ""
    while i < len(clause) and clause[i] in "ugoa":
        who += "ugo" if clause[i] == "a" else clause[i]
        i += 1
    classes = "".join(c for c in "ugo" if c in who) or "ugo"
    actions: list[_Action] = []
    if i >= len(clause):
        raise DockerfileError(f"invalid chmod parameter: '{text}'", hint="use octal (755) or chmod(1) symbols (u+x)")
    while i < len(clause):
        op = clause[i]
        if op not in "+-=":
            raise DockerfileError(f"invalid chmod parameter: '{text}'",
                                  hint="use octal (755) or chmod(1) symbols (u+x)")
        i += 1
        start = i
        while i < len(clause) and clause[i] in "rwxXst":
            i += 1
        perms = clause[start:i]
        if not perms and i < len(clause) and clause[i] in "ugo":
            actions.append(_Action(who=classes, op=op, perms="", copy_from=clause[i]))
            i += 1
            continue
        actions.append(_Action(who=classes, op=op, perms=perms))
    return actions
