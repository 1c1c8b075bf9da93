"""Plain API arguments to typed values, checked once at the boundary (``ArgumentError`` with a hint)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from dockyard.errors import ArgumentError

# ``registry_ca``: CA files to trust per registry host, one file or several (``--registry-ca HOST=FILE``)
CaFiles = Mapping[str, str | os.PathLike[str] | Sequence[str | os.PathLike[str]]]


def path(name: str, value: object, *, optional: bool = False) -> Path | None:
    """A ``str`` or ``os.PathLike`` as a Path (None only when ``optional``)."""
    if value is None and optional:
        return None
    if isinstance(value, str | os.PathLike):
        return Path(value)
    raise ArgumentError(f"{name} must be a path (str or os.PathLike), not {type(value).__name__}",
                        hint=f'e.g. {name}="." or {name}=pathlib.Path("app")')


def strings(name: str, value: object) -> tuple[str, ...]:
    """One string or an iterable of strings (``platforms="linux/amd64"`` and ``["linux/amd64"]`` alike)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        items = tuple(value)
        if all(isinstance(v, str) for v in items):
            return items
    raise ArgumentError(f"{name} must be a string or a list of strings, not {type(value).__name__}",
                        hint=f'e.g. {name}=["a", "b"]')


def mapping(name: str, value: object) -> dict[str, str]:
    """A ``dict`` of strings (``build_args={"VERSION": "1.2.3"}``)."""
    if value is None:
        return {}
    if isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return dict(value)
    raise ArgumentError(f"{name} must be a dict of strings to strings, not {type(value).__name__}",
                        hint=f'e.g. {name}={{"KEY": "value"}}')


def flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise ArgumentError(f"{name} must be True or False, not {type(value).__name__}")


def text(name: str, value: object, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if isinstance(value, str):
        return value
    raise ArgumentError(f"{name} must be a string, not {type(value).__name__}")


def count(name: str, value: object, *, most: int) -> int:
    """A whole number from 0 to ``most`` (``push_retry=2``)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most:
        return value
    raise ArgumentError(f"{name} must be a whole number from 0 to {most}, not {value!r}", hint=f"e.g. {name}=2")


def switch(name: str, value: object) -> str | None:
    """A flag that also takes a value (``provenance=True`` or ``provenance="mode=max"``), as its CLI text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    raise ArgumentError(f"{name} must be True, False or a string, not {type(value).__name__}",
                        hint=f'e.g. {name}=True or {name}="mode=max"')


def files_by_host(name: str, value: object) -> dict[str, tuple[Path, ...]]:
    """``{"HOST[:PORT]": "ca.pem"}`` or ``{"HOST": ["a.pem", "b.pem"]}`` (``--registry-ca HOST=FILE``)."""
    if value is None:
        return {}
    out: dict[str, tuple[Path, ...]] = {}
    if isinstance(value, Mapping):
        for host, files in value.items():
            items = (files,) if isinstance(files, str | os.PathLike) else files
            if not isinstance(host, str) or not isinstance(items, Iterable) or isinstance(items, bytes | Mapping):
                break
            paths = tuple(items)
            if not all(isinstance(f, str | os.PathLike) for f in paths):
                break
            out[host] = tuple(Path(f) for f in paths)
        else:
            return out
    raise ArgumentError(f"{name} must be a dict of registry hosts to CA files, not {type(value).__name__}",
                        hint=f'e.g. {name}={{"registry.example:5000": "ca.pem"}}')
