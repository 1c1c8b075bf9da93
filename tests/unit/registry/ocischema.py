"""Validate documents against the OCI image-spec JSON schemas in ../shared/conformance (draft-04).

The schemas refer to each other by URLs whose last path component is the file name; every such
reference resolves to the local file, so validation never touches the network.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMAS = Path(__file__).resolve().parents[4] / "shared" / "conformance" / "oci-image-spec"
if not SCHEMAS.is_dir():
    SCHEMAS = Path("/work/shared/conformance/oci-image-spec")


def _retrieve(uri: str) -> Resource[Any]:
    name = uri.rstrip("/").rsplit("/", 1)[-1].split("#")[0]
    path = SCHEMAS / name
    if not path.suffix:
        raise LookupError(uri)
    return DRAFT4.create_resource(json.loads(path.read_text()))


@cache
def _validator(name: str) -> jsonschema.Draft4Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    registry: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    return jsonschema.Draft4Validator(schema, registry=registry, format_checker=jsonschema.FormatChecker())


def validate(name: str, data: bytes) -> None:
    """Raise jsonschema.ValidationError when ``data`` does not satisfy schema file ``name``."""
    _validator(name).validate(json.loads(data))
