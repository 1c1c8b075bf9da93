"""Exporters: what happens to a build result once it is in the content store.

The engine ends with one descriptor in the store: an image manifest (one platform) or an
index (several). An exporter turns that into something outside dockyard:

* ``type=image``/``registry`` (push): :func:`output.push_targets` says where; the engine
  calls ``registry.Client.push`` for each, so pushing has one code path.
* ``type=oci``: an OCI image layout, directory or tar (:mod:`.oci_layout`), every platform.
* ``type=docker``: a ``docker save`` archive for ``podman load`` (:mod:`.docker_tar`), one
  platform (the host's, from a multi-platform result).
* ``type=local`` / ``type=tar``: the root filesystem, unpacked into a directory
  (:mod:`.local`) or archived (:mod:`.tar`), one ``linux_ARCH`` directory per platform
  when there are several.

Alongside, :mod:`.metadata` writes ``--metadata-file`` and ``--iidfile``. Options are parsed
by :mod:`.output` from buildx's syntax into frozen dataclasses, so the CLI parses and this
package only acts. Exporters never change the store: they only read blobs by digest.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.exporters.output import (
    DockerOutput,
    FileOutput,
    ImageOutput,
    LocalOutput,
    OciOutput,
    Output,
    TarOutput,
    file_outputs,
    parse_output,
    parse_outputs,
    push_targets,
)
from dockyard.oci.descriptor import Descriptor
from dockyard.platform import Platform
from dockyard.store.content import ContentStore

__all__ = ["DockerOutput", "FileOutput", "ImageOutput", "LocalOutput", "OciOutput", "Output", "TarOutput",
           "export", "file_outputs", "parse_output", "parse_outputs", "push_targets"]


def export(spec: FileOutput, store: ContentStore, desc: Descriptor, *, names: Sequence[str] = (),
           platform_host: Platform | None = None) -> None:
    """Write the result ``desc`` (in ``store``) as ``spec`` says.

    ``names`` add to the names the output itself carries (usually they are already merged by
    :func:`parse_outputs`); ``platform_host`` picks the docker archive's platform (default:
    this machine's). Each writer is imported only when its output is asked for.
    """
    if isinstance(spec, LocalOutput):
        from dockyard.exporters.local import write_local

        write_local(store, desc, spec.dest, platform_split=spec.platform_split)
    elif isinstance(spec, TarOutput):
        from dockyard.exporters.tar import write_rootfs_tar

        write_rootfs_tar(store, desc, spec.dest, platform_split=spec.platform_split)
    elif isinstance(spec, OciOutput):
        from dockyard.exporters.oci_layout import write_layout_dir, write_layout_tar

        all_names = tuple(dict.fromkeys((*spec.names, *names)))
        if spec.tar:
            write_layout_tar(store, desc, spec.dest, names=all_names)
        else:
            assert spec.dest is not None  # parse_output requires dest for tar=false
            write_layout_dir(store, desc, spec.dest, names=all_names)
    elif isinstance(spec, DockerOutput):
        from dockyard.exporters.docker_tar import write_docker_tar

        write_docker_tar(store, desc, spec.dest, names=tuple(dict.fromkeys((*spec.names, *names))),
                         host=platform_host)
    else:
        raise TypeError(f"not a file output: {spec!r}")
