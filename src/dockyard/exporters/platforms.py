"""Which platforms an export holds: the one image a single-platform format takes, and split directories.

The images themselves come from :func:`dockyard.oci.image.platform_images`. Directory names per
platform follow BuildKit's ``platform-split``: ``linux_amd64``, ``linux_arm_v7``, and
``linux_arm64`` (arm64's ``v8`` is the default variant, which containerd's normalisation drops,
so buildx never shows it).
"""

from __future__ import annotations

from dockyard.errors import UsageError
from dockyard.oci.image import PlatformImage
from dockyard.platform import Platform


def choose_host(images: list[PlatformImage], host: Platform) -> PlatformImage:
    """The one image a single-platform format (a docker archive) can hold.

    A single image is taken whatever its platform; from several, the host's, as buildx's
    ``--load`` of a multi-platform result does; without one, an error listing them.
    """
    if len(images) == 1:
        return images[0]
    exact = [i for i in images if host.same(i.platform)]
    loose = [i for i in images if host.matches(i.platform)]
    if exact or loose:
        return (exact or loose)[0]
    have = ", ".join(str(i.platform) for i in images)
    raise UsageError(f"a docker archive holds one platform, and the result has {have} but not {host}",
                     hint="build with --platform for one of them, or use -o type=oci,dest=... for all")


def dirname(platform: Platform) -> str:
    """``linux_amd64``, ``linux_arm64``, ``linux_arm_v7``: the per-platform directory of a split export."""
    normal = platform.normal()
    parts = [normal.os, normal.architecture]
    if normal.variant:
        parts.append(normal.variant)
    return "_".join(parts)
