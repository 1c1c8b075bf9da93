"""The image config a build writes, byte for byte: its key order is part of every image digest.

The planner accumulates a stage's config in the image model (``oci.config.ImageConfig``) and the
node serializes it; these bytes are what dockyard wrote when the planner still had a config type
of its own, so a change to the model's serializer that would move every build's digest fails here first.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dockyard.digest import Digest
from dockyard.dockerfile.scope import HISTORY_COMMENT, base_config, scratch_config
from dockyard.engine.image import config_bytes
from dockyard.engine.results import FsResult
from dockyard.oci.config import Healthcheck, History, ImageConfig
from dockyard.platform import Platform
from dockyard.store.cache import LayerRecord

CREATED = "2026-01-01T00:00:00Z"
DIFF_ID = Digest("sha256", "b" * 64)
LAYERS = FsResult("top", (LayerRecord(digest=Digest("sha256", "a" * 64), diff_id=DIFF_ID, size=3,
                                      media_type="application/vnd.oci.image.layer.v1.tar+gzip"),))
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _planned() -> ImageConfig:
    base: dict[str, Any] = {
        "config": {"Env": ["A=1"], "Cmd": ["sh"], "Healthcheck": {"Test": ["CMD", "x"], "Interval": 5},
                   "Shell": ["/bin/bash", "-c"], "Labels": {"z": "1", "a": "2"}, "ExposedPorts": {"80/tcp": {}},
                   "Volumes": {"/v": {}}, "OnBuild": ["RUN x"]},
        "author": "me",
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "base", "author": "someone"},
                    {"created_by": "", "empty_layer": True}, {"comment": "c"}],
    }
    platform = Platform.parse("linux/arm/v7")
    config = base_config(ImageConfig.from_json({**platform.to_oci(), **base}), platform)
    config = replace(config, history=(*config.history, History(created_by="RUN true", comment=HISTORY_COMMENT)))
    return config.with_container(labels={**config.config.labels, "k": "v"}, user="u", working_dir="/w",
                                 entrypoint=("e",), stop_signal="SIGTERM", healthcheck=Healthcheck(test=("NONE",)))


def test_every_field_keeps_its_place() -> None:
    expected = (
        '{"created":"2026-01-01T00:00:00Z","architecture":"arm","os":"linux","variant":"v7",'
        f'"config":{{"Env":["A=1","{PATH}"],"Cmd":["sh"],"Entrypoint":["e"],"WorkingDir":"/w","User":"u",'
        '"ExposedPorts":{"80/tcp":{}},"Volumes":{"/v":{}},"Labels":{"a":"2","z":"1","k":"v"},'
        '"StopSignal":"SIGTERM","Healthcheck":{"Test":["NONE"]},"Shell":["/bin/bash","-c"],"OnBuild":["RUN x"]},'
        f'"author":"me","rootfs":{{"type":"layers","diff_ids":["{DIFF_ID}"]}},'
        '"history":[{"created":"2023-11-14T22:13:20Z","created_by":"base","author":"someone"},'
        '{"created_by":"","empty_layer":true,"created":"2026-01-01T00:00:00Z"},'
        '{"created_by":"","comment":"c","created":"2026-01-01T00:00:00Z"},'
        '{"created_by":"RUN true","comment":"buildkit.dockerfile.v0","created":"2026-01-01T00:00:00Z"}]}'
    )
    data = config_bytes(_planned(), LAYERS, created=CREATED)
    assert data.decode() == expected
    parsed = ImageConfig.from_bytes(data)  # the model reads back what it wrote
    assert parsed.diff_ids == (DIFF_ID,) and parsed.config.shell == ("/bin/bash", "-c")
    assert parsed.config.healthcheck == Healthcheck(test=("NONE",)) and parsed.config.on_build == ("RUN x",)


def test_an_empty_image_and_inline_cache_records() -> None:
    scratch = scratch_config(Platform.parse("linux/amd64"))
    assert config_bytes(scratch, FsResult("top", ()), created=CREATED).decode() == (
        '{"created":"2026-01-01T00:00:00Z","architecture":"amd64","os":"linux",'
        f'"config":{{"Env":["{PATH}"]}},"rootfs":{{"type":"layers","diff_ids":[]}},"history":[]}}'
    )
    copied = replace(scratch, history=(History(created_by="COPY . .", comment=HISTORY_COMMENT),))
    data = config_bytes(copied, LAYERS, created=CREATED, extra={"moby.buildkit.cache.v0": "abc"})
    assert data.decode().endswith(
        '"history":[{"created_by":"COPY . .","comment":"buildkit.dockerfile.v0","created":"2026-01-01T00:00:00Z"}],'
        '"moby.buildkit.cache.v0":"abc"}'
    )
