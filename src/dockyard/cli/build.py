"""``dockyard build``: buildx's options; answers --call and --dry-run from the Dockerfile alone."""

from __future__ import annotations

import os
from pathlib import Path

import click

from dockyard.api.buildspec import BuildSpec
from dockyard.api.release import ReleaseRequest
from dockyard.cli.releaseoptions import release_options
from dockyard.dockerfile.request import BuildRequest, answer
from dockyard.errors import UsageError
from dockyard.platform import parse_platforms


def _build_args(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        name, has_value, value = item.partition("=")
        if not name:
            raise UsageError(
                f"invalid --build-arg {item!r}", hint="use NAME=VALUE (or NAME to take it from the env)"
            )
        if has_value:
            out[name] = value
        elif name in os.environ:
            out[name] = os.environ[name]
    return out


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise UsageError(f"invalid --label {item!r}", hint="use KEY=VALUE")
        out[key] = value
    return out


def _check_specs(option: str, values: tuple[str, ...], *, keys: tuple[str, ...]) -> None:
    for spec in values:
        for part in spec.split(","):
            key, has_value, _ = part.partition("=")
            if has_value and key not in keys:
                raise UsageError(
                    f"invalid {option} {spec!r}: unknown key {key!r}", hint="keys: " + ", ".join(keys)
                )


class _BuildCommand(click.Command):
    """``--sbom`` and ``--provenance`` take a value only as ``--sbom=VALUE``; bare, they mean true.

    That is pflag's NoOptDefVal, as buildx declares them: ``dockyard build --sbom .`` builds ``.``
    with an SBOM (click alone would take ``.`` as the option's value).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, [f"{a}=true" if a in _BARE_TRUE else a for a in args])


_BARE_TRUE = ("--sbom", "--provenance")


def _parse_call(value: str, fmt: str) -> tuple[str, str]:
    """``--call=NAME[,format=text|json]`` as buildx parses it (a CSV whose first field is the name)."""
    name, *fields = [f.strip() for f in value.split(",")]
    for field in fields:
        key, _, val = field.partition("=")
        if key.strip().lower() != "format":
            raise UsageError(f"invalid --call {value!r}: unknown field {field!r}", hint="e.g. --call=check,format=json")
        fmt = val.strip().lower()
    return name.lower(), fmt


@click.command("build", cls=_BuildCommand)
@click.argument("context", type=click.Path(path_type=Path))
@click.option("-f", "--file", "dockerfile", type=click.Path(path_type=Path), help="Name of the Dockerfile")
@click.option("-t", "--tag", multiple=True, help="Image name and optionally a tag (name:tag)")
@click.option(
    "--platform", "platforms", multiple=True, help="Target platforms (os/arch[/variant], comma list)"
)
@click.option("--build-arg", "build_args", multiple=True, help="Set a build-time variable (NAME=VALUE)")
@click.option("--target", help="Set the target build stage")
@click.option("--secret", multiple=True, help="Secret to expose (id=mysecret[,src=/local/secret|env=VAR])")
@click.option(
    "--ssh", multiple=True, help="SSH agent socket or keys to expose (default|<id>[=<socket>|<key>])"
)
@click.option(
    "-o", "--output", multiple=True, help="Output destination (type=registry|oci|docker|local|tar,...)"
)
@click.option("--push", is_flag=True, help="Shorthand for --output=type=registry")
@click.option("--load", is_flag=True, help="Shorthand for --output=type=docker")
@click.option("--push-timeout", help="Fail a push that takes longer (default 10m; e.g. 90s, 1h; 0: no limit)")
@click.option("--no-cache", is_flag=True, help="Do not use cache when building the image")
@click.option("--no-cache-filter", multiple=True, help="Do not cache the named stages")
@click.option("--pull", is_flag=True,
              help="Always attempt to pull all referenced images (dockyard always resolves base tags anew)")
@click.option(
    "--progress",
    type=click.Choice(["auto", "plain", "tty", "rawjson", "quiet"]),
    default="auto",
    show_default=True,
    help="Progress output",
)
@click.option(
    "--metadata-file", type=click.Path(path_type=Path), help="Write build result metadata to a file"
)
@click.option("--iidfile", type=click.Path(path_type=Path), help="Write the image ID to a file")
@click.option("--cache-from", multiple=True,
              help="External cache sources (type=registry,ref=REF | type=local,src=DIR; docs/cache.md)")
@click.option("--cache-to", multiple=True,
              help="Cache export destinations (type=registry,ref=REF | type=local,dest=DIR | type=inline)")
@click.option("--label", multiple=True, help="Set metadata for an image (KEY=VALUE)")
@click.option("--annotation", "annotations", multiple=True,
              help="Add an annotation: [TYPE[,TYPE]][[PLATFORM]]:KEY=VALUE, TYPE index|manifest|"
                   "manifest-descriptor|index-descriptor (default manifest)")
@click.option("--attest", multiple=True,
              help="Attestation parameters (type=sbom | type=provenance,mode=min|max; docs/supply-chain.md)")
@click.option("--provenance", default=None,
              help="Shorthand for --attest=type=provenance (true, false, mode=max, ...)")
@click.option("--sbom", default=None,
              help="Shorthand for --attest=type=sbom (true or false)")
@click.option("--attest-storage", type=click.Choice(["index", "referrers"]), default=None,
              help="Attestations in the index (as buildx, default) or as OCI 1.1 referrers")
@click.option("--sign", "sign", default=None, metavar="key=PATH[,format=classic|bundle]",
              help="Sign the pushed image and its attestations (cosign's .sig tag, or format=bundle: a sigstore "
                   "bundle referrer; COSIGN_PASSWORD)")
@click.option("--tags-from-git", is_flag=True,
              help="Tag -t names that have no tag from git and the CI environment (docs/ci.md), "
                   "and add the OCI labels")
@release_options
@click.option("--gate", "gates", multiple=True,
              help="Quality gate checked before anything is pushed, e.g. max-size=200MB (docs/ci.md)")
@click.option("--gate-mode", type=click.Choice(["enforce", "warn"]), default=None,
              help="enforce (default): a failed gate pushes nothing and exits 3; warn: report and go on")
@click.option("--gate-policy", type=click.Path(path_type=Path, dir_okay=False),
              help="Gate policy file (default: .dockyard/gates.toml or dockyard.toml in the context)")
@click.option("--push-retry", type=click.IntRange(0, 10), default=0, show_default=True,
              help="Retry a failed push to a registry this many times (no tag moves until all succeed)")
@click.option("--placement", type=click.Choice(["native-only", "prefer-native", "any"]),
              help="Which nodes may build a platform (default: the builder's, prefer-native)")
@click.option("--call", "call", default="build", show_default=True,
              help="build, outline, targets or check; buildx's NAME,format=json form is accepted")
@click.option("--check", is_flag=True, help="Shorthand for --call=check")
@click.option("--dry-run", is_flag=True, help="Print the planned steps and cache keys; execute nothing")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format of --call and --dry-run",
)
@click.pass_context
def build(
    ctx: click.Context,
    /,
    *,
    context: Path,
    dockerfile: Path | None,
    platforms: tuple[str, ...],
    build_args: tuple[str, ...],
    target: str | None,
    secret: tuple[str, ...],
    ssh: tuple[str, ...],
    call: str,
    check: bool,
    dry_run: bool,
    fmt: str,
    tag: tuple[str, ...],
    output: tuple[str, ...],
    push: bool,
    load: bool,
    push_timeout: str | None,
    no_cache: bool,
    no_cache_filter: tuple[str, ...],
    pull: bool,
    progress: str,
    metadata_file: Path | None,
    iidfile: Path | None,
    cache_from: tuple[str, ...],
    cache_to: tuple[str, ...],
    label: tuple[str, ...],
    annotations: tuple[str, ...],
    attest: tuple[str, ...],
    provenance: str | None,
    sbom: str | None,
    attest_storage: str | None,
    sign: str | None,
    tags_from_git: bool,
    tag_spec: tuple[str, ...],
    flavor: tuple[str, ...],
    no_default_labels: bool,
    gates: tuple[str, ...],
    gate_mode: str | None,
    gate_policy: Path | None,
    push_retry: int,
    placement: str | None,
) -> int:
    """Start a build from a Dockerfile and a context."""
    _check_specs("--secret", secret, keys=("id", "src", "source", "env", "type"))
    call, fmt = _parse_call("check" if check else call, fmt)
    request = BuildRequest(
        context=context,
        dockerfile=dockerfile if dockerfile is not None else context / "Dockerfile",
        platforms=tuple(p for text in platforms for p in parse_platforms(text)),
        build_args=_build_args(build_args),
        target=target,
        call=call,
        fmt=fmt,
        dry_run=dry_run,
    )
    if request.call == "build" and not request.dry_run:
        from dockyard.cli.buildrun import run
        from dockyard.cli.registryhosts import registry_ca

        del pull  # dockyard always does what --pull asks: every base tag is resolved in its registry
        release = ReleaseRequest(
            tags=tag, tags_from_git=tags_from_git, tag_specs=tag_spec, flavor=flavor,
            default_labels=not no_default_labels, annotations=annotations, gates=gates, gate_mode=gate_mode,
            gate_policy=gate_policy, push_retry=push_retry)
        return run(BuildSpec(
            context=request.context, file=request.dockerfile, platforms=request.platforms,
            build_args=request.build_args, target=request.target, labels=_labels(label), secrets=secret, ssh=ssh,
            outputs=output, push=push, load=load, push_timeout=push_timeout, no_cache=no_cache,
            no_cache_filter=no_cache_filter, cache_from=cache_from, cache_to=cache_to, metadata_file=metadata_file,
            iidfile=iidfile, builder=ctx.obj.builder if ctx.obj else None, placement=placement, attest=attest,
            provenance=provenance, sbom=sbom, attest_storage=attest_storage, sign=sign, registry_ca=registry_ca(),
            release=release), progress_mode=progress)
    if request.call == "check":  # BuildKit's lint reads the base images' configs (their ENV, their platform)
        from dockyard.registry.client import Client
        from dockyard.registry.configs import ConfigResolver
        from dockyard.registry.options import TransportOptions
        from dockyard.registry.retry import RetryPolicy
        from dockyard.store.content import ContentStore

        options_ = TransportOptions(retry=RetryPolicy(attempts=2, base=0.1), connect_timeout=5, read_timeout=15)
        with Client(transport=options_) as client:
            result = answer(request, resolver=ConfigResolver(client, ContentStore.default()))
    elif request.dry_run:  # the context digests a build of this context took, when there was one
        from dockyard.graph.contenthash import StatCache
        from dockyard.paths import data_root

        result = answer(request, stat_cache=StatCache.load(StatCache.path_for(data_root(make=False), context)))
    else:
        result = answer(request)
    click.echo(result.output, nl=False)
    return result.exit_code
