"""Every path a build hands to runc is absolute and names what the user meant (issue 18, item 1).

runc resolves a relative mount source against the bundle directory it is started in, so a
relative context made ``RUN --mount=type=bind`` show the bundle (config.json, with the values of
``env=`` secrets) instead of the context. These builds run from a working directory with every
path relative: the context (``ctx`` and ``.``), ``--file``, ``--secret src=``, ``--ssh`` sockets,
cache mounts under a relative DOCKYARD_ROOT, and ``-o dest``; the image is read back with umoci.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard

pytestmark = pytest.mark.integration

SECRET = "relative-secret-4f1c"


def _dockerfile(base: str) -> str:
    return (
        f"FROM {base}\n"
        "RUN --mount=type=bind,target=/src ls -a /src > /listing && cat /src/file.txt > /copied\n"
        "RUN --mount=type=secret,id=s,env=TOKEN --mount=type=secret,id=s,target=/run/s "
        "test \"$TOKEN\" = \"$(cat /run/s)\" && echo -n \"$TOKEN\" | wc -c > /secret-length\n"
        "RUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo ok > /ssh-ok\n"
        "RUN --mount=type=cache,id=rel,target=/cache echo kept > /cache/f && cat /cache/f > /cache-ok\n"
    )


@pytest.fixture
def work(tmp_path: Path, busybox_base: str) -> Path:
    """tmp/work holding ctx/file.txt, df/Dockerfile (outside the context), secret.txt and agent.sock."""
    work = tmp_path / "work"
    (work / "ctx").mkdir(parents=True)
    (work / "ctx" / "file.txt").write_text("from the context\n")
    (work / "df").mkdir()
    (work / "df" / "Dockerfile").write_text(_dockerfile(busybox_base))
    (work / "secret.txt").write_text(SECRET)
    return work


def _check_image(layout_tar: Path, dest: Path) -> Path:
    """Read the OCI tar with skopeo, unpack it with umoci (independent readers); return its rootfs."""
    dest.mkdir(parents=True)
    layout = dest / "layout"
    subprocess.run(["skopeo", "copy", "-q", f"oci-archive:{layout_tar}", f"oci:{layout}:img"], check=True,
                   capture_output=True)
    bundle = dest / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:img", str(bundle)], check=True, capture_output=True)
    return bundle / "rootfs"


def _assert_rootfs(rootfs: Path) -> None:
    assert (rootfs / "listing").read_text().split() == [".", "..", "file.txt"]
    assert (rootfs / "copied").read_text() == "from the context\n"
    assert (rootfs / "secret-length").read_text().strip() == str(len(SECRET))
    assert (rootfs / "ssh-ok").read_text() == "ok\n"
    assert (rootfs / "cache-ok").read_text() == "kept\n"


@pytest.mark.parametrize("context", ["ctx", "."])
def test_relative_paths_everywhere_reach_runc_as_meant(work: Path, tmp_path: Path, context: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """``ctx`` runs from tmp/work with DOCKYARD_ROOT=root (relative too); ``.`` runs from tmp/work/ctx
    with the test's absolute data root: the command line of the issue, which showed config.json."""
    cwd = work if context == "ctx" else work / "ctx"
    up = "" if context == "ctx" else "../"
    if context == "ctx":
        monkeypatch.setenv("DOCKYARD_ROOT", "root")
    with socket.socket(socket.AF_UNIX) as agent:
        agent.bind(str(work / "agent.sock"))
        agent.listen()
        run = dockyard("build", "--progress", "plain", "-f", f"{up}df/Dockerfile",
                       "--secret", f"id=s,src={up}secret.txt", "--ssh", f"default={up}agent.sock",
                       "-o", f"type=local,dest={up}out", "-o", f"type=oci,dest={up}image.tar", context,
                       cwd=cwd, check=False)
    assert run.returncode == 0, run.stderr
    assert SECRET not in run.stderr + run.stdout
    _assert_rootfs(work / "out")
    _assert_rootfs(_check_image(work / "image.tar", tmp_path / "unpacked"))
    # the cache mount lives in the data root; a relative one resolves against the working directory
    root = work / "root" if context == "ctx" else Path(os.environ["DOCKYARD_ROOT"])
    assert [p.read_text() for p in (root / "cachemounts").glob("*/f")] == ["kept\n"]
    assert not (work / "ctx" / "root").exists() and not (work / "df" / "root").exists()
