"""``dockyard.imagetools.import_`` and ``create`` (both modes) through the API alone, against the
real registry, read back with skopeo."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import dockyard
from dockyard import progress
from tests.integration.registryhelpers import skopeo_raw
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def test_import_then_create_and_mirror(registry: TestRegistry, busybox_rootfs: dict[str, Path],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    base = f"{registry.address}/apitools/base:1"
    made = dockyard.imagetools.import_({"linux/amd64": busybox_rootfs["amd64"], "linux/arm64": busybox_rootfs["arm64"]},
                                       tags=base, cmd='["sh", "-c", "echo hi"]', env={"LANG": "C.UTF-8"},
                                       workdir="/srv")
    raw = skopeo_raw(base)
    assert made.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    index = json.loads(raw)
    amd = next(m["digest"] for m in index["manifests"] if m["platform"]["architecture"] == "amd64")
    found = dockyard.imagetools.inspect(base)
    config = next(i.config for i in found.images if i.platform.architecture == "arm64")
    assert config.config.cmd == ("sh", "-c", "echo hi") and config.config.working_dir == "/srv"
    assert "LANG=C.UTF-8" in config.config.env and any(e.startswith("PATH=") for e in config.config.env)

    # create: one platform of it as a new index, with a notice per blob copied
    events: list[progress.Event] = []
    one = dockyard.imagetools.create([f"{base.rpartition(':')[0]}@{amd}"], tags=f"{registry.address}/apitools/one:1",
                                     progress=events.append)
    assert one.index is not None and [str(m.platform) for m in one.index.manifests] == ["linux/amd64"]
    assert one.digest == "sha256:" + hashlib.sha256(skopeo_raw(f"{registry.address}/apitools/one:1")).hexdigest()
    assert any(isinstance(e, progress.Notice) and e.message.split()[0] in ("exists", "mounted", "uploaded", "pulled")
               for e in events)

    # create --from: the same digest under other names, nothing rebuilt
    mirror = dockyard.imagetools.create(from_=base, tags=[f"{registry.address}/apitools/mirror:1",
                                                          f"{registry.address}/apitools/mirror:latest"], push_retry=1)
    assert mirror.digest == made.digest and mirror.index is None
    assert skopeo_raw(f"{registry.address}/apitools/mirror:latest") == raw
    with pytest.raises(dockyard.UsageError, match="--from copies one image unchanged"):
        dockyard.imagetools.create([base], from_=base, tags=f"{registry.address}/apitools/mirror:2")
    with pytest.raises(dockyard.UsageError, match="--push-retry is for --from"):
        dockyard.imagetools.create([base], tags=f"{registry.address}/apitools/mirror:2", push_retry=2)
