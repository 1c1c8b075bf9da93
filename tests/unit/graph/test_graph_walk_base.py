"""``graph.walk.base_image``: the image a final state is built on (the OCI base-image annotations'
notion), followed through every step and COPY --link merge, never into a COPY --from source."""

from __future__ import annotations

from dockyard.graph import ops
from dockyard.graph.walk import base_image
from dockyard.platform import Platform

AMD64 = Platform.parse("linux/amd64")


def _copy(root: ops.State, source: ops.State) -> ops.Copy:
    return ops.Copy(root=root, source=source, paths=("/a",), dest="/a", platform=AMD64)


def test_follows_steps_and_link_merges_to_the_image() -> None:
    image = ops.ImageSource(ref="reg.example/base:1", platform=AMD64)
    other = ops.ImageSource(ref="reg.example/tools:1", platform=AMD64)
    run = ops.Exec(root=image, argv=("true",), env=(), cwd="/", user="", platform=AMD64)
    copied = _copy(run, other)  # COPY --from=tools: tools is a source, not the base
    linked = ops.Merge(layers=(copied, _copy(None, other)), platform=AMD64)
    final = ops.Rm(root=ops.Mkfile(root=ops.Mkdir(root=linked, path="/d", platform=AMD64), path="/f", data="",
                                   platform=AMD64), path="/x", platform=AMD64)
    assert base_image(final) is image
    assert base_image(image) is image


def test_scratch_and_non_image_roots_have_none() -> None:
    tools = ops.ImageSource(ref="reg.example/tools:1", platform=AMD64)
    assert base_image(None) is None
    assert base_image(_copy(None, tools)) is None
    assert base_image(ops.Merge(layers=(None, _copy(None, tools)), platform=AMD64)) is None
    assert base_image(ops.ContextSource()) is None
