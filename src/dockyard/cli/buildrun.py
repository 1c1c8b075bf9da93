"""``dockyard build`` when it really builds: options to a BuildOptions and a Delivery, then the library.

Kept apart from ``cli/build.py`` so that ``--call``/``--dry-run`` never import the engine.
Outputs are parsed before anything runs, so a typo fails in a second, not after a build.
"""

from __future__ import annotations

import click

from dockyard import progress
from dockyard.api.build import (
    BuildCall,
    attest_request,
    attestor,
    build_options,
    image_options,
    push_timeout,
    run_build,
    signing,
)
from dockyard.builders.node import Placement
from dockyard.cli.buildflags import RunFlags
from dockyard.cli.registryhosts import registry_ca
from dockyard.dockerfile.calls import build_warnings
from dockyard.dockerfile.request import BuildRequest
from dockyard.engine.mounts import parse_secret
from dockyard.errors import DockerfileError, UsageError
from dockyard.exporters import parse_outputs
from dockyard.exporters.output import ImageOptions
from dockyard.phases.deliver import Delivery
from dockyard.phases.request import BuildOptions, source_date_epoch
from dockyard.registry.client import Client
from dockyard.registry.configs import ConfigResolver
from dockyard.store.content import ContentStore


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise UsageError(f"invalid --label {item!r}", hint="use KEY=VALUE")
        out[key] = value
    return out


def _check_rewrite_timestamp(image: ImageOptions) -> None:
    """``rewrite-timestamp``: dockyard always clamps the file times of the layers it builds to
    SOURCE_DATE_EPOCH (BuildKit's ``rewrite-timestamp=true``; base layers are kept, as BuildKit
    keeps layers that did not diverge from the base), so ``=false`` cannot be honoured with an
    epoch set, and ``=true`` without one has nothing to rewrite (BuildKit warns the same way)."""
    epoch = source_date_epoch()
    if image.rewrite_timestamp is False and epoch is not None:
        raise UsageError("rewrite-timestamp=false is not supported: with SOURCE_DATE_EPOCH set, dockyard always "
                         "rewrites the file times of the layers it builds",
                         hint="drop rewrite-timestamp=false, or unset SOURCE_DATE_EPOCH")
    if image.rewrite_timestamp and epoch is None:
        click.echo("WARNING: rewrite-timestamp is specified, but no source-date-epoch was found", err=True)


def _lint(request: BuildRequest, client: Client) -> list[str]:
    """The check's warnings, printed after the build as buildx prints them; base images are read as
    BuildKit's lint reads them during the conversion. ``# check=error=true`` stops the build here."""
    if not request.dockerfile.is_file():
        return []
    warnings, lint_error = build_warnings(request.dockerfile, request.context,
                                          resolver=ConfigResolver(client, ContentStore.default()),
                                          build_args=request.build_args)
    if lint_error is not None:
        click.echo("\n".join(warnings), err=True)
        raise DockerfileError(lint_error, file=str(request.dockerfile), hint="fix them, or skip rules with "
                              "# check=skip=RULE,...")
    return warnings


def _password() -> bytes | None:
    from dockyard.cli.keypair import password

    return password(confirm=False)


def run(request: BuildRequest, flags: RunFlags) -> int:
    """Build, then push and export; progress goes to stderr, the result's digest to stdout."""
    if not request.context.is_dir():
        raise UsageError(f"build context {str(request.context)!r} is not a directory",
                         hint="pass the directory holding your sources, e.g. dockyard build .")
    warnings: list[str] = []
    call = _call(request, flags)
    render = progress.renderer(progress.resolve_mode(flags.progress or None))
    outcome = run_build(call, listener=render, report=lambda line: click.echo(line, err=True),
                        built=lambda ok: render.close(ok=ok),
                        with_client=lambda client: warnings.extend(_lint(request, client)))
    if warnings:  # after the build, as buildx prints them
        click.echo("\n" + "\n".join(warnings), err=True)
    click.echo(outcome.digest)
    return 0


def _call(request: BuildRequest, flags: RunFlags) -> BuildCall:
    """The library's request from the flags; every flag is checked here, before anything is built."""
    from dockyard.api.release import plan

    release = plan(request.context, flags.release, labels=_labels(flags.labels), platforms=len(request.platforms),
                   report=lambda line: click.echo(line, err=True))
    names = release.names
    tags = names.tags
    outputs = parse_outputs(flags.outputs, tags=tags, push=flags.push, load=flags.load)
    parsed_secrets = tuple(parse_secret(s) for s in flags.secrets)
    image = image_options(outputs)
    attest = attest_request(flags.attest.attest, provenance=flags.attest.provenance, sbom=flags.attest.sbom,
                            storage=flags.attest.storage, outputs=outputs)
    signed = signing(flags.sign, outputs, password=_password)
    delivery = Delivery(outputs=outputs, tags=tags, metadata_file=flags.metadata_file, iidfile=flags.iidfile,
                        push_retry=release.push_retry, sign_key=signed.key if signed else None,
                        sign_format=signed.form if signed else "classic")
    _check_rewrite_timestamp(image)
    options = build_options(
        BuildOptions(context=request.context, dockerfile=request.dockerfile, platforms=request.platforms,
                     build_args=request.build_args, target=request.target, labels=names.labels, secrets=parsed_secrets,
                     no_cache=flags.no_cache, no_cache_filter=flags.no_cache_filter,
                     annotations=names.annotations, base_annotations=names.base_annotations),
        ssh=flags.ssh, cache_from=flags.cache_from, cache_to=flags.cache_to, image=image)
    made = attestor(attest, options, tags=tags)
    return BuildCall(
        options=options, delivery=delivery, builder=flags.builder,
        placement=Placement.parse(flags.placement) if flags.placement is not None else None,
        push_timeout=push_timeout(flags.push_timeout), attestors=(made,) if made else (),
        # with gates, nothing may reach a registry before they pass: nodes hand every blob back
        gate=release.delivery_gate(), early_push=release.early_push, registry_ca=registry_ca(),
    )
