"""``--call=check`` reads base image configs from the registry, as BuildKit's lint does while it
converts (dockerfile2llb convert.go resolveBaseImage): the base's ENV defines names for
UndefinedVar, and its platform is compared for InvalidBaseImagePlatform (linter/ruleset.go)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rig import baseimage
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def _check(ctx: Path) -> tuple[int, list[tuple[str, str]]]:
    out = subprocess.run([sys.executable, "-m", "dockyard", "build", "--call=check,format=json", str(ctx)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, [(w["ruleName"], w["detail"]) for w in json.loads(out.stdout)["warnings"]]


def test_check_knows_the_base_images_env_and_platform(registry: TestRegistry, tmp_path: Path) -> None:
    tars = baseimage.rootfs_tarballs()
    env_base = f"{registry.address}/checkbase/env:1"
    amd_only = f"{registry.address}/checkbase/amd:1"
    subprocess.run([sys.executable, "-m", "dockyard", "imagetools", "import", "-t", env_base, "--platform",
                    f"linux/amd64={tars['amd64']}", "--env", "BASEVAR=1"], check=True, capture_output=True, timeout=300)
    index = json.loads(subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{env_base}"],
                                      check=True, capture_output=True, text=True).stdout)
    manifest = index["manifests"][0]["digest"]  # one amd64 manifest, no index: pulled whatever the platform
    subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
                    f"docker://{env_base.rsplit(':', 1)[0]}@{manifest}", f"docker://{amd_only}"],
                   check=True, capture_output=True, timeout=120)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f'FROM {env_base}\nENV X=$BASEVAR Y=$NOPE\nCMD ["x"]\n')
    code, found = _check(ctx)
    assert found == [("UndefinedVar", "Usage of undefined variable '$NOPE'")] and code == 1
    (ctx / "Dockerfile").write_text(f'FROM --platform=linux/arm64 {amd_only}\nCMD ["x"]\n')
    code, found = _check(ctx)
    assert found == [("FromPlatformFlagConstDisallowed",
                      'FROM --platform flag should not use constant value "linux/arm64"'),
                     ("InvalidBaseImagePlatform", f'Base image {amd_only} was pulled with platform "linux/amd64", '
                                                  'expected "linux/arm64" for current build')]
