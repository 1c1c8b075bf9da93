"""``dockyard.build``: one call from a context to an image pushed, exported or kept, as ``dockyard build``.

:class:`BuildCall` is the library's typed request; :func:`make_call` makes it of a
:class:`~dockyard.api.buildspec.BuildSpec` (what ``dockyard build`` parses its flags into, and
what :func:`build` makes of plain arguments: one path, so a flag and its argument cannot drift
apart); :func:`run_build` runs it: choose the builder
and boot its nodes, place each platform on a node, build (the phases, :mod:`dockyard.phases`),
run the delivery gate, deliver (push, files, metadata), and apply the builder's GC policy.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dockyard import arguments, progress
from dockyard.api.buildspec import BuildSpec
from dockyard.api.release import ReleaseRequest
from dockyard.attest import options as attest_options
from dockyard.attest.options import AttestOptions
from dockyard.attest.storage import Storage
from dockyard.builders.node import Placement
from dockyard.builders.summary import platform_label
from dockyard.engine.cacheoptions import parse_cache_from, parse_cache_to
from dockyard.engine.mounts import parse_secret
from dockyard.errors import ArgumentError, UsageError
from dockyard.exporters import file_outputs, parse_outputs, push_targets
from dockyard.exporters.metadata import build_ref
from dockyard.exporters.output import DockerOutput, ImageOptions, ImageOutput, OciOutput, Output
from dockyard.oci.annotations import merged
from dockyard.oci.descriptor import Descriptor
from dockyard.phases.attest import Attestor, for_build
from dockyard.phases.deliver import Delivery, deliver, prepare
from dockyard.phases.request import BuildOptions, source_date_epoch
from dockyard.phases.result import BuildResult
from dockyard.platform import Platform, parse_platforms
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.registry.hosts import HostsConfig
from dockyard.registry.watch import DEFAULT_PUSH_TIMEOUT

if TYPE_CHECKING:  # cryptography loads only for a signed build
    from dockyard.signing.request import Signing

Report = Callable[[str], None]


class DeliveryGate(Protocol):
    """Runs before delivery with the final result; raises to stop it; returns metadata keys to add."""

    def __call__(self, result: BuildResult, delivery: Delivery, *,
                 metadata_extra: Mapping[str, Any]) -> Mapping[str, Any]: ...


@dataclass(frozen=True, kw_only=True)
class BuildCall:
    """A whole ``dockyard build``: the build, where it goes, and on which builder.

    ``options.jobs`` and ``options.root`` are the builder's (left unset here); ``push_everywhere``
    False keeps nodes from pushing before the gate passed (they hand every blob back instead).
    """

    options: BuildOptions
    delivery: Delivery
    builder: str | None = None
    placement: Placement | None = None
    push_timeout: float | None = DEFAULT_PUSH_TIMEOUT
    attestors: tuple[Attestor, ...] = ()
    gate: DeliveryGate | None = None
    early_push: bool = True  # nodes may push by digest while building (no gate to wait for)
    registry_ca: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)  # more CA files per registry host


@dataclass(frozen=True)
class BuildOutcome:
    """What :func:`dockyard.build` made: ``digest`` of the image (an index for several platforms),
    its ``platforms``, buildx's ``metadata`` keys (as ``--metadata-file`` writes them), and what was pushed."""

    digest: str
    descriptor: Descriptor
    platforms: tuple[str, ...]
    metadata: dict[str, Any]
    pushed: tuple[str, ...]
    result: BuildResult = field(repr=False)


