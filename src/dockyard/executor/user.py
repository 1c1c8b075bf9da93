"""Resolving a Dockerfile ``USER`` (``name``, ``uid``, ``name:group``, ``uid:gid``) in an image.

The names mean what the *image's* /etc/passwd and /etc/group say, never the host's, so
they are read from the rootfs (symlinks confined to it). The rules follow Docker's:
numeric ids pass through even without an entry (the group is then 0); a name that no
entry has is an error that names it; without an explicit group, the primary group comes
from the passwd entry and the supplementary groups are the /etc/group entries that list
the user as a member.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dockyard.errors import BuildError
from dockyard.oci.rootpath import resolve


@dataclass(frozen=True, kw_only=True)
class ExecUser:
    """Who a step runs as."""

    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()
    home: str = "/"


@dataclass(frozen=True)
class _Passwd:
    """One line of the image's /etc/passwd that USER may name."""

    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True)
class _Group:
    """One line of the image's /etc/group, for the user's supplementary groups."""

    name: str
    gid: int
    members: tuple[str, ...]


def _lines(rootfs: str | os.PathLike[str], name: str) -> list[list[str]]:
    path = resolve(rootfs, name)
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def _passwd(rootfs: str | os.PathLike[str]) -> list[_Passwd]:
    entries = []
    for fields in _lines(rootfs, "/etc/passwd"):
        if len(fields) >= 4 and fields[2].isdigit() and fields[3].isdigit():
            home = fields[5] if len(fields) > 5 and fields[5] else "/"
            entries.append(_Passwd(fields[0], int(fields[2]), int(fields[3]), home))
    return entries


def _groups(rootfs: str | os.PathLike[str]) -> list[_Group]:
    entries = []
    for fields in _lines(rootfs, "/etc/group"):
        if len(fields) >= 3 and fields[2].isdigit():
            members = tuple(m.strip() for m in fields[3].split(",") if m.strip()) if len(fields) > 3 else ()
            entries.append(_Group(fields[0], int(fields[2]), members))
    return entries


def resolve_user(rootfs: str | os.PathLike[str], spec: str) -> ExecUser:
    """The ids for ``USER spec`` in the image whose root is ``rootfs`` (empty spec: root)."""
    user_part, _, group_part = (spec or "0").partition(":")
    user_part = user_part or "0"
    passwd = _passwd(rootfs)
    entry: _Passwd | None
    if user_part.isdigit():
        uid = int(user_part)
        entry = next((p for p in passwd if p.uid == uid), None)
    else:
        entry = next((p for p in passwd if p.name == user_part), None)
        if entry is None:
            raise BuildError(f"unable to find user {user_part}: no matching entries in passwd file",
                             hint="create the user in an earlier step (adduser) or use a numeric uid")
        uid = entry.uid
    gid = entry.gid if entry else 0
    home = entry.home if entry else "/"
    groups = _groups(rootfs) if (group_part and not group_part.isdigit()) or entry else []
    extra: tuple[int, ...] = ()
    if group_part:
        if group_part.isdigit():
            gid = int(group_part)
        else:
            match = next((g for g in groups if g.name == group_part), None)
            if match is None:
                raise BuildError(f"unable to find group {group_part}: no matching entries in group file",
                                 hint="create the group in an earlier step (addgroup) or use a numeric gid")
            gid = match.gid
    elif entry is not None:
        seen: list[int] = []
        for group in groups:
            if entry.name in group.members and group.gid != gid and group.gid not in seen:
                seen.append(group.gid)
        extra = tuple(seen)
    return ExecUser(uid=uid, gid=gid, additional_gids=extra, home=home)
