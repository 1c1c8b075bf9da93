"""A step's layer is written while the next steps run (issue 17, edit1).

Only the image needs a step's blob; the next step needs only its committed snapshot. So the
worker archives and compresses each diff in the background and waits for every blob at the end
of the solve (``OpWorker.finish``), as BuildKit makes its blobs at export rather than per step
(``cache/blobs.go`` ``computeBlobChain`` runs when an exporter asks for the layers). A COPY of
50 MB took ~85 ms to archive, which the RUN after it waited for.

Pinned here through ``dockyard.build`` on one platform (runc, the busybox base):

- the first RUN's layer is still being written when the second RUN starts: its writer waits for
  the second RUN's container to start and would wait in vain (and the test fail) if layers were
  written before the next step ran;
- a layer that cannot be written fails the build with the step's Dockerfile line, and no cache
  record names that step: the next build runs it again; skopeo and umoci read the images;
- waiting for layers after the last step shows as a "writing layers" step when it takes a noticeable
  time (``engine/solve.py`` ``_finish_layers``), and not otherwise.
"""

from __future__ import annotations

import errno
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

import dockyard
from dockyard import progress
from dockyard.engine import worker
from dockyard.errors import DockyardError
from dockyard.executor.base import RunRequest
from dockyard.executor.runc import RuncExecutor
from dockyard.oci.layer import LayerBlob, LayerOptions, make_layer

pytestmark = pytest.mark.integration

DOCKERFILE = "FROM {base}\nRUN echo first > /first\nRUN echo second > /second\n"


def _context(tmp_path: Path, base: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE.format(base=base))
    return ctx


def _is_first(source: str | os.PathLike[str]) -> bool:
    return (Path(source) / "first").exists()


def test_the_next_step_runs_while_a_layer_is_written(busybox_base: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    second_started = threading.Event()
    seen_while_writing: list[bool] = []
    run = RuncExecutor.run

    def watched_run(self: RuncExecutor, request: RunRequest, **kwargs: object) -> object:
        if any("/second" in arg for arg in request.args):
            second_started.set()
        return run(self, request, **kwargs)  # type: ignore[arg-type]

    def slow_first(source: str | os.PathLike[str], dest_dir: str | os.PathLike[str], *,
                   options: LayerOptions) -> LayerBlob:
        if _is_first(source):
            seen_while_writing.append(second_started.wait(timeout=30))
        return make_layer(source, dest_dir, options=options)

    monkeypatch.setattr(RuncExecutor, "run", watched_run)
    monkeypatch.setattr(worker, "make_layer", slow_first)
    layout = tmp_path / "layout"
    dockyard.build(_context(tmp_path, busybox_base), platforms=["linux/amd64"],
                   outputs=f"type=oci,dest={layout},tar=false")
    assert seen_while_writing == [True]
    _check_image(layout, tmp_path / "unpacked")


def test_a_layer_that_cannot_be_written_fails_its_step_and_is_not_recorded(
        busybox_base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _context(tmp_path, busybox_base)

    def full_disk(source: str | os.PathLike[str], dest_dir: str | os.PathLike[str], *,
                  options: LayerOptions) -> LayerBlob:
        if _is_first(source):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return make_layer(source, dest_dir, options=options)

    with monkeypatch.context() as patched:
        patched.setattr(worker, "make_layer", full_disk)
        with pytest.raises(DockyardError) as failed:
            dockyard.build(ctx, platforms=["linux/amd64"])
    assert "Dockerfile:2" in failed.value.message and "no space left on device" in failed.value.message
    layout = tmp_path / "layout"
    again = dockyard.build(ctx, platforms=["linux/amd64"], outputs=f"type=oci,dest={layout},tar=false")
    assert again.result.ran == 2  # both RUNs: the first was never recorded, nor the second, whose chain holds it
    _check_image(layout, tmp_path / "unpacked")


def _check_image(layout: Path, unpacked: Path) -> None:
    """skopeo names the layout's image, umoci unpacks it: both RUNs' files are in it."""
    single = unpacked.parent / f"{unpacked.name}-layout"
    subprocess.run(["skopeo", "copy", "-q", f"oci:{layout}", f"oci:{single}:img"], check=True, capture_output=True)
    subprocess.run(["umoci", "unpack", "--image", f"{single}:img", str(unpacked)], check=True, capture_output=True)
    assert (unpacked / "rootfs" / "first").read_text() == "first\n"
    assert (unpacked / "rootfs" / "second").read_text() == "second\n"


def test_a_slow_last_layer_shows_as_writing_layers(busybox_base: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _context(tmp_path, busybox_base)
    slow: list[bool] = [True]

    def slow_second(source: str | os.PathLike[str], dest_dir: str | os.PathLike[str], *,
                    options: LayerOptions) -> LayerBlob:
        if slow[0] and (Path(source) / "second").exists():
            time.sleep(1)  # a big layer, still being compressed when the last step is done
        return make_layer(source, dest_dir, options=options)

    monkeypatch.setattr(worker, "make_layer", slow_second)
    events: list[progress.Event] = []
    dockyard.build(ctx, platforms=["linux/amd64"], progress=events.append)
    writing = [e for e in events if e.vertex == "layers:writing"]
    assert [type(e) for e in writing] == [progress.Started, progress.Done]
    assert isinstance(writing[0], progress.Started) and writing[0].name == "writing layers"
    assert isinstance(writing[1], progress.Done)
    slow[0] = False
    events.clear()
    dockyard.build(ctx, platforms=["linux/amd64"], no_cache=True, progress=events.append)
    assert not [e for e in events if e.vertex == "layers:writing"]  # small layers: no line
