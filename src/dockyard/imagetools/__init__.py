"""``imagetools``: work on images that are already in registries, without building.

The API (re-exported as ``dockyard.imagetools``): :func:`inspect` (what a reference names,
per platform, with each platform's config and attestations), :func:`create` (merge images
and indexes into one index, copying blobs between repositories and registries, pushed under
every tag; or, with ``from_``, copy one release unchanged to other registries) and
:func:`import_` (a multi-platform base image from root filesystem tarballs). The modules
behind them: ``inspection``, ``combine``, ``mirror`` (``create --from``) and ``importer``. The
CLI (``dockyard.cli.imagetools``) parses options and calls these three functions.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard import arguments
from dockyard.errors import ArgumentError, UsageError

if TYPE_CHECKING:
    from dockyard.imagetools.inspection import Inspection
    from dockyard.oci.descriptor import Descriptor
    from dockyard.oci.index import Index
    from dockyard.progress import Listener
    from dockyard.reference import Reference
    from dockyard.registry.client import Client

__all__ = ["Created", "create", "import_", "inspect"]

def _client(insecure: object, registry_ca: object, say: Callable[[str], None] | None = None, *,
            blobs: bool = True) -> Client:
    """The registry client of one call: registries.toml and certs.d, ``insecure`` hosts, more CA
    files per host, and ``say`` (a line for a registry slow to answer; with ``blobs``, per blob copied)."""
    from dockyard.registry.client import Client
    from dockyard.registry.hosts import HostsConfig

    hosts = HostsConfig.load(insecure=frozenset(arguments.strings("insecure", insecure)))
    hosts = hosts.with_ca(arguments.files_by_host("registry_ca", registry_ca))
    if say is None:
        return Client(hosts=hosts)
    line = say

    def copied(status: str, desc: Descriptor) -> None:
        line(f"{status:>9} {desc.digest.short}")

    return Client(hosts=hosts, progress=copied if blobs else None, on_wait=say)


def _notices(progress: object) -> Callable[[str], None] | None:
    """Report lines as :class:`~dockyard.progress.Notice` events for ``progress`` (None: dropped)."""
    if progress is None:
        return None
    if not callable(progress):
        raise ArgumentError(f"progress must be a callable taking one event, not {type(progress).__name__}")
    from dockyard.progress import Notice

    listener = progress
    return lambda line: listener(Notice(vertex="", message=line))


def inspect(ref: str, *, details: bool = True, insecure: str | Sequence[str] = (),
            registry_ca: arguments.CaFiles | None = None, progress: Listener | None = None) -> Inspection:
    """What ``ref`` names: the top document (``raw`` bytes, as ``--raw`` prints them;
    ``descriptor``, index ``entries``), each platform's image (``images``: manifest and config)
    and attestations (``attested``): everything ``--format json`` prints.

    ``insecure`` lists registries (``HOST[:PORT]``) reached over plain HTTP or unverified TLS;
    ``registry_ca`` adds CA files per registry host (``--registry-ca``); ``progress`` gets a
    :class:`~dockyard.progress.Notice` when a registry is slow to answer.
    """
    from dockyard.imagetools.inspection import inspect as run
    from dockyard.reference import Reference
    from dockyard.store.content import ContentStore

    name = arguments.text("ref", ref, optional=False)
    assert name is not None
    with _client(insecure, registry_ca, _notices(progress), blobs=False) as client:
        return run(client, Reference.parse(name), store=ContentStore.default(),
                   details=arguments.flag("details", details))


@dataclass(frozen=True)
class Created:
    """The index :func:`create` made; ``digest`` is None with ``dry_run`` (nothing was pushed).
    With ``from_``, ``index`` is None (the source was copied as it is) and ``digest`` is its digest."""

    index: Index | None
    digest: str | None


def create(sources: str | Sequence[str] = (), *, tags: str | Sequence[str], append: bool = False,
           platforms: str | Sequence[str] = (), dry_run: bool = False, from_: str | None = None,
           push_retry: int = 0, insecure: str | Sequence[str] = (), registry_ca: arguments.CaFiles | None = None,
           progress: Listener | None = None) -> Created:
    """Merge ``sources`` (references to images or indexes) into one index pushed under every tag,
    or copy ``from_`` unchanged to every tag.

    The flags are buildx's and ``dockyard imagetools create``'s: ``tags`` (one or more targets;
    blobs are copied to them first, the index next, tags last), ``append`` (add to the index the
    first tag names), ``platforms`` (keep only these), ``dry_run`` (return the index without
    pushing anything). ``from_`` (``--from REF``; ``from`` is a Python keyword) copies what REF
    names byte for byte, so every registry serves the same digest: mirroring a release to other
    regions; every target gets all blobs and manifests by digest, the digest is verified in each,
    and only then do tags move; ``push_retry`` (0-10, with ``from_`` only) retries a failed
    registry. ``insecure`` and ``registry_ca`` as for :func:`inspect`; ``progress`` gets a
    :class:`~dockyard.progress.Notice` per blob copied and per retry.
    """
    from dockyard.reference import Reference
    from dockyard.store.content import ContentStore

    targets = [Reference.parse(t) for t in arguments.strings("tags", tags)]
    if not targets:
        raise ArgumentError("create needs at least one tag", hint='e.g. tags=["registry.example/app:1"]')
    refs, wanted = arguments.strings("sources", sources), arguments.strings("platforms", platforms)
    source, retries = arguments.text("from_", from_), arguments.count("push_retry", push_retry, most=10)
    joined, trial = arguments.flag("append", append), arguments.flag("dry_run", dry_run)
    say = _notices(progress)
    if source is not None:
        if refs or joined or wanted or trial:
            raise UsageError("--from copies one image unchanged: it takes no SOURCE, --append, --platform or "
                             "--dry-run", hint="use either --from REF or SOURCE...")
        from dockyard.imagetools.mirror import mirror

        warn = say or (lambda _line: None)
        with _client(insecure, registry_ca, say, blobs=False) as client:
            desc = mirror(client, Reference.parse(source), targets, store=ContentStore.default(), retries=retries,
                          notify=lambda message: warn(f"WARNING: {message}"))
        return Created(None, str(desc.digest))
    if retries:
        raise UsageError("--push-retry is for --from", hint="create SOURCE... pushes once")
    return _combine(refs, targets, platforms=wanted, append=joined, dry_run=trial,
                    client=_client(insecure, registry_ca, None if trial else say))


def _combine(sources: Sequence[str], targets: Sequence[Reference], *, platforms: Sequence[str], append: bool,
             dry_run: bool, client: Client) -> Created:
    from dockyard.imagetools import combine
    from dockyard.platform import Platform, parse_platforms
    from dockyard.store.content import ContentStore

    refs = [combine.parse_source(s, targets) for s in sources]
    wanted: list[Platform] = []
    for text in platforms:
        wanted += [p for p in parse_platforms(text) if p not in wanted]
    store = ContentStore.default()
    with client:
        plan = combine.plan(client, refs, store=store, platforms=wanted, append=targets[0] if append else None)
        if dry_run:
            return Created(plan.index, None)
        desc = combine.push(client, plan, targets, store=store)
    return Created(plan.index, str(desc.digest))


def _argv(name: str, value: object) -> tuple[str, ...] | None:
    """``cmd``/``entrypoint``: a list of strings, or text as ``--cmd`` takes it (a JSON array, as in
    a Dockerfile, or shell words)."""
    if value is None:
        return None
    if not isinstance(value, str):
        return arguments.strings(name, value)
    if value.lstrip().startswith("["):
        import json

        try:
            parsed = json.loads(value)
        except ValueError:
            raise UsageError(f"invalid JSON array {value!r}") from None
        if not isinstance(parsed, list) or not all(isinstance(a, str) for a in parsed):
            raise UsageError(f"{value!r} must be a JSON array of strings")
        return tuple(parsed)
    import shlex

    return tuple(shlex.split(value))


def _rootfs_pairs(value: object) -> list[tuple[str, str]]:
    """``platforms`` as (platform, tarball) pairs: ``{"linux/arm64": "rootfs.tar"}`` or ``PLATFORM=ROOTFS.tar``."""
    if isinstance(value, Mapping):
        pairs = [(k, os.fspath(v)) for k, v in value.items()
                 if isinstance(k, str) and isinstance(v, str | os.PathLike)]
        if len(pairs) == len(value):
            return pairs
        raise ArgumentError("platforms must map platform names to root filesystem tarballs",
                            hint='e.g. platforms={"linux/arm64": "rootfs-arm64.tar"}')
    out = []
    for pair in arguments.strings("platforms", value):
        plat, sep, path = pair.partition("=")
        if not sep or not path:
            raise UsageError(f"--platform {pair!r} needs PLATFORM=ROOTFS.tar", hint="e.g. linux/arm64=rootfs.tar")
        out.append((plat, path))
    return out


def import_(platforms: Mapping[str, str | os.PathLike[str]] | str | Sequence[str], *, tags: str | Sequence[str],
            cmd: str | Sequence[str] | None = None, entrypoint: str | Sequence[str] | None = None,
            env: Mapping[str, str] | str | Sequence[str] = (), workdir: str | None = None,
            insecure: str | Sequence[str] = (), registry_ca: arguments.CaFiles | None = None) -> Created:
    """Make a multi-platform base image from root filesystem tarballs and push it under every tag,
    as ``dockyard imagetools import`` (``import`` is a Python keyword, hence ``import_``).

    ``platforms`` maps each platform to its tarball (``{"linux/arm64": "rootfs.tar"}``, or
    ``--platform`` lines ``"linux/arm64=rootfs.tar"``); ``cmd`` (default ``sh``) and
    ``entrypoint`` are lists or ``--cmd`` text (a JSON array or shell words); ``env`` is a dict or
    ``KEY=VALUE`` lines (a default ``PATH`` unless given); ``workdir`` the working directory.
    Set ``SOURCE_DATE_EPOCH`` for reproducible digests. Returns :class:`Created` (``index`` None).
    """
    from dockyard.imagetools import importer
    from dockyard.platform import Platform
    from dockyard.reference import Reference
    from dockyard.store.content import ContentStore

    rootfs = [(Platform.parse(plat), Path(path)) for plat, path in _rootfs_pairs(platforms)]
    if isinstance(env, Mapping):
        pairs = tuple(f"{k}={v}" for k, v in arguments.mapping("env", env).items())
    else:
        pairs = arguments.strings("env", env)
    for item in pairs:
        if "=" not in item:
            raise UsageError(f"--env {item!r} needs KEY=VALUE")
    keys = {e.partition("=")[0] for e in pairs}
    environment = tuple(e for e in (importer.DEFAULT_PATH,) if e.partition("=")[0] not in keys) + pairs
    argv = _argv("cmd", cmd)
    options = importer.ImportOptions(cmd=("sh",) if argv is None else argv, entrypoint=_argv("entrypoint", entrypoint),
                                     env=environment, working_dir=arguments.text("workdir", workdir))
    targets = [Reference.parse(t) for t in arguments.strings("tags", tags)]
    if not targets:
        raise ArgumentError("import needs at least one tag", hint='e.g. tags=["registry.example/base:1"]')
    store = ContentStore.default()
    desc = importer.import_index(rootfs, store, options=options)
    with _client(insecure, registry_ca) as client:
        for target in targets:
            client.push(target, desc, store)
    return Created(None, str(desc.digest))
