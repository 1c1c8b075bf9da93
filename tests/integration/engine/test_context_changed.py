"""A context file saved while the build runs never ends up in the cache under the key of its old
bytes (dockyard.engine.contextcheck).

dockyard keys every step first, then runs the steps, reading the context in place. BuildKit
syncs the context once into a snapshot of its own (``source/local/source.go``
``localSourceHandler.Snapshot``) and every step reads that copy, so its keys always name what the
steps read; here a step that read the context checks afterwards that every file its key hashed is
unchanged (``KeyedSelection.changed``), and fails naming the file otherwise. Without the check,
the edited bytes were recorded under the old key, and a later build of the old context got them
back from the cache: a stale file.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dockyard
from dockyard.errors import DockyardError
from dockyard.executor.base import RunRequest
from dockyard.executor.runc import RuncExecutor

pytestmark = pytest.mark.integration


def _context(tmp_path: Path, dockerfile: str) -> Path:
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "src" / "app.txt").write_text("one\n")
    (ctx / "Dockerfile").write_text(dockerfile)
    return ctx


def _app_txt(layout: Path, tmp_path: Path, path: str) -> str:
    """The file ``path`` of the built image, as skopeo and umoci unpack it."""
    unpacked = tmp_path / f"unpacked-{len(list(tmp_path.glob('unpacked-*')))}"
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:latest", str(unpacked)], check=True,
                   capture_output=True)
    return (unpacked / "rootfs" / path.lstrip("/")).read_text()


def _layout(tmp_path: Path) -> tuple[Path, str]:
    layout = tmp_path / f"layout-{len(list(tmp_path.glob('layout-*')))}"
    return layout, f"type=oci,dest={layout},tar=false,name=latest"


def _fails_then_builds_the_keyed_bytes(ctx: Path, tmp_path: Path, unhook: Callable[[], None],
                                       paths: tuple[str, ...]) -> None:
    """The build (with the hook that saves src/app.txt meanwhile) fails at the step, naming the file;
    with the hook gone and the file back to the bytes that build keyed, the next build's image holds
    them at ``paths``: no record kept the saved bytes under the old key."""
    layout, output = _layout(tmp_path)
    with pytest.raises(DockyardError) as failed:
        dockyard.build(ctx, platforms=["linux/amd64"], outputs=output)
    assert "Dockerfile:2" in str(failed.value)
    assert "the build context changed during the build: src/app.txt" in str(failed.value)
    unhook()
    (ctx / "src" / "app.txt").write_text("one\n")
    layout, output = _layout(tmp_path)
    dockyard.build(ctx, platforms=["linux/amd64"], outputs=output)
    for path in paths:
        assert _app_txt(layout, tmp_path, path) == "one\n"


def test_a_file_saved_between_the_keys_and_the_copy_fails_the_step_and_is_never_cached(
        busybox_base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _context(tmp_path, f"FROM {busybox_base}\nCOPY src/ /app/\nRUN cat /app/app.txt > /seen\n")
    from dockyard.engine import copy

    original = copy.copy_into

    def saved_first(**kwargs: Any) -> Any:
        (ctx / "src" / "app.txt").write_text("two\n")  # an editor saves while the build runs
        return original(**kwargs)

    monkeypatch.setattr(copy, "copy_into", saved_first)
    _fails_then_builds_the_keyed_bytes(ctx, tmp_path, lambda: monkeypatch.setattr(copy, "copy_into", original),
                                       ("/app/app.txt", "/seen"))


def test_a_local_archive_saved_before_add_extracts_it_fails_the_step(
        busybox_base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ADD unpacks a local tar with the archive reader, not the copier: checked after it ran."""
    ctx = _context(tmp_path, f"FROM {busybox_base}\nADD src.tar /\nRUN cat /src/app.txt > /seen\n")
    subprocess.run(["tar", "-cf", str(ctx / "src.tar"), "-C", str(ctx), "src"], check=True)
    from dockyard.engine import copy

    original = copy.copy_into

    def saved_first(**kwargs: Any) -> Any:
        subprocess.run(["tar", "-rf", str(ctx / "src.tar"), "-C", str(ctx), "Dockerfile"], check=True)
        return original(**kwargs)

    monkeypatch.setattr(copy, "copy_into", saved_first)
    _, output = _layout(tmp_path)
    with pytest.raises(DockyardError) as failed:
        dockyard.build(ctx, platforms=["linux/amd64"], outputs=output)
    assert "Dockerfile:2" in str(failed.value)
    assert "the build context changed during the build: src.tar" in str(failed.value)


def test_a_file_saved_before_a_last_copy_is_archived_fails_the_step(busybox_base: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The last COPY is archived straight from the context (engine/copylayer.py), in the background:
    the tar writer compares each file it reads with the one keyed (``TarEntry.identity``)."""
    ctx = _context(tmp_path, f"FROM {busybox_base}\nCOPY src/ /app/\n")
    from dockyard.engine import worker
    from dockyard.oci.layer import make_layer_of

    def saved_first(entries: Any, dest_dir: Any, **kwargs: Any) -> Any:
        (ctx / "src" / "app.txt").write_text("two\n")
        return make_layer_of(entries, dest_dir, **kwargs)

    monkeypatch.setattr(worker, "make_layer_of", saved_first)
    _fails_then_builds_the_keyed_bytes(
        ctx, tmp_path, lambda: monkeypatch.setattr(worker, "make_layer_of", make_layer_of), ("/app/app.txt",))


def test_a_file_saved_while_a_step_reads_the_context_in_place_fails_that_step(
        busybox_base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _context(tmp_path, f"FROM {busybox_base}\n"
                             "RUN --mount=type=bind,source=src,target=/src cat /src/app.txt > /seen\n")
    run = RuncExecutor.run

    def saved_during(self: RuncExecutor, request: RunRequest, **kwargs: Any) -> Any:
        result = run(self, request, **kwargs)
        (ctx / "src" / "app.txt").write_text("two\n")  # saved while the step had it mounted
        return result

    monkeypatch.setattr(RuncExecutor, "run", saved_during)
    _fails_then_builds_the_keyed_bytes(ctx, tmp_path, lambda: monkeypatch.setattr(RuncExecutor, "run", run),
                                       ("/seen",))


def test_an_unchanged_context_builds_and_is_served_from_the_cache(busybox_base: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path, f"FROM {busybox_base}\nCOPY src/ /app/\n"
                             "RUN --mount=type=bind,source=src,target=/src cat /src/app.txt > /seen\n")
    os.utime(ctx / "src" / "app.txt", ns=(1_600_000_000_000_000_000,) * 2)  # an old file: no racy read
    for _ in range(2):
        layout, output = _layout(tmp_path)
        dockyard.build(ctx, platforms=["linux/amd64"], outputs=output)
        assert _app_txt(layout, tmp_path, "/seen") == "one\n"
