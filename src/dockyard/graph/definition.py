"""The serialized build graph: what a node receives, in the very bytes the cache keys hash.

A :class:`Definition` lists the ops of one or more subgraphs inputs-first, each as its
canonical bytes (:meth:`dockyard.graph.cachekey.CacheKeys.canonical`: semantic fields only,
inputs named by their keys, the checksums of the context files the op reads). The key of
an op is therefore ``sha256`` of its entry, on the client and on any node alike, with no
build context at hand; BuildKit's ``pb.Definition`` (a list of marshalled ops plus per-op
metadata) is the model. ``roots`` name each subgraph's final op (``None``: scratch), and
``meta`` carries what is for people only (step names, ``Dockerfile:LINE``), keyed by op key.

:func:`serialize` turns ops into a definition; :func:`deserialize` rebuilds equivalent ops
(new objects with the same keys); :meth:`Definition.to_bytes` / :meth:`Definition.from_bytes`
are the wire form (canonical JSON; op entries embedded as text, byte for byte).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import DockyardError
from dockyard.graph import ops
from dockyard.graph.cachekey import KEY_VERSION, CacheKeys
from dockyard.graph.walk import topological
from dockyard.platform import Platform

FORMAT = "dockyard.definition.v1"

_OP_TYPES: dict[str, type[ops.Op]] = {
    cls.__name__: cls
    for cls in (ops.ImageSource, ops.ContextSource, ops.HttpSource, ops.GitSource, ops.Exec, ops.Copy, ops.Mkdir,
                ops.Mkfile, ops.Rm, ops.Merge)
}


class DefinitionError(DockyardError):
    """A serialized graph is malformed, of an unknown version, or names an op it does not hold."""


@dataclass(frozen=True)
class OpMeta:
    """What a person sees of an op (never part of its key)."""

    name: str = ""
    where: str = ""  # "Dockerfile:LINE"
    stage: str = ""


@dataclass(frozen=True)
class Definition:
    """Ops as canonical bytes (inputs first), the roots' keys, and per-key metadata."""

    ops: tuple[bytes, ...]
    roots: tuple[str | None, ...]
    meta: Mapping[str, OpMeta] = field(default_factory=dict)

    def keys(self) -> list[str]:
        """The key of every op, in order: sha256 of its canonical bytes."""
        return [op_key(entry) for entry in self.ops]

    def to_bytes(self) -> bytes:
        """Canonical JSON of the whole definition (sorted keys, no spaces, UTF-8)."""
        doc = {
            "format": FORMAT,
            "ops": [entry.decode("utf-8") for entry in self.ops],
            "roots": list(self.roots),
            "meta": {k: dataclasses.asdict(m) for k, m in sorted(self.meta.items())},
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Definition:
        try:
            doc = json.loads(data)
            if doc.get("format") != FORMAT:
                raise DefinitionError(f"unsupported graph definition format {doc.get('format')!r}",
                                      hint=f"this dockyard reads {FORMAT}; use the same version on every node")
            meta = {str(k): OpMeta(**v) for k, v in doc.get("meta", {}).items()}
            return cls(ops=tuple(str(e).encode("utf-8") for e in doc["ops"]),
                       roots=tuple(None if r is None else str(r) for r in doc["roots"]), meta=meta)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DefinitionError(f"malformed graph definition ({type(exc).__name__}: {exc})") from None


def op_key(entry: bytes) -> str:
    """The cache key of one canonical op entry (what :meth:`CacheKeys.key` returns for the op)."""
    return "sha256:" + hashlib.sha256(entry).hexdigest()


def serialize(roots: Sequence[ops.State], keys: CacheKeys, *,
              meta: Mapping[int, OpMeta] | None = None) -> Definition:
    """The definition of the graphs under ``roots``; ``meta`` is looked up by ``id(op)``.

    Ops with equal keys (the same work reached twice, e.g. a stage shared by platforms)
    are stored once; the first one's metadata is kept.
    """
    entries: list[bytes] = []
    seen: set[str] = set()
    out_meta: dict[str, OpMeta] = {}
    for op in topological(roots):
        key = keys.key(op)
        if key in seen:
            continue
        seen.add(key)
        entries.append(keys.canonical(op))
        found = (meta or {}).get(id(op))
        if found is not None and found != OpMeta():
            out_meta[key] = found
    return Definition(ops=tuple(entries), roots=tuple(None if r is None else keys.key(r) for r in roots),
                      meta=out_meta)


@dataclass(frozen=True)
class Graph:
    """Deserialized ops: ``by_key`` every op, ``roots`` the subgraph roots (None: scratch)."""

    by_key: Mapping[str, ops.Op]
    roots: tuple[ops.State, ...]
    keys: Mapping[int, str]  # id(op) -> key, for the ops of this graph

    def key(self, op: ops.Op) -> str:
        return self.keys[id(op)]


def deserialize(definition: Definition) -> Graph:
    """Rebuild the ops of ``definition``: new objects whose keys equal the serialized ones."""
    by_key: dict[str, ops.Op] = {}
    ids: dict[int, str] = {}
    for entry in definition.ops:
        key = op_key(entry)
        op = _decode_op(entry, by_key, definition.meta.get(key))
        by_key[key] = op
        ids[id(op)] = key
    roots: list[ops.State] = []
    for root in definition.roots:
        if root is not None and root not in by_key:
            raise DefinitionError(f"graph definition root {root} is not among its ops")
        roots.append(None if root is None else by_key[root])
    return Graph(by_key=by_key, roots=tuple(roots), keys=ids)


def _decode_op(entry: bytes, known: Mapping[str, ops.Op], meta: OpMeta | None) -> ops.Op:
    try:
        body = json.loads(entry)
        if body.get("v") != KEY_VERSION:
            raise DefinitionError(f"op encoded as {body.get('v')!r}, this dockyard reads {KEY_VERSION}")
        cls = _OP_TYPES[body["op"]]
        values = _decode_fields(cls, body["fields"], known)
    except DefinitionError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise DefinitionError(f"malformed op in graph definition ({type(exc).__name__}: {exc})") from None
    return cls(**values, description=meta.name if meta else "")


def _decode_fields(cls: type[Any], fields: Mapping[str, Any], known: Mapping[str, ops.Op]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.metadata.get("semantic", True):
            continue
        if f.name not in fields:
            raise DefinitionError(f"op {cls.__name__} lacks field {f.name!r}")
        out[f.name] = _decode(hints[f.name], fields[f.name], known)
    return out


def _decode(hint: Any, value: Any, known: Mapping[str, ops.Op]) -> Any:
    """``value`` as the type ``hint`` names (the inverse of CacheKeys' field encoding)."""
    args = typing.get_args(hint)
    if hint is Platform:
        os_name, _, rest = str(value).partition("/")
        arch, _, variant = rest.partition("/")
        return Platform(os_name, arch, variant)
    if hint is ops.Mount:
        return ops.Mount(**_decode_fields(ops.Mount, value, known))
    if typing.get_origin(hint) is tuple:
        return tuple(_decode(args[0], v, known) for v in value)
    if ops.Op in args or hint is ops.Op:  # a State: an input op by key, or None for scratch
        if value is None:
            return None
        if value not in known:
            raise DefinitionError(f"graph definition names input {value} before defining it")
        return known[value]
    return value
