"""``dockyard build`` when it really builds: options to a BuildOptions, progress, push and outputs.

Kept apart from ``cli/build.py`` so that ``--call``/``--dry-run`` never import the engine.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from dockyard import progress
from dockyard.dockerfile.request import BuildRequest
from dockyard.engine import deliver
from dockyard.engine.build import BuildOptions, build, source_date_epoch
from dockyard.engine.mounts import parse_secret
from dockyard.errors import UsageError
from dockyard.platform import Platform
from dockyard.registry.client import Client


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


def run(request: BuildRequest, *, secrets: tuple[str, ...], ssh: tuple[str, ...], builder: str | None,
        **options: object) -> int:
    """Build, then push and export; prints like buildx (progress on stderr)."""
    tags = tuple(str(t) for t in options.get("tag") or ())
    push = bool(options.get("push"))
    outputs = tuple(str(o) for o in options.get("output") or ())
    if push and not tags:
        raise UsageError("--push needs at least one -t/--tag name", hint="e.g. -t 127.0.0.1:5000/app:1.0")
    if outputs:
        from dockyard.cli.buildoutput import check_outputs

        check_outputs(outputs)
    from dockyard.builders import current_builder

    chosen = current_builder(builder).ensure_booted()
    chosen.assign(list(request.platforms) or [Platform.host()])
    mode = progress.resolve_mode(str(options.get("progress") or "") or None)
    render = progress.renderer(mode)
    ok = False
    with chosen.in_use(), Client() as client:
        try:
            result = build(
                BuildOptions(
                    context=request.context, dockerfile=request.dockerfile, platforms=request.platforms,
                    build_args=request.build_args, target=request.target,
                    labels=_labels(tuple(str(v) for v in options.get("label") or ())),
                    secrets=tuple(parse_secret(s) for s in secrets), ssh=_ssh(ssh),
                    no_cache=bool(options.get("no_cache")),
                    no_cache_filter=tuple(str(v) for v in options.get("no_cache_filter") or ()),
                    jobs=chosen.jobs(), source_date_epoch=source_date_epoch(),
                    root=chosen.store_root(),
                ),
                client=client, listener=render,
            )
            ok = True
        finally:
            render.close(ok=ok)
        pushed = deliver.push(result, tags, client=client) if push else []
    if outputs:
        from dockyard.cli.buildoutput import export_outputs

        export_outputs(outputs, result, names=tags)
    for name in pushed:
        click.echo(f"pushed {name}", err=True)
    if not push and not outputs:
        click.echo("WARNING: No output specified; the build result stays in the build cache only. "
                   "Use --push, or --output type=oci|docker|local|tar,dest=...", err=True)
    metadata = options.get("metadata_file")
    if isinstance(metadata, Path):
        deliver.write_metadata(result, metadata, names=tags)
    iidfile = options.get("iidfile")
    if isinstance(iidfile, Path):
        deliver.write_iidfile(result, iidfile)
    click.echo(str(result.descriptor.digest))
    return 0
