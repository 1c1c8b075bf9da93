"""``dockyard build`` when it really builds: options to a BuildOptions and a Delivery, then the library.

Kept apart from ``cli/build.py`` so that ``--call``/``--dry-run`` never import the engine.
Outputs are parsed before anything runs, so a typo fails in a second, not after a build.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dockyard import progress
from dockyard.api.build import BuildCall, image_options, run_build, ssh_sockets
from dockyard.attest import options as attest_options
from dockyard.attest.storage import Storage
from dockyard.builders.node import Placement
from dockyard.cli.registryhosts import registry_ca
from dockyard.dockerfile.calls import build_warnings
from dockyard.dockerfile.request import BuildRequest
from dockyard.engine.cacheoptions import parse_cache_from, parse_cache_to
from dockyard.engine.mounts import Secret, parse_secret
from dockyard.errors import DockerfileError, UsageError
from dockyard.exporters import file_outputs, parse_outputs, push_targets
from dockyard.exporters.output import ImageOptions, Output
from dockyard.oci.annotations import merged
from dockyard.phases.attest import BuildAttestor, for_build
from dockyard.phases.deliver import Delivery
from dockyard.phases.request import BuildOptions, source_date_epoch
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.registry.configs import ConfigResolver
from dockyard.registry.watch import DEFAULT_PUSH_TIMEOUT
from dockyard.store.content import ContentStore
from dockyard.store.gc import parse_duration

if TYPE_CHECKING:  # cryptography loads only for --sign
    from dockyard.sign.request import Signing


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise UsageError(f"invalid --label {item!r}", hint="use KEY=VALUE")
        out[key] = value
    return out



def _push_timeout(value: object) -> float | None:
    """``--push-timeout``: a duration (90s, 10m, 1h) or seconds; 0 turns the limit off."""
    if not isinstance(value, str):
        return DEFAULT_PUSH_TIMEOUT
    try:
        seconds = float(value) if value.replace(".", "", 1).isdigit() else parse_duration(value)
    except UsageError:
        raise UsageError(f"invalid --push-timeout {value!r}", hint="e.g. 90s, 10m or 1h; 0 for no limit") from None
    return seconds or None



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


def _strs(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, tuple | list) else ()


def _path(value: object) -> Path | None:
    return value if isinstance(value, Path) else None


def _attestor(request: BuildRequest, options: dict[str, object], *, outputs: tuple[Output, ...],
              tags: tuple[str, ...], labels: Mapping[str, str], secrets: tuple[Secret, ...], ssh: tuple[str, ...],
              oci: bool) -> BuildAttestor | None:
    """The attest hook for --attest/--provenance/--sbom/--attest-storage (None: nothing to attest)."""
    provenance, sbom, storage = options.get("provenance"), options.get("sbom"), options.get("attest_storage")
    wanted = attest_options.parse(_strs(options.get("attest")),
                                  provenance=provenance if isinstance(provenance, str) else None,
                                  sbom=sbom if isinstance(sbom, str) else None,
                                  storage=storage if isinstance(storage, str) else None)
    if not wanted.wanted:
        return None
    if wanted.storage is Storage.REFERRERS and file_outputs(outputs):
        raise UsageError("--attest-storage=referrers stores attestations in a registry only",
                         hint="push with --push, or keep the default --attest-storage=index for file outputs")
    return for_build(wanted, context=request.context, dockerfile=request.dockerfile,
                     build_args=request.build_args, labels=labels, target=request.target,
                     secret_ids=tuple(s.id for s in secrets),
                     ssh_ids=tuple(item.partition("=")[0] or "default" for item in ssh),
                     name=Reference.parse(tags[0]) if tags else None, source_date_epoch=source_date_epoch(), oci=oci)


def _signing(spec: object, outputs: tuple[Output, ...]) -> Signing | None:
    """``--sign key=PATH[,format=F]``: loaded before the build (a wrong password fails in a second, not after it)."""
    if not isinstance(spec, str):
        return None
    if not push_targets(outputs):
        raise UsageError("--sign signs what is pushed: there is no registry output", hint="add --push")
    from dockyard.cli.keypair import password
    from dockyard.sign.request import parse

    return parse(spec, password=password(confirm=False))


def run(request: BuildRequest, *, secrets: tuple[str, ...], ssh: tuple[str, ...], builder: str | None,
        **options: object) -> int:
    """Build, then push and export; progress goes to stderr, the result's digest to stdout."""
    if not request.context.is_dir():
        raise UsageError(f"build context {str(request.context)!r} is not a directory",
                         hint="pass the directory holding your sources, e.g. dockyard build .")
    warnings: list[str] = []
    from dockyard.cli.buildrelease import plan

    release = plan(request.context, options, labels=_labels(_strs(options.get("label"))),
                   platforms=len(request.platforms))
    tags = release.tags
    outputs = parse_outputs(_strs(options.get("output")), tags=tags, push=bool(options.get("push")),
                            load=bool(options.get("load")))
    labels = release.labels
    parsed_secrets = tuple(parse_secret(s) for s in secrets)
    image = image_options(outputs)
    attestor = _attestor(request, options, outputs=outputs, tags=tags, labels=labels, secrets=parsed_secrets,
                         ssh=ssh, oci=image.oci_mediatypes)
    signing = _signing(options.get("sign"), outputs)
    delivery = Delivery(outputs=outputs, tags=tags, metadata_file=_path(options.get("metadata_file")),
                        iidfile=_path(options.get("iidfile")), push_retry=release.push_retry,
                        sign_key=signing.key if signing else None,
                        sign_format=signing.form if signing else "classic")
    _check_rewrite_timestamp(image)
    placement_text = options.get("placement")
    call = BuildCall(
        options=BuildOptions(
            context=request.context, dockerfile=request.dockerfile, platforms=request.platforms,
            build_args=request.build_args, target=request.target, labels=labels, secrets=parsed_secrets,
            ssh=ssh_sockets(ssh), no_cache=bool(options.get("no_cache")),
            no_cache_filter=_strs(options.get("no_cache_filter")), oci_mediatypes=image.oci_mediatypes,
            compression=image.compression, compression_level=image.compression_level,
            force_compression=image.force_compression, source_date_epoch=source_date_epoch(),
            cache_from=tuple(parse_cache_from(s) for s in _strs(options.get("cache_from"))),
            cache_to=tuple(parse_cache_to(s) for s in _strs(options.get("cache_to"))),
            annotations=merged(release.annotations, image.annotations),
            base_annotations=release.base_annotations,
        ),
        delivery=delivery, builder=builder,
        placement=Placement.parse(placement_text) if isinstance(placement_text, str) else None,
        push_timeout=_push_timeout(options.get("push_timeout")), attestors=(attestor,) if attestor else (),
        # with gates, nothing may reach a registry before they pass: nodes hand every blob back
        gate=release.delivery_gate, early_push=release.policy.empty, registry_ca=registry_ca(),
    )
    render = progress.renderer(progress.resolve_mode(str(options.get("progress") or "") or None))
    outcome = run_build(call, listener=render, report=lambda line: click.echo(line, err=True),
                        built=lambda ok: render.close(ok=ok),
                        with_client=lambda client: warnings.extend(_lint(request, client)))
    if warnings:  # after the build, as buildx prints them
        click.echo("\n" + "\n".join(warnings), err=True)
    click.echo(outcome.digest)
    return 0
