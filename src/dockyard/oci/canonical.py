"""The one JSON encoding dockyard writes: compact, UTF-8, keys in the order the model emits them.

The digest of a manifest is the digest of its bytes, so the encoding must never vary: no
whitespace, no ASCII escaping, and key order fixed by each ``to_json`` method (the order
the OCI spec's examples use: ``schemaVersion``, ``mediaType``, then the document's fields).
Keys are not sorted because readers do not need it and the spec's order is easier to read.
"""

from __future__ import annotations

import json
from typing import Any

from dockyard.errors import DockyardError


class InvalidDocumentError(DockyardError):
    """A manifest, index, config or layout file is not what the OCI spec says it must be."""


def encode(document: Any) -> bytes:
    """The canonical bytes of a JSON-compatible value."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_object(data: bytes, *, what: str) -> dict[str, Any]:
    """Parse ``data`` as a JSON object, or raise InvalidDocumentError naming ``what``."""
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidDocumentError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidDocumentError(f"{what} is not a JSON object")
    return value


def field(doc: dict[str, Any], key: str, kind: type, *, what: str, required: bool = True) -> Any:
    """``doc[key]`` checked to be of ``kind``; absent optional fields give None."""
    if key not in doc or doc[key] is None:
        if required:
            raise InvalidDocumentError(f"{what}: missing {key!r}")
        return None
    value = doc[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidDocumentError(f"{what}: {key!r} must be {kind.__name__}")
    return value


def document_type(doc: dict[str, Any], *, what: str, allowed: frozenset[str], fallback: str | None) -> str:
    """The media type of a schemaVersion 2 manifest or index (``fallback``: the Content-Type), checked."""
    media_type = field(doc, "mediaType", str, what=what, required=False) or fallback
    if media_type not in allowed:
        raise InvalidDocumentError(f"{what}: unsupported media type {media_type!r}")
    if doc.get("schemaVersion") != 2:
        raise InvalidDocumentError(f"{what}: schemaVersion must be 2")
    return media_type
