"""``RUN --mount=...`` specs: bind, cache, tmpfs, secret and ssh mounts with their options.

A spec is CSV (``type=cache,target=/root/.cache,sharing=locked``). It is parsed twice: once
without expansion when the Dockerfile is read (to reject unknown keys and types early) and
once per platform with the expander, giving a :class:`MountSpec` the converter turns into a
graph mount. Defaults follow BuildKit: bind and secret/ssh mounts are read-only, cache and
tmpfs read-write; a secret without a target lands in ``/run/secrets/ID``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.suggest import suggest

MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING_MODES = ("shared", "private", "locked")
_KEYS = (
    "type",
    "from",
    "source",
    "target",
    "readonly",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "src",
    "dst",
    "destination",
    "ro",
    "rw",
    "readwrite",
    "env",
)
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)$", re.IGNORECASE)


class MountError(ValueError):
    """The ``--mount`` spec is malformed."""


@dataclass(frozen=True, kw_only=True)
class MountSpec:
    """One parsed mount; empty strings and None mean "not given"."""

    type: str = "bind"
    target: str = ""
    source: str = ""
    from_: str = ""
    readonly: bool = True
    id: str = ""
    sharing: str = ""
    required: bool = False
    size: int = 0
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    env: str = ""


def _bool(key: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "t", "true"):
        return True
    if lowered in ("0", "f", "false"):
        return False
    raise MountError(f"invalid value for {key}: {value}")


def _size(value: str) -> int:
    m = _SIZE_RE.match(value.strip())
    if not m:
        raise MountError(f"invalid value for size: {value}")
    power = "kmgtp".find(m.group(2).lower()) + 1 if m.group(2) else 0
    return int(float(m.group(1)) * (1024**power))


def _uint(key: str, value: str, base: int) -> int:
    try:
        number = int(value, base)
    except ValueError:
        raise MountError(f"invalid value {value} for {key}") from None
    if number < 0:
        raise MountError(f"invalid value {value} for {key}")
    return number


_CANONICAL = {"src": "source", "dst": "target", "destination": "target", "ro": "readonly", "rw": "readwrite",
              "from": "from_"}
_FLAGS = ("readonly", "readwrite", "required")  # keys that may stand alone, meaning "=true"


class _MountFields:
    """The fields of one spec as they are read, left to right (``type`` may come after others)."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}
        self.type = "bind"
        self.readonly_given = False

    def set(self, key: str, value: str, *, written: str = "") -> None:
        """Record ``key=value`` (``key`` canonical: aliases resolved; ``written`` as the spec spells it)."""
        if key == "type":
            self.type = value.lower()
            if self.type not in MOUNT_TYPES:
                raise MountError(f"unsupported mount type {value!r}{suggest(value, MOUNT_TYPES)}")
        elif key in ("readonly", "readwrite"):
            self.values["readonly"] = _bool(written or key, value) == (key == "readonly")
            self.readonly_given = True
        elif key in ("required", "size"):
            allowed = ("secret", "ssh") if key == "required" else ("tmpfs",)
            if self.type not in allowed:
                raise MountError(f"unexpected key '{key}' for mount type '{self.type}'")
            self.values[key] = _bool(key, value) if key == "required" else _size(value)
        elif key == "sharing":
            if value.lower() not in SHARING_MODES:
                raise MountError(f"unsupported sharing value {value!r}{suggest(value, SHARING_MODES)}")
            self.values["sharing"] = value.lower()
        elif key in ("mode", "uid", "gid"):
            self.values[key] = _uint(key, value, 8 if key == "mode" else 10)
        else:  # from_, source, target, id, env: plain strings
            self.values[key] = value


def parse_mount(spec: str, *, expand: Callable[[str], str] | None) -> MountSpec:
    """Parse one spec; with ``expand=None`` only the variable-free parts are checked."""
    fields = _MountFields()
    import csv  # only for a RUN --mount

    for field in next(csv.reader([spec]), []):
        key, has_value, value = field.partition("=")
        key = key.lower()
        if not has_value:
            if _CANONICAL.get(key, key) not in _FLAGS:
                raise MountError(f"invalid field '{field}' must be a key=value pair")
            fields.set(_CANONICAL.get(key, key), "true")
            continue
        if key not in _KEYS:
            raise MountError(f"unexpected key '{key}' in '{field}'{suggest(key, _KEYS)}")
        if expand is not None:
            value = expand(value)
        elif "$" in value:
            continue  # checked again after expansion
        fields.set(_CANONICAL.get(key, key), value, written=key)
    values, mtype = fields.values, fields.type
    if not fields.readonly_given:
        values["readonly"] = mtype not in ("cache", "tmpfs")
    _check(values, mtype, expanded=expand is not None)
    return MountSpec(type=mtype, **values)  # type: ignore[arg-type]


def _check(values: dict[str, object], mtype: str, *, expanded: bool) -> None:
    """The rules between fields, as BuildKit's ``parseMount`` checks them after reading all."""
    if mtype not in ("secret", "ssh", "cache"):
        for key in ("mode", "uid", "gid"):
            if key in values:
                raise MountError(f"{key} not allowed for {mtype!r} type mounts")
    if mtype == "secret":
        _check_secret(values)
    if values.get("sharing") and mtype != "cache":
        raise MountError(f"invalid cache sharing set for {mtype} mount")
    if mtype in ("bind", "cache", "tmpfs") and expanded and not values.get("target"):
        raise MountError("mount target is required")


def _check_secret(values: dict[str, object]) -> None:
    if values.get("from_"):
        raise MountError("secret mount should not have a from")
    if values.get("sharing"):
        raise MountError("secret mount should not define sharing")
    if not (values.get("source") or values.get("target") or values.get("id") or values.get("env")):
        raise MountError("invalid secret mount. one of source, target required")
    if values.get("source") and values.get("id"):
        raise MountError("both source and id can't be set")


def secret_id_and_target(mount: MountSpec) -> tuple[str, str]:
    """A secret mount's id and where it appears (``/run/secrets/ID`` by default)."""
    ident = mount.id or mount.source or (mount.target.rstrip("/").rsplit("/", 1)[-1] if mount.target else "")
    if mount.env and not mount.target:
        return ident, ""
    return ident, mount.target or f"/run/secrets/{ident}"


def ssh_id_and_target(mount: MountSpec) -> tuple[str, str]:
    """An ssh mount's id (``default`` when not given) and its socket path."""
    return mount.id or "default", mount.target or "/run/buildkit/ssh_agent.0"