def run_build(call: BuildCall, *, listener: progress.Listener | None = None, report: Report | None = None,
              built: Callable[[bool], None] | None = None,
              with_client: Callable[[Client], None] | None = None) -> BuildOutcome:
    """Run ``call`` (see the module docstring); ``report`` gets one line per notable step (pushes, GC);
    ``built(ok)`` is called when the build itself ends, before the gate and delivery (a renderer closes);
    ``with_client`` runs first with the build's registry client (the CLI's Dockerfile check reads bases)."""
    say = report or (lambda _line: None)
    prepare(call.delivery)
    from dockyard.builders.instances import current_builder

    chosen = current_builder(call.builder).ensure_booted()
    wanted = list(call.options.platforms) or [Platform.host()]
    try:
        chosen.assign(wanted, placement=call.placement)
    except UsageError:
        # the record may be stale (a probe that failed under load, binfmt lost in a reboot): check again
        chosen = chosen.bootstrap(local_only=True)
        chosen.assign(wanted, placement=call.placement)
    targets = push_targets(call.delivery.outputs)
    # registry.insecure=true (BuildKit's push option): HTTPS without verification, or plain HTTP
    insecure = frozenset(t.reference.registry for t in targets if t.insecure)
    hosts = HostsConfig.load(insecure=insecure).with_hosts(chosen.config.registries).with_ca(call.registry_ca)
    from dockyard.remote.dispatch import build_on_nodes

    with chosen.in_use(), Client(hosts=hosts, push_timeout=call.push_timeout, on_wait=say) as shared:
        import dataclasses

        client = shared.for_build()  # the check, the build and the push see each base tag resolved once
        client.connect_early(t.reference.api_host for t in targets)  # the push registries, during the build
        if with_client is not None:
            with_client(client)
        ok = False
        try:
            farm = build_on_nodes(
                chosen, dataclasses.replace(call.options, jobs=chosen.jobs()),
                placement=call.placement, push=[t.reference for t in targets] if call.early_push else [],
                fetch_blobs=bool(file_outputs(call.delivery.outputs)) or not call.early_push,
                client=client, listener=listener, say=say, attestors=call.attestors)
            ok = True
        finally:
            if built is not None:
                built(ok)
        result = farm.result
        nodes = {platform_label(p): {"node": where.node, "endpoint": where.endpoint, "emulated": where.emulated,
                                     **({"skipped": list(where.skipped)} if where.skipped else {})}
                 for p, where in farm.placed.items()}
        first_node = next(iter(farm.placed.values())).node if farm.placed else chosen.name
        extra: dict[str, Any] = {"dockyard.nodes": nodes, "buildx.build.ref": build_ref(chosen.name, first_node)}
        if call.gate is not None:
            extra.update(call.gate(result, call.delivery, metadata_extra=extra))
        delivered = deliver(result, call.delivery, client=client, report=say, metadata_extra=extra)
    removed, freed = chosen.collect_garbage()
    if removed:
        from dockyard.store.gc import human

        say(f"automatic GC: removed {removed} cache records ({human(freed)})")
    return BuildOutcome(digest=str(result.descriptor.digest), descriptor=result.descriptor,
                        platforms=tuple(str(p) for p in result.images), metadata=delivered.metadata,
                        pushed=delivered.pushed, result=result)


def make_call(spec: BuildSpec, *, report: Report, password: Callable[[], bytes | None]) -> BuildCall:
    """The library's request for ``spec``: the one path from ``dockyard build``'s flags and
    :func:`build`'s arguments alike. Every value is checked here, before anything is built (a typo
    fails in a second, not after a build), in a fixed order; ``report`` gets the release step's
    warnings, ``password`` is asked for ``--sign``'s key only once the spec has a registry output."""
    from dockyard.api.release import plan

    release = plan(spec.context, spec.release, labels=spec.labels, platforms=len(spec.platforms), report=report)
    names = release.names
    outputs = parse_outputs(spec.outputs, tags=names.tags, push=spec.push, load=spec.load)
    secrets = tuple(parse_secret(s) for s in spec.secrets)
    image = _image_options(outputs)
    attest = _attest_request(spec.attest, provenance=spec.provenance, sbom=spec.sbom, storage=spec.attest_storage,
                            outputs=outputs)
    signed = _signing(spec.sign, outputs, password=password)
    delivery = Delivery(outputs=outputs, tags=names.tags, metadata_file=spec.metadata_file, iidfile=spec.iidfile,
                        push_retry=release.push_retry, sign_key=signed.key if signed else None,
                        sign_format=signed.form if signed else "classic")
    _check_rewrite_timestamp(image, report=report)
    options = _build_options(
        BuildOptions(context=spec.context, dockerfile=spec.dockerfile, platforms=spec.platforms,
                     build_args=spec.build_args, target=spec.target, labels=names.labels, secrets=secrets,
                     no_cache=spec.no_cache, no_cache_filter=spec.no_cache_filter,
                     annotations=names.annotations, base_annotations=names.base_annotations),
        ssh=spec.ssh, cache_from=spec.cache_from, cache_to=spec.cache_to, image=image)
    made = _attestor(attest, options, tags=names.tags)
    return BuildCall(
        options=options, delivery=delivery, builder=spec.builder,
        placement=Placement.parse(spec.placement) if spec.placement is not None else None,
        push_timeout=_push_timeout(spec.push_timeout), attestors=(made,) if made else (),
        # with gates, nothing may reach a registry before they pass: nodes hand every blob back
        gate=release.delivery_gate(), early_push=release.early_push, registry_ca=spec.registry_ca,
    )


