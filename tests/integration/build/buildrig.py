"""Helpers for build tests: run dockyard, pull a platform's image with skopeo, unpack it with umoci."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def dockyard(*args: str, check: bool = True, env: dict[str, str] | None = None,
             timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    import os

    out = subprocess.run([sys.executable, "-m", "dockyard", *args], capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, **(env or {})}, cwd=cwd)
    if check:
        assert out.returncode == 0, f"dockyard {' '.join(args)} exited {out.returncode}:\n{out.stderr}"
    return out


def build_push(dockerfile: str, ref: str, *, platforms: str, base: str, workdir: Path) -> Path:
    """Write ``dockerfile`` into a fresh context under ``workdir``, build it FROM ``base`` (the
    ``BASE`` build arg) for ``platforms`` and push it as ``ref``; returns the context."""
    ctx = workdir / "ctx"
    ctx.mkdir(parents=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    dockyard("build", "--progress", "plain", "--platform", platforms, "--build-arg", f"BASE={base}", "-t", ref,
             "--push", str(ctx))
    return ctx


def unpack(ref: str, arch: str, dest: Path, *, creds: str | None = None) -> tuple[Path, dict[str, Any]]:
    """skopeo-copy ``arch``'s image of ``ref`` and umoci-unpack it; returns (rootfs, runtime config)."""
    dest.mkdir(parents=True, exist_ok=True)
    layout = dest / f"layout-{arch}"
    argv = ["skopeo", "copy", "-q", "--src-tls-verify=false", "--override-arch", arch, "--override-os", "linux"]
    if creds:
        argv += ["--src-creds", creds]
    subprocess.run([*argv, f"docker://{ref}", f"oci:{layout}:img"], check=True, capture_output=True)
    bundle = dest / f"bundle-{arch}"
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:img", str(bundle)], check=True, capture_output=True)
    return bundle / "rootfs", json.loads((bundle / "config.json").read_text())


def inspect_raw(ref: str, *, creds: str | None = None, config: bool = False) -> dict[str, Any]:
    argv = ["skopeo", "inspect", "--tls-verify=false", "--config" if config else "--raw"]
    if creds:
        argv += ["--creds", creds]
    out = subprocess.run([*argv, f"docker://{ref}"], check=True, capture_output=True, text=True).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def run_bundle(bundle: Path, args: list[str]) -> str:
    """Run the unpacked image in runc with ``args``; returns its stdout."""
    cfg = json.loads((bundle / "config.json").read_text())
    cfg["process"]["args"], cfg["process"]["terminal"] = args, False
    (bundle / "config.json").write_text(json.dumps(cfg))
    import secrets

    out = subprocess.run(["runc", "run", "--bundle", str(bundle), f"dy-test-{secrets.token_hex(4)}"],
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout
