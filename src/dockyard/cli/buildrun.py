"""``dockyard build`` when it really builds: options to a BuildOptions, progress, push and outputs.

Kept apart from ``cli/build.py`` so that ``--call``/``--dry-run`` never import the engine.
Outputs are parsed before anything runs, so a typo fails in a second, not after a build;
the metadata and iid files of an earlier build are removed first, so a failed build never
leaves stale ones behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from dockyard import progress
from dockyard.builders.builder import Builder
from dockyard.builders.describe import platform_label
from dockyard.builders.node import Placement
from dockyard.dockerfile.request import BuildRequest
from dockyard.engine.build import BuildOptions, BuildResult, source_date_epoch
from dockyard.engine.cacheoptions import parse_cache_from, parse_cache_to
from dockyard.engine.mounts import parse_secret
from dockyard.errors import UsageError
from dockyard.exporters import export, file_outputs, parse_outputs, push_targets
from dockyard.exporters.metadata import describe, discard_stale, write_iidfile, write_metadata_file
from dockyard.exporters.output import NO_OUTPUT_WARNING, ImageOptions, Output
from dockyard.platform import Platform
from dockyard.registry.client import Client
from dockyard.registry.hosts import HostsConfig
from dockyard.remote.dispatch import build_on_nodes
from dockyard.store.gc import auto_collect, human


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise UsageError(f"invalid --label {item!r}", hint="use KEY=VALUE")
        out[key] = value
    return out


def _ssh(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        ident, _, path = item.partition("=")
        sock = path or os.environ.get("SSH_AUTH_SOCK", "")
        if not sock:
            raise UsageError(f"--ssh {item}: no agent socket",
                             hint="start ssh-agent, or pass --ssh default=/path/to/sock")
        out[ident or "default"] = sock
    return out


def _image_options(outputs: tuple[Output, ...]) -> ImageOptions:
    """The image options of the outputs that carry some (buildx lets them agree; the first wins)."""
    for out in outputs:
        image = getattr(out, "image", None)
        if isinstance(image, ImageOptions):
            return image
    return ImageOptions()


def _strs(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, tuple | list) else ()


def run(request: BuildRequest, *, secrets: tuple[str, ...], ssh: tuple[str, ...], builder: str | None,
        **options: object) -> int:
    """Build, then push and export; progress goes to stderr, the result's digest to stdout."""
    if not request.context.is_dir():
        raise UsageError(f"build context {str(request.context)!r} is not a directory",
                         hint="pass the directory holding your sources, e.g. dockyard build .")
    tags = _strs(options.get("tag"))
    outputs = parse_outputs(_strs(options.get("output")), tags=tags, push=bool(options.get("push")),
                            load=bool(options.get("load")))
    metadata_file = options.get("metadata_file")
    iidfile = options.get("iidfile")
    for path in (metadata_file, iidfile):
        discard_stale(path if isinstance(path, Path) else None)
    image = _image_options(outputs)
    cache_from = tuple(parse_cache_from(s) for s in _strs(options.get("cache_from")))
    cache_to = tuple(parse_cache_to(s) for s in _strs(options.get("cache_to")))
    from dockyard.builders import current_builder

    chosen = current_builder(builder).ensure_booted()
    placement_text = options.get("placement")
    placement = Placement.parse(placement_text) if isinstance(placement_text, str) else None
    wanted = list(request.platforms) or [Platform.host()]
    try:
        chosen.assign(wanted, placement=placement)
    except UsageError:
        # the record may be stale (a probe that failed under load, binfmt lost in a reboot): check again
        chosen = chosen.bootstrap(local_only=True)
        chosen.assign(wanted, placement=placement)
    render = progress.renderer(progress.resolve_mode(str(options.get("progress") or "") or None))
    ok = False
    hosts = HostsConfig.load().with_hosts(chosen.config.registries)
    targets = push_targets(outputs)
    with chosen.in_use(), Client(hosts=hosts) as client:
        try:
            farm = build_on_nodes(
                chosen,
                BuildOptions(
                    context=request.context, dockerfile=request.dockerfile, platforms=request.platforms,
                    build_args=request.build_args, target=request.target,
                    labels=_labels(_strs(options.get("label"))),
                    secrets=tuple(parse_secret(s) for s in secrets), ssh=_ssh(ssh),
                    no_cache=bool(options.get("no_cache")), no_cache_filter=_strs(options.get("no_cache_filter")),
                    jobs=chosen.jobs(), oci_mediatypes=image.oci_mediatypes, compression=image.compression,
                    compression_level=image.compression_level, source_date_epoch=source_date_epoch(),
                    cache_from=cache_from, cache_to=cache_to,
                ),
                placement=placement, push=[t.reference for t in targets], fetch_blobs=bool(file_outputs(outputs)),
                client=client, listener=render, say=lambda line: click.echo(line, err=True),
            )
            result = farm.result
            ok = True
        finally:
            render.close(ok=ok)
        _deliver(result, outputs, client=client, tags=tags)
    if chosen.local_nodes():
        _collect_garbage(chosen)
    described = describe(result.content, result.descriptor, names=tags)
    if isinstance(metadata_file, Path):
        nodes = {platform_label(p): {"node": where.node, "endpoint": where.endpoint, "emulated": where.emulated,
                          **({"skipped": list(where.skipped)} if where.skipped else {})}
                 for p, where in farm.placed.items()}
        write_metadata_file(metadata_file, described, extra={"dockyard.nodes": nodes})
    if isinstance(iidfile, Path):
        write_iidfile(iidfile, described)
    click.echo(str(result.descriptor.digest))
    return 0


def _collect_garbage(builder: Builder) -> None:
    """The builder's GC policy (buildkitd.toml ``gckeepstorage``/``gcpolicy``), applied after each build."""
    policy = builder.config.gc
    if not policy.enabled or not policy.rules:
        return
    root = builder.local_nodes()[0].store_root()
    filesystem = os.statvfs(root)
    limits = [limit for rule in policy.rules if (limit := rule.limit(filesystem.f_blocks * filesystem.f_frsize))]
    removed, freed = auto_collect(root, limit=min(limits) if limits else None)
    if removed:
        click.echo(f"automatic GC: removed {removed} cache records ({human(freed)})", err=True)


def _deliver(result: BuildResult, outputs: tuple[Output, ...], *, client: Client, tags: tuple[str, ...]) -> None:
    targets = push_targets(outputs)
    for target in targets:
        client.push(target.reference, result.descriptor, result.content, tags=target.tags)
        click.echo(f"pushed {target.reference.repository}@{result.descriptor.digest} "
                   f"({', '.join([target.reference.tag or '', *target.tags]).strip(', ')})", err=True)
    files = file_outputs(outputs)
    for spec in files:
        export(spec, result.content, result.descriptor, names=tags)
    if not targets and not files:
        click.echo(f"WARNING: {NO_OUTPUT_WARNING}", err=True)
