"""``dockyard imagetools inspect|create|import``: images already in registries, without building.

A thin skin over :mod:`dockyard.imagetools` (``inspect``, ``create``, ``import_``): the flags
are their arguments; this module only prints.
"""

from __future__ import annotations

import json

import click

from dockyard import progress

INSECURE_KEY = "dockyard.insecure_registries"


def _insecure() -> tuple[str, ...]:
    """The group's ``--insecure-registry`` hosts."""
    return tuple(click.get_current_context().meta.get(INSECURE_KEY, ()))


def _echo(event: progress.Event) -> None:
    """Each blob copied and each warning, on stderr (the digests go to stdout)."""
    if isinstance(event, progress.Notice):
        click.echo(event.message, err=True)


@click.group("imagetools")
@click.option("--insecure-registry", "insecure", multiple=True, metavar="HOST[:PORT]",
              help="Allow plain HTTP and unverified TLS for this registry (repeatable)")
@click.pass_context
def imagetools(ctx: click.Context, insecure: tuple[str, ...]) -> None:
    """Inspect, create and import multi-platform images in registries."""
    ctx.meta[INSECURE_KEY] = frozenset(insecure)


@imagetools.command("inspect")
@click.argument("ref")
@click.option("--raw", is_flag=True, help="Print the manifest or index exactly as the registry serves it")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format (json includes each platform's image config)")
def inspect(ref: str, raw: bool, fmt: str) -> None:
    """Show what REF names: media type, digest, and one block per platform."""
    from dockyard.cli.registryhosts import registry_ca
    from dockyard.imagetools import inspect as run
    from dockyard.imagetools.inspection import render_json, render_text

    result = run(ref, details=fmt == "json" and not raw, insecure=_insecure(), registry_ca=registry_ca(),
                 progress=_echo)
    if raw:
        click.echo(result.raw.decode("utf-8"), nl=False)
        return
    click.echo(render_json(result) if fmt == "json" else render_text(result))


@imagetools.command("create")
@click.argument("sources", nargs=-1)
@click.option("-t", "--tag", "tags", multiple=True, required=True, help="Target reference (repeatable)")
@click.option("--append", is_flag=True, help="Add the sources to the index the first tag names")
@click.option("--dry-run", is_flag=True, help="Print the index instead of pushing it")
@click.option("--platform", "platforms", multiple=True, help="Keep only these platforms (repeatable, comma lists)")
@click.option("--from", "from_ref", metavar="REF",
              help="Copy REF unchanged (same digest) to every -t target: mirror a release to other registries")
@click.option("--push-retry", type=click.IntRange(0, 10), default=0, show_default=True,
              help="With --from: retry a failed registry this many times (no tag moves until all succeed)")
def create(*, sources: tuple[str, ...], tags: tuple[str, ...], append: bool, dry_run: bool,
           platforms: tuple[str, ...], from_ref: str | None, push_retry: int) -> None:
    """Merge SOURCE images and indexes into one index, pushed under every -t tag (or copy --from REF)."""
    from dockyard.cli.registryhosts import registry_ca
    from dockyard.imagetools import create as run

    made = run(sources, tags=tags, append=append, platforms=platforms, dry_run=dry_run, from_=from_ref,
               push_retry=push_retry, insecure=_insecure(), registry_ca=registry_ca(), progress=_echo)
    if made.digest is None and made.index is not None:  # --dry-run
        click.echo(json.dumps(made.index.to_json(), indent=2))
        return
    _print_pushed(tags, made.digest)


def _print_pushed(tags: tuple[str, ...], digest: str | None) -> None:
    from dockyard.reference import Reference

    for tag in tags:
        click.echo(f"{Reference.parse(tag).name}@{digest}")


@imagetools.command("import")
@click.option("-t", "--tag", "tags", multiple=True, required=True, help="Target reference (repeatable)")
@click.option("--platform", "pairs", multiple=True, required=True, metavar="PLATFORM=ROOTFS.tar",
              help="A platform and its root filesystem tarball (repeatable)")
@click.option("--cmd", help='Default command: JSON array or shell words [default: sh]')
@click.option("--entrypoint", help="Entrypoint: JSON array or shell words")
@click.option("--env", "env", multiple=True, metavar="KEY=VALUE", help="Environment (repeatable; PATH is preset)")
@click.option("--workdir", help="Working directory")
def import_(*, tags: tuple[str, ...], pairs: tuple[str, ...], cmd: str | None, entrypoint: str | None,
            env: tuple[str, ...], workdir: str | None) -> None:
    """Make a multi-platform base image from root filesystem tarballs and push it.

    Set SOURCE_DATE_EPOCH for reproducible digests.
    """
    from dockyard.cli.registryhosts import registry_ca
    from dockyard.imagetools import import_ as run

    made = run(pairs, tags=tags, cmd=cmd, entrypoint=entrypoint, env=env, workdir=workdir, insecure=_insecure(),
               registry_ca=registry_ca())
    _print_pushed(tags, made.digest)
