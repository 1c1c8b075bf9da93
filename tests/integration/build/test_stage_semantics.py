"""Stage and ARG semantics built for real (runc; qemu-aarch64 for arm64), read back with skopeo and umoci.

Each behaviour follows moby/buildkit frontend/dockerfile/dockerfile2llb: a child stage inherits its
parent's ARG values (convert.go ``dispatchState.init`` copies the LLB state and ``buildArgs``); an
ARG after an ENV of the same name wins in RUN (``dispatchArg`` -> ``AddEnv``) while the config keeps
the ENV (``dispatchEnv``/``addEnv``); ``WORKDIR /`` makes no layer (``dispatchWorkdir``); unquoted
COPY heredocs expand with ``SkipProcessQuotes`` (``dispatch``); TARGETSTAGE comes from
platform.go ``defaultArgs``. The plan-level cases are in tests/unit/dockerfile/test_df_stage_semantics.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.executor import qemu
from tests.integration.build.buildrig import build_push, inspect_raw, unpack
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration

DOCKERFILE = """\
ARG BASE
FROM $BASE AS tools
ARG TARGETPLATFORM

FROM tools AS final
WORKDIR /
ENV MODE=env
ARG MODE=arg
RUN --mount=type=cache,id=lint-$TARGETPLATFORM,target=/cache \\
    echo "$TARGETPLATFORM" >> /cache/seen && cp /cache/seen /seen && echo "$MODE" > /mode
COPY <<EOF /etc/nginx-cmd
nginx -g 'daemon off;' "$TARGETPLATFORM" \\$HOME
EOF
ARG TARGETSTAGE
RUN echo "$TARGETSTAGE" > /stage
"""


def test_stage_and_arg_semantics_in_a_real_two_platform_build(
    busybox_base: str, registry: TestRegistry, binfmt_arm64: qemu.Emulator, tmp_path: Path
) -> None:
    ref = f"{registry.address}/semantics/stages:1"
    build_push(DOCKERFILE, ref, platforms="linux/amd64,linux/arm64", base=busybox_base, workdir=tmp_path)
    for arch in ("amd64", "arm64"):
        rootfs, runtime = unpack(ref, arch, tmp_path / arch)
        platform = f"linux/{arch}"
        assert (rootfs / "seen").read_text() == f"{platform}\n"  # one cache per platform
        assert (rootfs / "mode").read_text() == "arg\n"
        assert (rootfs / "etc" / "nginx-cmd").read_text() == f"nginx -g 'daemon off;' \"{platform}\" $HOME\n"
        assert (rootfs / "stage").read_text() == "final\n"
        assert "MODE=env" in runtime["process"]["env"]
    config = inspect_raw(ref, config=True)
    rows = [(h.get("created_by", ""), bool(h.get("empty_layer"))) for h in config["history"]]
    assert ("WORKDIR /", True) in rows
    assert sum(1 for _, empty in rows if not empty) == len(config["rootfs"]["diff_ids"])
