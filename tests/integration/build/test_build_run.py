"""Builds with RUN steps, from the busybox base in the test registry, checked with skopeo, umoci and runc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockyard import progress
from dockyard.executor import qemu
from dockyard.phases.build import build
from dockyard.phases.request import BuildOptions
from dockyard.platform import Platform
from tests.integration.build.buildrig import dockyard, inspect_raw, run_bundle, unpack
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def _context(tmp_path: Path, base: str, body: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {base}\n{body}")
    return ctx


def test_two_platform_run_build_pushes_an_index(
    busybox_base: str, registry: TestRegistry, binfmt_arm64: qemu.Emulator, tmp_path: Path
) -> None:
    ctx = _context(tmp_path, busybox_base, 'ARG TARGETARCH\nRUN echo "$TARGETARCH" > /arch && uname -m >> /arch\n'
                   "ENV MODE=prod\nUSER nobody\nCMD [\"cat\", \"/arch\"]\n")
    ref = f"{registry.address}/built/run:1"
    out = dockyard("build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push",
                   str(ctx))
    index = inspect_raw(ref)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert {(m["platform"]["architecture"], m["platform"].get("variant")) for m in index["manifests"]} == {
        ("amd64", None), ("arm64", None)}  # as buildx pushes: containerd normalizeArch drops v8
    import hashlib

    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"], check=True,
                         capture_output=True).stdout
    assert out.stdout.strip() == "sha256:" + hashlib.sha256(raw).hexdigest()
    for arch, machine in (("amd64", "x86_64"), ("arm64", "aarch64")):
        rootfs, runtime = unpack(ref, arch, tmp_path / "v")
        assert (rootfs / "arch").read_text().split() == [arch, machine]
        assert "MODE=prod" in runtime["process"]["env"]
        assert runtime["process"]["user"]["uid"] == 65534
    config = inspect_raw(ref, config=True)
    assert config["config"]["Cmd"] == ["cat", "/arch"]
    assert config["config"]["User"] == "nobody"
    created_by = [h["created_by"] for h in config["history"]]
    assert any(c.startswith("RUN |1 TARGETARCH=") and c.endswith("# buildkit") for c in created_by)
    layers = [h for h in config["history"] if not h.get("empty_layer")]
    assert len(layers) == len(config["rootfs"]["diff_ids"])


def test_result_runs_in_runc(busybox_base: str, registry: TestRegistry, tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base, "RUN mkdir -p /srv && echo served > /srv/page\nWORKDIR /srv\n")
    ref = f"{registry.address}/built/runnable:1"
    dockyard("build", "--progress", "quiet", "-t", ref, "--push", str(ctx))
    rootfs, _ = unpack(ref, "amd64", tmp_path / "v")
    assert run_bundle(rootfs.parent, ["cat", "page"]).strip() == "served"


def test_rebuild_runs_nothing_and_writes_no_layer(busybox_base: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base, "RUN echo one > /one\nRUN echo two > /two\n")
    options = BuildOptions(context=ctx, platforms=(Platform.parse("linux/amd64"),))
    first: list[progress.Event] = []
    build(options, listener=first.append)
    assert sum(isinstance(e, progress.Started) for e in first) == 3  # FROM + two RUN
    blobs = sorted(p.name for p in (Path(os.environ["DOCKYARD_ROOT"]) / "content" / "blobs" / "sha256").iterdir())
    second: list[progress.Event] = []
    result = build(options, listener=second.append)
    assert not [e for e in second if isinstance(e, progress.Started)]
    assert result.ran == 0
    after = sorted(p.name for p in (Path(os.environ["DOCKYARD_ROOT"]) / "content" / "blobs" / "sha256").iterdir())
    new = set(after) - set(blobs)
    assert len(new) <= 2  # only the config and manifest documents (their "created" time moves)


def test_failing_step_names_line_exit_code_and_output(busybox_base: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base, "RUN true\nRUN echo first-line && echo last-words >&2 && exit 3\n")
    out = dockyard("build", "--progress", "plain", str(ctx), check=False)
    assert out.returncode == 1
    error = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1
    assert "Dockerfile:3" in error[0]
    assert "exit code 3" in error[0]
    assert "last-words" in out.stderr
    assert "Traceback" not in out.stderr


def test_two_builds_at_once_on_one_store(busybox_base: str, tmp_path: Path) -> None:
    ctxs = []
    for i in range(2):
        (tmp_path / str(i)).mkdir()
        ctxs.append(_context(tmp_path / str(i), busybox_base, f"RUN echo {i} > /n && sleep 1\n"))
    procs = [subprocess.Popen([sys.executable, "-m", "dockyard", "build", "--progress", "plain", str(c)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in ctxs]
    results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results


def test_killed_build_then_rebuild_succeeds(busybox_base: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base, "RUN echo a > /a\nRUN sleep 30\nRUN echo done > /done\n")
    proc = subprocess.Popen([sys.executable, "-m", "dockyard", "build", "--progress", "plain", str(ctx)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    seen = ""
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if "sleep 30" in line:
            time.sleep(1)
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert "sleep 30" in seen
    (ctx / "Dockerfile").write_text((ctx / "Dockerfile").read_text().replace("sleep 30", "sleep 0"))
    out = dockyard("build", "--progress", "plain", str(ctx))
    assert "#" in out.stderr
    # the rebuild reclaimed the killed build's step container (store/reclaim.py)
    containers = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True, check=True).stdout
    assert f"dockyard-{proc.pid}-" not in containers


def test_steps_that_change_nothing_share_one_empty_layer(busybox_base: str, registry: TestRegistry,
                                                          tmp_path: Path) -> None:
    """The worker makes the empty layer once per build; every empty step gets that same blob,
    which is a gzip of a bare end-of-archive (checked with the standard library, not our reader)."""
    import gzip

    ctx = _context(tmp_path, busybox_base, "RUN true\nRUN echo x > /x\nRUN true\nRUN true\n")
    ref = f"{registry.address}/built/empty-steps:1"
    dockyard("build", "--progress", "quiet", "--platform", "linux/amd64", "-t", ref, "--push", str(ctx))
    layers = inspect_raw(ref)["layers"]
    empties = [layers[-4]["digest"], layers[-2]["digest"], layers[-1]["digest"]]
    assert len(set(empties)) == 1 and layers[-3]["digest"] != empties[0]
    blob = Path(os.environ["DOCKYARD_ROOT"]) / "content" / "blobs" / "sha256" / empties[0].removeprefix("sha256:")
    assert gzip.decompress(blob.read_bytes()) == b"\0" * 1024


def test_a_copied_tree_is_there_for_the_next_step(busybox_base: str, registry: TestRegistry, tmp_path: Path) -> None:
    """A COPY of a new tree is archived straight from the context; the RUN after it (and the one
    after a RUN below it) still sees the files, unpacked on the step's own snapshot."""
    ctx = _context(tmp_path, busybox_base, "RUN echo base > /made-by-run\nCOPY app/ /app/\n"
                   "RUN cat /made-by-run /app/sub/hello > /seen\n")
    (ctx / "app" / "sub").mkdir(parents=True)
    (ctx / "app" / "sub" / "hello").write_text("hello\n")
    ref = f"{registry.address}/built/copy-then-run:1"
    dockyard("build", "--progress", "quiet", "--platform", "linux/amd64", "-t", ref, "--push", str(ctx))
    rootfs, _ = unpack(ref, "amd64", tmp_path / "v")
    assert (rootfs / "seen").read_text() == "base\nhello\n"
    assert (rootfs / "app" / "sub" / "hello").read_text() == "hello\n"
