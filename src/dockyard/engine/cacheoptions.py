"""``--cache-to`` and ``--cache-from`` values, parsed from buildx's syntax into typed options.

The syntax is buildx's CSV of ``key=value`` fields (``type=registry,ref=r/app:cache,mode=max``);
a bare value without ``=`` is a registry reference (``--cache-from r/app:cache``). Unlike
BuildKit, which ignores what it does not know, an unknown type, key or value is an error
that names the accepted ones: a mistyped ``mdoe=max`` silently ignored would export far
less than asked, and the user would only notice on the next cold CI run.

The format itself is described in docs/cache.md and :mod:`dockyard.engine.cachemanifest`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dockyard.errors import UsageError
from dockyard.reference import Reference
from dockyard.suggest import suggest

CacheKind = Literal["registry", "local", "inline"]
Mode = Literal["min", "max"]

_TRUE = {"1", "t", "true", "yes", "on"}
_FALSE = {"0", "f", "false", "no", "off"}
_TO_KEYS: dict[str, tuple[str, ...]] = {
    "registry": ("type", "ref", "mode", "oci-mediatypes", "image-manifest", "cache-mounts", "ignore-error"),
    "local": ("type", "dest", "tag", "mode", "oci-mediatypes", "image-manifest", "cache-mounts", "ignore-error"),
    "inline": ("type", "mode"),
}
_FROM_KEYS: dict[str, tuple[str, ...]] = {
    "registry": ("type", "ref"),
    "local": ("type", "src", "tag"),
}
_TO_EXAMPLE = "e.g. --cache-to type=registry,ref=REGISTRY/app:cache,mode=max (types: registry, local, inline)"
_FROM_EXAMPLE = "e.g. --cache-from type=registry,ref=REGISTRY/app:cache (types: registry, local)"


@dataclass(frozen=True, kw_only=True)
class CacheExport:
    """One ``--cache-to``: where the cache goes (``ref`` or ``dest``) and what it holds."""

    kind: CacheKind
    ref: Reference | None = None  # registry
    dest: Path | None = None  # local (an OCI layout directory)
    tag: str = "latest"  # local: the index.json entry's ref.name
    mode: Mode = "min"
    oci_mediatypes: bool = True
    cache_mounts: bool = False
    ignore_error: bool = False
    # One node's part of a cache the client merges (a build spread over several nodes): the node
    # pushes its cache manifest by digest only (registry) or writes nothing (local), and the client
    # merges every node's records into the one manifest it then tags (buildkit#2822).
    part: bool = False

    def portable(self) -> dict[str, Any]:
        """What a remote node receives: never ``dest`` (the client's directory), always as a part."""
        if self.kind != "inline" and not self.part:
            raise ValueError("a remote node receives registry and local cache targets as parts only")
        return {"kind": self.kind, "ref": str(self.ref) if self.ref is not None else None, "mode": self.mode,
                "oci_mediatypes": self.oci_mediatypes, "cache_mounts": self.cache_mounts,
                "ignore_error": self.ignore_error, "part": self.part}

    @classmethod
    def from_portable(cls, doc: Mapping[str, Any]) -> CacheExport:
        kind = str(doc["kind"])
        if kind not in ("registry", "local", "inline"):
            raise ValueError(f"unknown cache export kind {kind!r}")
        mode = str(doc["mode"])
        return cls(kind="registry" if kind == "registry" else "local" if kind == "local" else "inline",
                   ref=Reference.parse(str(doc["ref"])) if doc.get("ref") else None,
                   mode="max" if mode == "max" else "min", oci_mediatypes=bool(doc["oci_mediatypes"]),
                   cache_mounts=bool(doc["cache_mounts"]), ignore_error=bool(doc["ignore_error"]),
                   part=bool(doc["part"]))


@dataclass(frozen=True, kw_only=True)
class CacheImport:
    """One ``--cache-from``: a registry reference (a cache manifest or an image with inline
    cache) or a local OCI layout directory."""

    kind: CacheKind
    ref: Reference | None = None
    src: Path | None = None
    tag: str = "latest"

    @property
    def name(self) -> str:
        """How progress and warnings name this source."""
        return str(self.ref) if self.ref is not None else f"local:{self.src}"

    def portable(self) -> dict[str, Any]:
        """What a remote node receives: a registry source only (a local one is the client's directory)."""
        if self.ref is None:
            raise ValueError("a remote node imports registry caches only")
        return {"kind": "registry", "ref": str(self.ref)}

    @classmethod
    def from_portable(cls, doc: Mapping[str, Any]) -> CacheImport:
        if doc.get("kind") != "registry":
            raise ValueError(f"a remote node imports registry caches only, not {doc.get('kind')!r}")
        return cls(kind="registry", ref=Reference.parse(str(doc["ref"])))


def _fields(option: str, spec: str, example: str) -> dict[str, str]:
    if "=" not in spec and spec.strip():
        return {"type": "registry", "ref": spec.strip()}
    import csv  # only when --cache-from/--cache-to is given

    try:
        rows = list(csv.reader([spec], strict=True))
    except csv.Error as exc:
        raise UsageError(f"invalid {option} {spec!r}: {exc}", hint=example) from None
    out: dict[str, str] = {}
    for part in rows[0] if rows else []:
        key, has_value, value = part.partition("=")
        key = key.strip().lower()
        if not has_value or not key:
            raise UsageError(f"invalid {option} {spec!r}: {part!r} is not key=value", hint=example)
        out[key] = value.strip()
    if not out:
        raise UsageError(f"invalid {option} {spec!r}: empty", hint=example)
    return out


def _check(option: str, spec: str, fields: dict[str, str], table: dict[str, tuple[str, ...]],
           example: str) -> str:
    kind = fields.get("type", "registry" if "ref" in fields else "")
    if kind not in table:
        what = f"unsupported cache type {kind!r}" if kind else "type is required"
        raise UsageError(f"invalid {option} {spec!r}: {what}{suggest(kind, tuple(table))}",
                         hint=f"types: {', '.join(table)}; {example}")
    for key in fields:
        if key not in table[kind]:
            raise UsageError(f"invalid {option} {spec!r}: unknown key {key!r} for type={kind}"
                             f"{suggest(key, table[kind])}", hint="keys: " + ", ".join(table[kind]))
    return kind


def _bool(option: str, spec: str, key: str, value: str) -> bool:
    low = value.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise UsageError(f"invalid {option} {spec!r}: {key}={value!r} is not a boolean", hint=f"use {key}=true|false")


def _ref(option: str, spec: str, value: str | None, example: str) -> Reference:
    if not value:
        raise UsageError(f"invalid {option} {spec!r}: ref is required", hint=example)
    try:
        return Reference.parse(value)
    except UsageError as exc:
        raise UsageError(f"invalid {option} {spec!r}: {exc.message}", hint="ref=REGISTRY/REPOSITORY:TAG") from None


def _path(option: str, spec: str, key: str, value: str | None) -> Path:
    if not value:
        raise UsageError(f"invalid {option} {spec!r}: {key} is required", hint=f"e.g. type=local,{key}=./cache")
    return Path(value)


def parse_cache_to(spec: str) -> CacheExport:
    """One ``--cache-to`` value; a UsageError (one line, with a hint) when it is wrong."""
    option = "--cache-to"
    fields = _fields(option, spec, _TO_EXAMPLE)
    kind = _check(option, spec, fields, _TO_KEYS, _TO_EXAMPLE)
    mode = fields.get("mode", "min")
    if mode not in ("min", "max"):
        raise UsageError(f"invalid {option} {spec!r}: mode={mode!r}", hint="use mode=min or mode=max")
    if kind == "inline" and mode == "max":
        raise UsageError(f"invalid {option} {spec!r}: inline cache holds only the image's own layers",
                         hint="use mode=min with type=inline, or type=registry,mode=max")
    flags = {key: _bool(option, spec, key, fields[key])
             for key in ("oci-mediatypes", "image-manifest", "cache-mounts", "ignore-error") if key in fields}
    if flags.get("image-manifest") is False:
        raise UsageError(f"invalid {option} {spec!r}: dockyard always writes the cache as one image manifest",
                         hint="drop image-manifest=false (see docs/cache.md)")
    return CacheExport(
        kind="inline" if kind == "inline" else "local" if kind == "local" else "registry",
        ref=_ref(option, spec, fields.get("ref"), _TO_EXAMPLE) if kind == "registry" else None,
        dest=_path(option, spec, "dest", fields.get("dest")) if kind == "local" else None,
        tag=fields.get("tag") or "latest",
        mode="max" if mode == "max" else "min",
        oci_mediatypes=flags.get("oci-mediatypes", True),
        cache_mounts=flags.get("cache-mounts", False),
        ignore_error=flags.get("ignore-error", False),
    )


def parse_cache_from(spec: str) -> CacheImport:
    """One ``--cache-from`` value; a UsageError (one line, with a hint) when it is wrong."""
    option = "--cache-from"
    fields = _fields(option, spec, _FROM_EXAMPLE)
    kind = _check(option, spec, fields, _FROM_KEYS, _FROM_EXAMPLE)
    if kind == "local":
        return CacheImport(kind="local", src=_path(option, spec, "src", fields.get("src")),
                           tag=fields.get("tag") or "latest")
    return CacheImport(kind="registry", ref=_ref(option, spec, fields.get("ref"), _FROM_EXAMPLE))


__all__ = ["CacheExport", "CacheImport", "parse_cache_from", "parse_cache_to"]
