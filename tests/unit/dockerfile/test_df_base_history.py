"""History rows inherited from a base image are carried into the new image unchanged."""

from __future__ import annotations

import json
from dataclasses import replace

from dockyard.dockerfile.scope import HISTORY_COMMENT, base_config
from dockyard.engine.image import config_bytes
from dockyard.engine.results import FsResult
from dockyard.oci.config import History, ImageConfig
from dockyard.platform import Platform


def test_base_rows_keep_their_time_and_omit_empty_fields() -> None:
    """BuildKit copies the base's rows as they are (its exporter only fills ``created`` where it
    is missing); dockyard used to drop their times and add ``"comment": ""`` (found by the
    buildah differential test)."""
    base = {"config": {}, "history": [
        {"created": "2023-11-14T22:13:20Z", "created_by": "base layer", "author": "someone"},
        {"created": "2023-11-15T00:00:00Z", "created_by": "ENV A=1", "comment": "x", "empty_layer": True},
    ]}
    planned = base_config(ImageConfig.from_json({"architecture": "amd64", "os": "linux", **base}),
                          Platform.parse("linux/amd64"))
    planned = replace(planned, history=(*planned.history, History(created_by="RUN true", comment=HISTORY_COMMENT)))
    doc = json.loads(config_bytes(planned, FsResult("top", ()), created="2026-01-01T00:00:00Z"))
    assert doc["history"] == [
        {"created": "2023-11-14T22:13:20Z", "created_by": "base layer", "author": "someone"},
        {"created": "2023-11-15T00:00:00Z", "created_by": "ENV A=1", "comment": "x", "empty_layer": True},
        {"created": "2026-01-01T00:00:00Z", "created_by": "RUN true", "comment": "buildkit.dockerfile.v0"},
    ]
