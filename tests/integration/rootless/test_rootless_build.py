"""Issue 16's headline: an ordinary user (no sudo, no capabilities) builds a two-platform image
with RUN steps, pushes it, rebuilds it from cache, and inspects and prunes its own store.

The image is checked with skopeo and umoci (as root, outside the user's namespace): files the
namespace's root made are uid 0, files USER app (1000) made are 1000, a whiteout and an opaque
directory made by overlayfs with ``userxattr`` come out as OCI whiteouts, and no layer entry
carries a host id (the user's uid or its subordinate range). Seen from outside, the store holds
exactly those ids shifted: the user's own uid for 0, subuid+999 for 1000.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.build.buildrig import inspect_raw, unpack
from tests.rig import webns
from tests.rig.registries import TestRegistry
from tests.rig.unprivileged import User, ensure_user

pytestmark = pytest.mark.integration

DOCKERFILE = """\
FROM {base}
RUN mkdir -p /data /opt/old /home/app/work && echo root > /data/root.txt && touch /opt/old/a /data/gone \\
 && echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1000:' >> /etc/group \\
 && chown -R 1000:1000 /home/app
COPY --chown=1000:1000 note.txt /home/app/note.txt
USER app
RUN echo hi > /home/app/work/by-app.txt && id -u > /home/app/work/uid.txt
USER root
RUN --mount=type=cache,target=/cache echo x >> /cache/count && cp /cache/count /data/count.txt \\
 && uname -m > /data/arch.txt
RUN rm -rf /opt/old /data/gone && mkdir /opt/old && touch /opt/old/b \\
 && stat -c %u:%g /home/app/work/by-app.txt > /data/owner.txt
"""


@pytest.fixture(scope="module")
def user() -> User:
    return ensure_user()


@pytest.fixture
def workdir(user: User) -> Iterator[Path]:
    """A fresh directory in the user's home for its store, config and build context; removed after."""
    path = user.home / f"t-{uuid.uuid4().hex[:10]}"
    path.mkdir()
    shutil.chown(path, user.uid, user.gid)
    yield path
    shutil.rmtree(path, ignore_errors=True)  # as root: also what the subordinate ids own


def _as_user(user: User, path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        shutil.chown(item, user.uid, user.gid)


def _layer_ids(layout: Path) -> set[tuple[int, int]]:
    """Every (uid, gid) in every layer of the single-platform OCI layout ``layout``."""
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads((layout / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]).read_bytes())
    ids: set[tuple[int, int]] = set()
    for layer in manifest["layers"]:
        with tarfile.open(layout / "blobs" / "sha256" / layer["digest"][7:]) as tar:
            ids.update((m.uid, m.gid) for m in tar)
    return ids


def _layer_names(layout: Path) -> list[str]:
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads((layout / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]).read_bytes())
    with tarfile.open(layout / "blobs" / "sha256" / manifest["layers"][-1]["digest"][7:]) as tar:
        return tar.getnames()


