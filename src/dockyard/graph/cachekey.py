"""Cache keys: sha256 over canonical bytes of an op, its inputs' keys and the context it reads.

The canonical form is JSON with sorted keys, no spaces and UTF-8 text, built from the op's
*semantic* fields only (fields declared with ``metadata={"semantic": False}`` such as the
Dockerfile line and the description are stripped), so moving an instruction to another line
or rewording a comment keeps the cache. Input ops are replaced by their keys (scratch is
``null``). An op that reads build-context files (a copy or bind mount from the context)
also includes the checksum of exactly those files, computed by a :class:`ContentHasher`.

Golden tests pin the encoding: changing it invalidates every user's cache, so it is
versioned (``KEY_VERSION``) and must only change on purpose.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from typing import Protocol

from dockyard.graph.ops import ContextSource, Copy, Exec, Mount, Op
from dockyard.platform import Platform
from dockyard.selector.select import SourceSpec, check_patterns

# v2: context checksums come from the one file selector (Go wildcards, ``--parents``, lazy
# .dockerignore directories, symlinks resolved inside the context, modes, xattrs, hard links);
# v1 records could say CACHED for a changed file, so none of them may ever match again.
KEY_VERSION = "dockyard.cachekey.v2"


class ContentHasher(Protocol):
    """Checksums of build-context selections (see :class:`dockyard.graph.contenthash.ContextHasher`)."""

    def checksum(self, spec: SourceSpec, *, ignore: Sequence[str] = (), owners: bool = False) -> str: ...


class CacheKeys:
    """Computes and memoises keys for the ops of one build (ops are compared by identity)."""

    def __init__(self, hasher: ContentHasher | None = None) -> None:
        self.hasher = hasher
        self._memo: dict[int, tuple[Op, str]] = {}
        # the bytes each key hashed: serializing the graph reuses them instead of checksumming
        # the context a second time (half of a big context's key phase)
        self._bytes: dict[int, tuple[Op, bytes]] = {}

    def key(self, op: Op) -> str:
        """``sha256:<hex>`` for ``op`` (inputs first; deep chains are handled without recursion)."""
        memo = self._memo
        if id(op) in memo:
            return memo[id(op)][1]
        # Post-order walk that stops at ops already keyed, so keying every step of a long
        # chain stays linear.
        stack: list[tuple[Op, bool]] = [(op, False)]
        while stack:
            item, ready = stack.pop()
            if id(item) in memo:
                continue
            if ready:
                memo[id(item)] = (item, self._compute(item))
                continue
            stack.append((item, True))
            stack.extend((child, False) for child in reversed(item.inputs) if id(child) not in memo)
        return memo[id(op)][1]

    def canonical(self, op: Op) -> bytes:
        """The exact bytes hashed for ``op`` (inputs must already have keys)."""
        found = self._bytes.get(id(op))
        if found is not None and found[0] is op:
            return found[1]
        body = {"v": KEY_VERSION, "op": type(op).__name__, "fields": self._encode_fields(op)}
        content = self._content(op)
        if content:
            body["content"] = content
        data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        self._bytes[id(op)] = (op, data)
        return data

    def describe(self, op: Op) -> dict[str, object]:
        """A readable form of ``op``: its type and semantic fields, inputs shown by key."""
        self.key(op)
        return {"type": type(op).__name__, **self._encode_fields(op)}

    def _compute(self, op: Op) -> str:
        return "sha256:" + hashlib.sha256(self.canonical(op)).hexdigest()

    def _ref(self, op: Op | None) -> str | None:
        if op is None:
            return None
        return self._memo[id(op)][1] if id(op) in self._memo else self.key(op)

    def _encode(self, value: object) -> object:
        if isinstance(value, Op):
            return self._ref(value)
        if isinstance(value, Platform):
            return str(value)
        if isinstance(value, Mount):
            return self._encode_fields(value)
        if isinstance(value, tuple | list):
            return [self._encode(v) for v in value]
        if value is None or isinstance(value, str | int | bool):
            return value
        raise TypeError(f"cannot encode {type(value).__name__} in a cache key")

    def _encode_fields(self, obj: object) -> dict[str, object]:
        out: dict[str, object] = {}
        for f in dataclasses.fields(obj):  # type: ignore[arg-type]
            if f.metadata.get("semantic", True):
                out[f.name] = self._encode(getattr(obj, f.name))
        return out

    def _content(self, op: Op) -> list[str]:
        """Checksums of the context files ``op`` reads (empty when it reads none)."""
        spec = copy_spec(op) if isinstance(op, Copy) else None
        if spec is not None:
            check_patterns(spec)  # a bad wildcard fails here, with its Dockerfile line, for any source
        if self.hasher is None:
            return []
        sums: list[str] = []
        if spec is not None and isinstance(op, Copy) and isinstance(op.source, ContextSource):
            sums.append(self.hasher.checksum(spec, ignore=op.source.excludes))
        if isinstance(op, Exec):
            for mount in op.mounts:
                if isinstance(mount.source, ContextSource):
                    bind = bind_spec(mount.selector)
                    # an unfiltered read-only context is bound in place: the step sees its owners
                    in_place = mount.readonly and not mount.source.excludes
                    sums.append(self.hasher.checksum(bind, ignore=mount.source.excludes, owners=in_place))
        return sums


def bind_spec(selector: str | None) -> SourceSpec:
    """What a RUN's bind mount of the context at ``selector`` reads, as the selector takes it."""
    return SourceSpec(paths=(selector or ".",), allow_wildcard=False)


def copy_spec(op: Copy) -> SourceSpec:
    """The file-selecting part of a Copy op, as the selector takes it."""
    return SourceSpec(paths=op.paths, excludes=op.excludes, parents=op.parents,
                      follow_symlinks=op.follow_symlinks, allow_wildcard=op.allow_wildcard)