def _check_rewrite_timestamp(image: ImageOptions, *, report: Report) -> None:
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
        report("WARNING: rewrite-timestamp is specified, but no source-date-epoch was found")


def _image_options(outputs: Sequence[Output]) -> ImageOptions:
    """The image options of the outputs that carry some (buildx lets them agree; the first wins)."""
    for out in outputs:
        if isinstance(out, OciOutput | DockerOutput | ImageOutput):
            return out.image
    return ImageOptions()


def _build_options(given: BuildOptions, *, ssh: Sequence[str], cache_from: Sequence[str], cache_to: Sequence[str],
                  image: ImageOptions) -> BuildOptions:
    """``given`` completed from the spec's values (:func:`make_call`): the
    ``--ssh`` agent sockets found, ``--cache-from``/``--cache-to`` parsed, the outputs' image
    options (media types, compression, their annotations after ``given``'s) and SOURCE_DATE_EPOCH."""
    return replace(
        given, ssh=_ssh_sockets(ssh), oci_mediatypes=image.oci_mediatypes, compression=image.compression,
        compression_level=image.compression_level, force_compression=image.force_compression,
        source_date_epoch=source_date_epoch(), cache_from=tuple(parse_cache_from(s) for s in cache_from),
        cache_to=tuple(parse_cache_to(s) for s in cache_to), annotations=merged(given.annotations, image.annotations))


def _attest_request(attest: Sequence[str], *, provenance: str | None, sbom: str | None, storage: str | None,
                   outputs: Sequence[Output]) -> AttestOptions:
    """``--attest``, ``--provenance``, ``--sbom`` and ``--attest-storage`` as one request, checked
    against the outputs before anything is built (referrers live in a registry only)."""
    wanted = attest_options.parse(attest, provenance=provenance, sbom=sbom, storage=storage)
    if wanted.wanted and wanted.storage is Storage.REFERRERS and file_outputs(outputs):
        raise UsageError("--attest-storage=referrers stores attestations in a registry only",
                         hint="push with --push, or keep the default --attest-storage=index for file outputs")
    return wanted


def _attestor(wanted: AttestOptions, options: BuildOptions, *, tags: Sequence[str]) -> Attestor | None:
    """The attest hook for ``wanted`` (None: nothing to attest); provenance records ``options``' invocation."""
    if not wanted.wanted:
        return None
    return for_build(wanted, context=options.context, dockerfile=options.dockerfile or options.context / "Dockerfile",
                     build_args=options.build_args, labels=options.labels, target=options.target,
                     secret_ids=tuple(s.id for s in options.secrets), ssh_ids=tuple(options.ssh),
                     name=Reference.parse(tags[0]) if tags else None,
                     source_date_epoch=options.source_date_epoch, oci=options.oci_mediatypes)


def _signing(spec: str | None, outputs: Sequence[Output], *, password: Callable[[], bytes | None]) -> Signing | None:
    """``--sign key=PATH[,format=F]``: the key loaded before the build (a wrong password fails in a
    second, not after it); ``password`` is asked only once the spec has a registry output to sign."""
    if spec is None:
        return None
    if not push_targets(outputs):
        raise UsageError("--sign signs what is pushed: there is no registry output", hint="add --push")
    from dockyard.signing.request import parse

    return parse(spec, password=password())


def _push_timeout(value: str | float | None) -> float | None:
    """``--push-timeout``: a duration (90s, 10m, 1h) or seconds; 0 turns the limit off, None keeps the default."""
    if value is None:
        return DEFAULT_PUSH_TIMEOUT
    if not isinstance(value, str):
        return float(value) or None
    from dockyard.store.gc import parse_duration

    try:
        seconds = float(value) if value.replace(".", "", 1).isdigit() else parse_duration(value)
    except UsageError:
        raise UsageError(f"invalid --push-timeout {value!r}", hint="e.g. 90s, 10m or 1h; 0 for no limit") from None
    return seconds or None