@pytest.mark.usefixtures("binfmt_arm64")
def test_rootless_two_platform_build_push_rebuild_du_prune(user: User, workdir: Path, busybox_base: str,  # noqa: PLR0915 - one end-to-end scenario with its checks in order
                                                           registry: TestRegistry, tmp_path: Path) -> None:
    caps = user.capabilities()
    assert caps["CapEff"] == caps["CapPrm"] == caps["CapInh"] == caps["CapAmb"] == "0000000000000000"
    context = workdir / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE.format(base=busybox_base))
    (context / "note.txt").write_text("copied\n")
    _as_user(user, context)
    env = {"XDG_DATA_HOME": str(workdir / "data"), "XDG_CONFIG_HOME": str(workdir / "config"),
           "DOCKER_CONFIG": str(workdir / "docker"), "SOURCE_DATE_EPOCH": "1700000000"}

    version = user.dockyard("version", env=env)
    assert version.returncode == 0, version.stderr
    assert re.search(rf"^mode\s+rootless \(uid {user.uid} becomes root", version.stdout, re.M), version.stdout

    ref = f"{registry.address}/rootless-{workdir.name}:v1"
    argv = ["build", "--platform", "linux/amd64,linux/arm64", "--progress", "plain", "--push", "-t", ref, str(context)]
    first = user.dockyard(*argv, env=env)
    assert first.returncode == 0, first.stderr + first.stdout

    index = inspect_raw(ref)
    archs = sorted(m["platform"]["architecture"] for m in index["manifests"])
    assert archs == ["amd64", "arm64"]
    host_ids = {user.uid, user.gid, *range(user.subuid, user.subuid + 65536), *range(user.subgid, user.subgid + 65536)}
    counts = []
    for arch, machine in (("amd64", "x86_64"), ("arm64", "aarch64")):
        rootfs, _ = unpack(ref, arch, tmp_path / arch)
        assert (rootfs / "data" / "arch.txt").read_text().strip() == machine
        assert (rootfs / "data" / "root.txt").stat().st_uid == 0
        made_by_app = rootfs / "home" / "app" / "work" / "by-app.txt"
        assert (made_by_app.stat().st_uid, made_by_app.stat().st_gid) == (1000, 1000)
        assert (rootfs / "home" / "app" / "work" / "uid.txt").read_text().strip() == "1000"
        assert (rootfs / "data" / "owner.txt").read_text().strip() == "1000:1000"
        note = rootfs / "home" / "app" / "note.txt"
        assert (note.stat().st_uid, note.read_text()) == (1000, "copied\n")
        counts.append((rootfs / "data" / "count.txt").read_text())
        assert not (rootfs / "data" / "gone").exists()  # whiteout from the userxattr overlay
        assert sorted(p.name for p in (rootfs / "opt" / "old").iterdir()) == ["b"]  # opaque directory
        layout = tmp_path / arch / f"layout-{arch}"
        ids = _layer_ids(layout)
        assert ids <= {(0, 0), (1000, 1000)}, ids
        assert not {i for pair in ids for i in pair} & (host_ids - {0, 1000})
        names = _layer_names(layout)
        assert "opt/old/.wh..wh..opq" in names and "data/.wh.gone" in names

    # one cache mount (id = target) shared by both platforms' steps, kept between them (BuildKit:
    # solver/llbsolver/mounts/mount.go, getRefCacheDir: the id alone names the cache). The default
    # sharing=shared lets the two steps run at once, so under load both may see both appends.
    assert set(counts) <= {"x\n", "x\nx\n"} and max(counts) == "x\nx\n", counts

    # seen from outside, the store holds the namespace's ids shifted into the user's ranges
    snapshots = workdir / "data" / "dockyard" / "snapshots"
    owners = {(p.stat().st_uid, p.name) for p in snapshots.rglob("by-app.txt")}
    assert owners == {(user.subuid + 999, "by-app.txt")}
    assert {p.stat().st_uid for p in snapshots.rglob("root.txt")} == {user.uid}

    again = user.dockyard(*argv, env=env)
    assert again.returncode == 0, again.stderr
    log = again.stdout + again.stderr
    started, cached = re.findall(r"^#(\d+) \[", log, re.M), re.findall(r"^#(\d+) CACHED", log, re.M)
    assert started and started == cached, log  # every vertex shown was a cache hit: nothing ran
    assert "DONE" not in log and "RUN /bin/sh" in log
    assert inspect_raw(ref) == index  # SOURCE_DATE_EPOCH: the same index, digest for digest

    du = user.dockyard("du", env=env)
    assert du.returncode == 0, du.stderr
    reclaimable = re.search(r"^Reclaimable:\s+(\S+)", du.stdout, re.M)
    assert reclaimable is not None and reclaimable.group(1) != "0B", du.stdout
    assert len(du.stdout.splitlines()) > 3  # one row per record
    pruned = user.dockyard("prune", "--all", "--force", env=env)
    assert pruned.returncode == 0, pruned.stderr
    after = user.dockyard("du", env=env)
    assert re.search(r"^Reclaimable:\s+0B$", after.stdout, re.M), after.stdout
    assert not list(snapshots.rglob("by-app.txt"))  # subordinate-owned files are gone too


# (busybox-static 1.35's wget segfaults on -T: the steps rely on refused connections instead)
NETWORK = """\
FROM {base}
RUN wget -q -O /got.txt {url}hello.txt && echo "GOT:$(cat /got.txt)"
RUN if wget -q -O- http://10.0.2.2:{loopback_port}/v2/; then echo LOOPBACK-REACHED; else echo LOOPBACK-BLOCKED; fi
RUN --network=none if wget -q -O- {url}hello.txt; then echo NONE-REACHED; else echo NONE-BLOCKED; fi
"""


