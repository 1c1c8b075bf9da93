"""The multi-arch busybox base image (linux/amd64 + linux/arm64/v8, the variant as some registries
write it: matching must accept it) that build tests start FROM.

Made from the rootfs tarballs scripts/setup prepares (.cache/busybox), assembled with umoci
and pushed with skopeo: independent tools, so the base does not depend on the code under test.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from dockyard.digest import Digest

REPO_ROOT = Path(__file__).resolve().parents[2]
ROOTFS_DIR = REPO_ROOT / ".cache" / "busybox"
DEBIAN_DIR = REPO_ROOT / ".cache" / "debian"  # Debian 12 + python3-pip (scripts/debian-rootfs, mmdebstrap)
CREATED = "2023-11-14T22:13:20Z"  # SOURCE_DATE_EPOCH 1700000000, as in scripts/busybox-rootfs
PLATFORMS = {"amd64": {"architecture": "amd64", "os": "linux"},
             "arm64": {"architecture": "arm64", "os": "linux", "variant": "v8"}}


def rootfs_tarballs(directory: Path = ROOTFS_DIR) -> dict[str, Path]:
    tars = {arch: directory / f"rootfs-{arch}.tar" for arch in PLATFORMS}
    missing = [str(p) for p in tars.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"missing {', '.join(missing)}: run scripts/setup first")
    return tars


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)


def build_layout(layout: Path, tag: str = "latest") -> Digest:
    """Write an OCI layout holding the two-platform busybox index under ``tag``; return its digest."""
    entries = []
    _run("umoci", "init", "--layout", str(layout))
    for arch, tarball in rootfs_tarballs().items():
        ref = f"{layout}:{arch}"
        _run("umoci", "new", "--image", ref)
        _run("umoci", "config", "--image", ref, "--no-history", "--architecture", arch, "--os", "linux",
             "--created", CREATED, "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "--config.cmd", "sh")
        _run("umoci", "raw", "add-layer", "--image", ref, "--history.created", CREATED,
             "--history.created_by", f"busybox rootfs {arch}", str(tarball))
        index = json.loads((layout / "index.json").read_text())
        desc = next(m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == arch)
        entries.append({"mediaType": desc["mediaType"], "digest": desc["digest"], "size": desc["size"],
                        "platform": PLATFORMS[arch]})
    _run("umoci", "gc", "--layout", str(layout))
    blob = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                       "manifests": entries}, separators=(",", ":")).encode()
    digest = Digest.of_bytes(blob)
    (layout / "blobs" / "sha256" / digest.hex).write_bytes(blob)
    index = json.loads((layout / "index.json").read_text())
    index["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": str(digest),
                               "size": len(blob), "annotations": {"org.opencontainers.image.ref.name": tag}})
    (layout / "index.json").write_text(json.dumps(index))
    return digest


def push_layout(layout: Path, tag: str, dest: str, *, creds: str | None = None) -> None:
    """``skopeo copy --all`` the layout's ``tag`` to ``dest`` (host:port/repo:tag, plain HTTP)."""
    argv = ["skopeo", "copy", "--all", "--quiet", "--dest-tls-verify=false"]
    if creds:
        argv += ["--dest-creds", creds]
    _run(*argv, f"oci:{layout}:{tag}", f"docker://{dest}")