def _ssh_sockets(values: Sequence[str]) -> dict[str, str]:
    """``--ssh default|ID[=SOCKET]``: each id's agent socket (``$SSH_AUTH_SOCK`` when not given)."""
    out = {}
    for item in values:
        ident, _, path = item.partition("=")
        sock = path or os.environ.get("SSH_AUTH_SOCK", "")
        if not sock:
            raise UsageError(f"--ssh {item}: no agent socket",
                             hint="start ssh-agent, or pass --ssh default=/path/to/sock")
        out[ident or "default"] = sock
    return out


def build(context: str | os.PathLike[str] = ".", *, file: str | os.PathLike[str] | None = None,
          platforms: str | Sequence[str] = (), tags: str | Sequence[str] = (), push: bool = False,
          outputs: str | Sequence[str] = (), build_args: Mapping[str, str] | None = None, target: str | None = None,
          labels: Mapping[str, str] | None = None, secrets: str | Sequence[str] = (), ssh: str | Sequence[str] = (),
          no_cache: bool = False, no_cache_filter: str | Sequence[str] = (), cache_from: str | Sequence[str] = (),
          cache_to: str | Sequence[str] = (), metadata_file: str | os.PathLike[str] | None = None,
          iidfile: str | os.PathLike[str] | None = None, builder: str | None = None,
          progress: progress.Listener | None = None, load: bool = False, annotations: str | Sequence[str] = (),
          push_timeout: str | float | None = None, push_retry: int = 0, placement: str | None = None,
          attest: str | Sequence[str] = (), provenance: str | bool | None = None, sbom: str | bool | None = None,
          attest_storage: str | None = None, sign: str | None = None, gates: str | Sequence[str] = (),
          gate_mode: str | None = None, gate_policy: str | os.PathLike[str] | None = None,
          tags_from_git: bool = False, tag_specs: str | Sequence[str] = (), flavor: str | Sequence[str] = (),
          no_default_labels: bool = False,
          registry_ca: arguments.CaFiles | None = None,
          ) -> BuildOutcome:
    """Build an image from a Dockerfile and a context, as ``dockyard build`` (buildx's flags, same names).

    Arguments are plain values, converted once: ``context`` and ``file`` (the Dockerfile,
    default ``context/Dockerfile``) are paths; ``platforms`` (``"linux/amd64"`` or a list),
    ``tags``, ``outputs`` (``-o`` syntax: ``"type=oci,dest=out.tar"``), ``secrets``
    (``"id=tok,src=token.txt"``), ``ssh`` (``"default"``), ``no_cache_filter``, ``cache_from`` and
    ``cache_to`` (``"type=registry,ref=..."``) are strings or lists of strings; ``build_args``
    and ``labels`` are dicts; ``push`` and ``no_cache`` booleans; ``metadata_file`` and
    ``iidfile`` paths; ``builder`` a builder name (default: the one in use). ``progress`` is
    called with each typed :mod:`dockyard.progress` event (steps started, cached, logs, done,
    failed, and :class:`~dockyard.progress.Notice` lines such as pushes). ``load`` is
    ``outputs="type=docker"``; ``annotations`` take ``--annotation`` values
    (``"index,manifest:KEY=VALUE"``); ``push_timeout`` is seconds or a duration (``"10m"``; 0: no
    limit); ``push_retry`` retries a failed push that many times (0-10); ``placement`` is
    ``"native-only"``, ``"prefer-native"`` or ``"any"``. ``attest`` takes ``--attest`` values
    (``"type=provenance,mode=max"``, ``"type=sbom"``); ``provenance`` and ``sbom`` are their
    shorthands (``True``, ``False`` or the flag's value, e.g. ``provenance="mode=max"``);
    ``attest_storage`` is ``"index"`` (default) or ``"referrers"``. ``sign``
    (``"key=cosign.key[,format=bundle]"``) signs what is pushed, the key's password read from
    ``COSIGN_PASSWORD``. ``gates`` (``["max-size=200MB"]``), ``gate_mode`` (``"enforce"``
    or ``"warn"``) and ``gate_policy`` (a file; default ``.dockyard/gates.toml`` or
    ``dockyard.toml`` in the context) are the quality gates checked before anything is delivered.
    ``tags_from_git`` names the release from git and the CI environment, as
    docker/metadata-action does (:func:`dockyard.meta`): each name in ``tags`` without a tag gets
    every computed tag (``registry.example/app`` -> ``:1.2.3``, ``:1.2``, ``:1``, ``:latest``,
    ``:sha-860c190``), the standard ``org.opencontainers.image.*`` labels and annotations are added
    (``labels`` and ``annotations`` win), and ``metadata_file`` gets ``dockyard.release``;
    ``tag_specs`` (metadata-action's tag lines), ``flavor`` (``"latest=false"``) and
    ``no_default_labels`` are its options; warnings go to ``progress`` as notices.
    ``registry_ca`` adds CA files to trust per registry host (``{"reg.example:5000": "ca.pem"}``, as
    ``dockyard --registry-ca HOST=FILE``; registries.toml, certs.d and ``SSL_CERT_FILE`` apply too).

    Returns a :class:`BuildOutcome` (``digest``, ``platforms``, ``metadata``, ``pushed``).
    Raises :class:`~dockyard.errors.DockyardError` subclasses (``.hint`` says what to do):
    :class:`~dockyard.errors.ArgumentError` for a wrong argument type, ``DockerfileError``,
    ``BuildError``, ``RegistryError``...; a tag never names an image whose parts are not all pushed.
    """
    context_dir = arguments.path("context", context)
    assert context_dir is not None
    if not context_dir.is_dir():
        raise ArgumentError(f"build context {str(context_dir)!r} is not a directory",
                            hint="pass the directory holding your sources, e.g. dockyard.build('.')")
    wanted: list[Platform] = []
    for text in arguments.strings("platforms", platforms):
        wanted += [p for p in parse_platforms(text) if p not in wanted]
    if progress is not None and not callable(progress):
        raise ArgumentError(f"progress must be a callable taking one event, not {type(progress).__name__}")
    spec = BuildSpec(
        context=context_dir, file=arguments.path("file", file, optional=True), platforms=tuple(wanted),
        build_args=arguments.mapping("build_args", build_args), target=arguments.text("target", target),
        labels=arguments.mapping("labels", labels), secrets=arguments.strings("secrets", secrets),
        ssh=arguments.strings("ssh", ssh), outputs=arguments.strings("outputs", outputs),
        push=arguments.flag("push", push), load=arguments.flag("load", load),
        push_timeout=_push_timeout_argument(push_timeout), no_cache=arguments.flag("no_cache", no_cache),
        no_cache_filter=arguments.strings("no_cache_filter", no_cache_filter),
        cache_from=arguments.strings("cache_from", cache_from), cache_to=arguments.strings("cache_to", cache_to),
        metadata_file=arguments.path("metadata_file", metadata_file, optional=True),
        iidfile=arguments.path("iidfile", iidfile, optional=True), builder=arguments.text("builder", builder),
        placement=arguments.text("placement", placement), attest=arguments.strings("attest", attest),
        provenance=arguments.switch("provenance", provenance), sbom=arguments.switch("sbom", sbom),
        attest_storage=arguments.text("attest_storage", attest_storage), sign=arguments.text("sign", sign),
        registry_ca=arguments.files_by_host("registry_ca", registry_ca),
        release=ReleaseRequest(
            tags=arguments.strings("tags", tags), tags_from_git=arguments.flag("tags_from_git", tags_from_git),
            tag_specs=arguments.strings("tag_specs", tag_specs), flavor=arguments.strings("flavor", flavor),
            default_labels=not arguments.flag("no_default_labels", no_default_labels),
            annotations=arguments.strings("annotations", annotations), gates=arguments.strings("gates", gates),
            gate_mode=arguments.text("gate_mode", gate_mode),
            gate_policy=arguments.path("gate_policy", gate_policy, optional=True),
            push_retry=arguments.count("push_retry", push_retry, most=10)))
    listener = progress
    say: Report = (lambda line: listener(_progress_notice(line))) if listener is not None else (lambda _line: None)
    return run_build(make_call(spec, report=say, password=_environment_password), listener=listener, report=say)


def _environment_password() -> bytes | None:
    """``sign``'s key password: COSIGN_PASSWORD (the library never prompts)."""
    from dockyard.signing.keys import environment_password

    return environment_password()


def _push_timeout_argument(value: object) -> str | float | None:
    """``push_timeout`` as the API takes it: seconds (a number) or a duration string, None: the default."""
    if value is None or isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    raise ArgumentError(f"push_timeout must be seconds or a duration string, not {type(value).__name__}",
                        hint='e.g. push_timeout="10m" or push_timeout=600')


def _progress_notice(line: str) -> progress.Notice:
    """A report line (a push, a warning) as a typed progress event."""
    from dockyard import progress as events

    return events.Notice(vertex="", message=line)