def test_rootless_run_network_goes_out_through_slirp4netns_but_not_to_host_loopback(
        user: User, workdir: Path, busybox_base: str, registry: TestRegistry, tmp_path: Path) -> None:
    """Default-network steps reach a server in another namespace (through the host); the host's
    loopback (the registry on 127.0.0.1) stays out of reach; --network=none steps reach nothing."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "hello.txt").write_text("hello-from-the-web-namespace\n")
    web = webns.start(site)
    try:
        context = workdir / "ctx"
        context.mkdir()
        port = registry.address.rsplit(":", 1)[1]
        (context / "Dockerfile").write_text(NETWORK.format(base=busybox_base, url=web.url, loopback_port=port))
        _as_user(user, context)
        env = {"XDG_DATA_HOME": str(workdir / "data"), "XDG_CONFIG_HOME": str(workdir / "config")}
        out = user.dockyard("build", "--platform", "linux/amd64", "--progress", "plain", str(context), env=env)
    finally:
        web.stop()
    log = out.stdout + out.stderr
    assert out.returncode == 0, log
    printed = set(re.findall(r"^#\d+ [\d.]+ ([A-Z-]+(?::\S+)?)$", log, re.M))  # step output, not the command
    assert {"GOT:hello-from-the-web-namespace", "LOOPBACK-BLOCKED", "NONE-BLOCKED"} <= printed, log
    assert not {"LOOPBACK-REACHED", "NONE-REACHED"} & printed, log


MASK_PROC = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind /dev/null /proc/keys && exec "$@"', "mask-proc"]


def test_rootless_in_a_container_with_masked_proc_runs_without_a_process_sandbox(
        user: User, workdir: Path, busybox_base: str) -> None:
    """As in a Docker or Kubernetes container, /proc has a path masked: no fresh procfs may be
    mounted, so steps get the container's /proc bound and no pid namespace of their own."""
    context = workdir / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {busybox_base}\nRUN echo \"SELF:$$\" && test -e /proc/1/comm\n")
    _as_user(user, context)
    env = {"XDG_DATA_HOME": str(workdir / "data"), "XDG_CONFIG_HOME": str(workdir / "config")}
    info = user.dockyard("inspect", "--bootstrap", env=env, outer=MASK_PROC)
    assert info.returncode == 0, info.stderr
    assert re.search(r"^Step sandbox:\s+no process sandbox: /proc masked", info.stdout, re.M), info.stdout
    out = user.dockyard("build", "--platform", "linux/amd64", "--progress", "plain", str(context), env=env,
                        outer=MASK_PROC)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log
    pid = re.search(r"SELF:(\d+)", log)
    assert pid is not None and int(pid.group(1)) > 1, log  # the shell is not pid 1: no pid namespace
    plain = user.dockyard("inspect", "--bootstrap", env=env)
    assert re.search(r"^Step sandbox:\s+own pid namespace", plain.stdout, re.M), plain.stdout


FUSE = """\
FROM {base}
RUN mkdir -p /opt/old /home/app && touch /opt/old/a /etc/gone && chown 1000:1000 /home/app
USER 1000:1000
RUN echo hi > /home/app/by-app.txt
USER root
RUN rm -rf /opt/old /etc/gone && mkdir /opt/old && touch /opt/old/b
"""


def test_rootless_fuse_overlayfs_snapshotter(user: User, workdir: Path, busybox_base: str, registry: TestRegistry,
                                             tmp_path: Path) -> None:
    """The fallback for kernels before 5.11, forced here (this kernel mounts overlayfs itself):
    the image has the same files, owners, whiteouts and opaque directory (umoci's view)."""
    context = workdir / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(FUSE.format(base=busybox_base))
    _as_user(user, context)
    env = {"XDG_DATA_HOME": str(workdir / "data"), "XDG_CONFIG_HOME": str(workdir / "config"),
           "DOCKYARD_SNAPSHOTTER": "fuse-overlayfs"}
    info = user.dockyard("inspect", "--bootstrap", env=env)
    assert re.search(r"^Snapshotter:\s+fuse-overlayfs \(DOCKYARD_SNAPSHOTTER\)$", info.stdout, re.M), info.stdout
    ref = f"{registry.address}/rootless-fuse-{workdir.name}:v1"
    out = user.dockyard("build", "--platform", "linux/amd64", "--push", "-t", ref, str(context), env=env)
    assert out.returncode == 0, out.stderr
    rootfs, _ = unpack(ref, "amd64", tmp_path)
    assert sorted(p.name for p in (rootfs / "opt" / "old").iterdir()) == ["b"]
    assert not (rootfs / "etc" / "gone").exists()
    made = rootfs / "home" / "app" / "by-app.txt"
    assert (made.stat().st_uid, made.stat().st_gid, made.read_text()) == (1000, 1000, "hi\n")
    assert (rootfs / "bin" / "busybox").is_file()  # the base is still there under the opaque markers
    wrong = user.dockyard("build", str(context), env={**env, "DOCKYARD_SNAPSHOTTER": "zfs"})
    assert wrong.returncode != 0 and "DOCKYARD_SNAPSHOTTER='zfs' is not a snapshotter" in wrong.stderr


