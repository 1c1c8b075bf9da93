"""``dockyard imagetools inspect|create|import``: images already in registries, without building."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dockyard.errors import UsageError

if TYPE_CHECKING:
    from dockyard.oci.descriptor import Descriptor
    from dockyard.platform import Platform
    from dockyard.registry.client import Client, Progress


def _progress() -> Progress:
    def report(status: str, desc: Descriptor) -> None:
        click.echo(f"{status:>9} {desc.digest.short}", err=True)

    return report


INSECURE_KEY = "dockyard.insecure_registries"


def _client(*, quiet: bool = True) -> Client:
    from dockyard.cli.registryhosts import hosts as registry_hosts
    from dockyard.registry.client import Client

    insecure = click.get_current_context().meta.get(INSECURE_KEY, frozenset())
    return Client(hosts=registry_hosts(insecure=insecure), progress=None if quiet else _progress(),
                  on_wait=lambda message: click.echo(message, err=True))  # a silent registry is named


def _platforms(values: tuple[str, ...]) -> list[Platform]:
    from dockyard.platform import parse_platforms

    out: list[Platform] = []
    for value in values:
        out += [p for p in parse_platforms(value) if p not in out]
    return out


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
    from dockyard.imagetools import inspection as impl
    from dockyard.reference import Reference
    from dockyard.store.content import ContentStore

    with _client() as client:
        result = impl.inspect(client, Reference.parse(ref), store=ContentStore.default(),
                              details=fmt == "json" and not raw)
    if raw:
        click.echo(result.raw.decode("utf-8"), nl=False)
        return
    click.echo(impl.render_json(result) if fmt == "json" else impl.render_text(result))


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
    from dockyard.imagetools import combine as impl
    from dockyard.reference import Reference
    from dockyard.store.content import ContentStore

    targets = [Reference.parse(t) for t in tags]
    if from_ref is not None:
        if sources or append or platforms or dry_run:
            raise UsageError("--from copies one image unchanged: it takes no SOURCE, --append, --platform or "
                             "--dry-run", hint="use either --from REF or SOURCE...")
        from dockyard.imagetools.mirror import mirror

        with _client() as client:
            desc = mirror(client, Reference.parse(from_ref), targets, store=ContentStore.default(),
                          retries=push_retry, notify=lambda message: click.echo(f"WARNING: {message}", err=True))
        for target in targets:
            click.echo(f"{target.name}@{desc.digest}")
        return
    if push_retry:
        raise UsageError("--push-retry is for --from", hint="create SOURCE... pushes once")
    refs = [impl.parse_source(s, targets) for s in sources]
    store = ContentStore.default()
    with _client(quiet=dry_run) as client:
        plan = impl.plan(client, refs, store=store, platforms=_platforms(platforms),
                         append=targets[0] if append else None)
        if dry_run:
            click.echo(json.dumps(plan.index.to_json(), indent=2))
            return
        desc = impl.push(client, plan, targets, store=store)
    for target in targets:
        click.echo(f"{target.name}@{desc.digest}")


def _argv(value: str | None) -> tuple[str, ...] | None:
    """``--cmd '["sh","-c","x"]'`` (JSON, as in a Dockerfile) or ``--cmd 'sh -c x'`` (shell words)."""
    if value is None:
        return None
    if value.lstrip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise UsageError(f"invalid JSON array {value!r}") from None
        if not isinstance(parsed, list) or not all(isinstance(a, str) for a in parsed):
            raise UsageError(f"{value!r} must be a JSON array of strings")
        return tuple(parsed)
    return tuple(shlex.split(value))


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
    from dockyard.imagetools import importer
    from dockyard.platform import Platform
    from dockyard.reference import Reference
    from dockyard.store.content import ContentStore

    rootfs: list[tuple[Platform, Path]] = []
    for pair in pairs:
        plat, sep, path = pair.partition("=")
        if not sep or not path:
            raise UsageError(f"--platform {pair!r} needs PLATFORM=ROOTFS.tar", hint="e.g. linux/arm64=rootfs.tar")
        rootfs.append((Platform.parse(plat), Path(path)))
    for item in env:
        if "=" not in item:
            raise UsageError(f"--env {item!r} needs KEY=VALUE")
    keys = {e.partition("=")[0] for e in env}
    environment = tuple(e for e in (importer.DEFAULT_PATH,) if e.partition("=")[0] not in keys) + env
    options = importer.ImportOptions(cmd=_argv(cmd) if cmd is not None else ("sh",), entrypoint=_argv(entrypoint),
                                     env=environment, working_dir=workdir)
    targets = [Reference.parse(t) for t in tags]
    store = ContentStore.default()
    desc = importer.import_index(rootfs, store, options=options)
    with _client() as client:
        for target in targets:
            client.push(target, desc, store)
    for target in targets:
        click.echo(f"{target.name}@{desc.digest}")