def test_rootless_sigterm_to_the_outer_process_cancels_cleanly_and_rm_removes_the_store(
        user: User, workdir: Path, busybox_base: str) -> None:
    """CI cancellation signals the process it started (the one outside the namespace): the signal is
    forwarded, the step's container, mounts and slirp4netns go, and the exit code is 128 + 15.
    Then ``dockyard rm`` deletes a builder's store, subordinate-owned files included."""
    context = workdir / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {busybox_base}\nRUN mkdir /d && touch /d/f && chown 1000 /d/f\n"
                                        "RUN echo started && sleep 60\n")
    _as_user(user, context)
    env = {"XDG_DATA_HOME": str(workdir / "data"), "XDG_CONFIG_HOME": str(workdir / "config")}
    assert user.dockyard("create", "--name", "rl", env=env).returncode == 0
    argv = user.command([str(user.python), "-m", "dockyard", "--builder", "rl", "build", "--progress", "plain",
                         "--platform", "linux/amd64", str(context)], env=env)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    log = []
    for line in proc.stdout:
        log.append(line)
        if line.rstrip().endswith(" started"):
            break
    outer = subprocess.run(["pgrep", "-o", "-u", user.name, "-f", "dockyard --builder rl build"],
                           capture_output=True, text=True, check=True).stdout.split()[0]
    subprocess.run(["kill", "-TERM", outer], check=True)
    log += proc.stdout.readlines()
    assert proc.wait(timeout=60) == 143, "".join(log)
    assert "terminated (SIGTERM)" in "".join(log)
    store = workdir / "data" / "dockyard" / "builders" / "rl"
    assert str(store) not in Path("/proc/mounts").read_text()
    # nothing left: the step's processes get SIGKILL and may take a moment to be reaped after the exit
    deadline = time.monotonic() + 5
    while (left := subprocess.run(["pgrep", "-a", "-u", user.name], capture_output=True, text=True,
                                  check=False).stdout) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, left
    assert {p.stat().st_uid for p in store.rglob("f") if p.parent.name == "d"} == {user.subuid + 999}
    removed = user.dockyard("rm", "rl", env=env)
    assert removed.returncode == 0, removed.stderr
    assert not store.exists()


def test_rootless_bootstrap_reports_mode_snapshotter_and_network(user: User, workdir: Path) -> None:
    env = {"XDG_DATA_HOME": str(workdir / "data"), "XDG_CONFIG_HOME": str(workdir / "config")}
    out = user.dockyard("inspect", "--bootstrap", env=env)
    assert out.returncode == 0, out.stderr
    assert re.search(rf"^Mode:\s+rootless \(uid 0 in a user namespace: 0 -> {user.uid}, 1-65536 -> "
                     rf"{user.subuid}-{user.subuid + 65535}\)", out.stdout, re.M), out.stdout
    assert re.search(r"^Snapshotter:\s+overlayfs \(userxattr,", out.stdout, re.M), out.stdout
    assert re.search(r"^Store:\s+" + re.escape(str(workdir / "data" / "dockyard")) + "$", out.stdout, re.M)
    assert re.search(r"^RUN network:\s+slirp4netns", out.stdout, re.M), out.stdout


@pytest.mark.parametrize("snapshotter", ["overlayfs", "fuse-overlayfs"])
def test_rootless_copy_made_again_links_its_unchanged_files(user: User, workdir: Path, busybox_base: str,
                                                            snapshotter: str) -> None:
    """dockyard.engine.recopy in a user namespace: the namespace's root links the files it copied
    (owned by the user's ids outside) into the next copy's upperdir, with the kernel's userxattr
    overlay and with fuse-overlayfs; the image holds the edited file and the unchanged one."""
    context = workdir / "ctx"
    (context / "src").mkdir(parents=True)
    (context / "src" / "kept.bin").write_bytes(b"k" * 65536)
    (context / "src" / "edited.txt").write_text("one\n")
    (context / "Dockerfile").write_text(f"FROM {busybox_base}\nCOPY src/ /app/\nRUN cat /app/edited.txt > /seen\n")
    _as_user(user, context)
    env = {"XDG_DATA_HOME": str(workdir / "data"), "XDG_CONFIG_HOME": str(workdir / "config"),
           "DOCKYARD_SNAPSHOTTER": snapshotter}
    first = user.dockyard("build", "--platform", "linux/amd64", str(context), env=env)
    assert first.returncode == 0, first.stderr
    (context / "src" / "edited.txt").write_text("two\n")
    again = user.dockyard("build", "--platform", "linux/amd64", "-o", f"type=local,dest={workdir / 'out'}",
                          str(context), env=env)
    assert again.returncode == 0, again.stderr
    snapshots = workdir / "data" / "dockyard" / "snapshots"
    kept = {p.stat().st_ino for p in snapshots.glob("*/fs/app/kept.bin")}
    edited = sorted(p.read_text() for p in snapshots.glob("*/fs/app/edited.txt"))
    assert len(kept) == 1 and edited == ["one\n", "two\n"]
    out = workdir / "out"
    assert (out / "seen").read_text() == (out / "app" / "edited.txt").read_text() == "two\n"
    assert (out / "app" / "kept.bin").read_bytes() == b"k" * 65536
