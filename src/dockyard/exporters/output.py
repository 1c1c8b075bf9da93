"""``--output``/``-o`` values (and ``--push``, ``--load``, ``-t``) parsed into typed outputs.

The syntax is buildx's: a CSV line of ``key=value`` fields, so a value holding commas is
quoted (``-o 'type=image,"name=r/a:1,r/b:1",push=true'``); ``-o DIR`` is ``type=local``,
``-o -`` is ``type=tar`` to stdout, ``type=registry`` is ``type=image,push=true``. Unlike
BuildKit, which ignores attributes it does not know, an unknown key or type is an error with
a did-you-mean: a mistyped ``comression=zstd`` silently ignored would ship the wrong image.

``-t`` names are merged into every image-carrying output (image, oci, docker) after the
output's own ``name=`` names. ``--push`` sets ``push=true`` on the image outputs given, or adds
one. ``--load`` has no daemon to load into: it is refused with a hint (see :data:`LOAD_HINT`),
as is ``type=docker`` without ``dest``; dockyard writes the archive and ``podman load`` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from dockyard.errors import UsageError
from dockyard.oci.annotations import ExportAnnotations, is_annotation_key
from dockyard.oci.annotations import parse as parse_annotations
from dockyard.oci.layer import Compression
from dockyard.reference import Reference
from dockyard.suggest import suggest

LOAD_HINT = ("dockyard has no daemon to load into: write an archive with -o type=docker,dest=FILE "
             "(then `podman load -i FILE`) or an OCI layout with -o type=oci,dest=DIR")
NO_OUTPUT_WARNING = ("no output specified: the build result stays in the build cache only; "
                     "use --push, or -o type=oci|docker|local|tar,dest=...")

_TRUE = {"1", "t", "true", "yes", "on"}
_FALSE = {"0", "f", "false", "no", "off"}
_LEVELS = {Compression.GZIP: range(0, 10), Compression.ZSTD: range(1, 23), Compression.NONE: range(0, 1)}


@dataclass(frozen=True, kw_only=True)
class ImageOptions:
    """How the engine makes the image an output carries (layer compression, media types, times)."""

    oci_mediatypes: bool = True
    compression: Compression = Compression.GZIP
    compression_level: int | None = None
    force_compression: bool = False
    rewrite_timestamp: bool | None = None  # None: not given (see api/build.py `_check_rewrite_timestamp`)
    annotations: ExportAnnotations = field(default_factory=ExportAnnotations)


@dataclass(frozen=True, kw_only=True)
class LocalOutput:
    """The root filesystem unpacked into ``dest`` (one subdirectory per platform when split)."""

    dest: Path
    platform_split: bool | None = None  # None: split only when the result has several platforms


@dataclass(frozen=True, kw_only=True)
class TarOutput:
    """The root filesystem as a tar archive; ``dest`` None means stdout."""

    dest: Path | None
    platform_split: bool | None = None


@dataclass(frozen=True, kw_only=True)
class OciOutput:
    """An OCI image layout, as a tar archive (``tar=True``, ``dest`` None: stdout) or a directory."""

    dest: Path | None
    tar: bool = True
    names: tuple[str, ...] = ()
    image: ImageOptions = ImageOptions()


@dataclass(frozen=True, kw_only=True)
class DockerOutput:
    """A ``docker save`` style archive (``podman load``/``docker load``); ``dest`` None: stdout."""

    dest: Path | None
    names: tuple[str, ...] = ()
    image: ImageOptions = ImageOptions()


@dataclass(frozen=True, kw_only=True)
class ImageOutput:
    """The image kept in the store under ``names``; pushed to their registries when ``push``."""

    names: tuple[str, ...] = ()
    push: bool = False
    push_by_digest: bool = False
    insecure: bool = False
    image: ImageOptions = ImageOptions()


Output = LocalOutput | TarOutput | OciOutput | DockerOutput | ImageOutput
FileOutput = LocalOutput | TarOutput | OciOutput | DockerOutput


@dataclass(frozen=True, kw_only=True)
class PushTarget:
    """One repository to push to: ``reference`` (its tag, if any, is set last) plus more ``tags``."""

    reference: Reference
    tags: tuple[str, ...] = ()
    insecure: bool = False


_COMMON_IMAGE_KEYS = ("oci-mediatypes", "compression", "compression-level", "force-compression",
                      "rewrite-timestamp", "name")
_KEYS: dict[str, tuple[str, ...]] = {
    "local": ("dest", "platform-split"),
    "tar": ("dest", "platform-split"),
    "oci": ("dest", "tar", *_COMMON_IMAGE_KEYS),
    "docker": ("dest", *_COMMON_IMAGE_KEYS),
    "image": ("push", "push-by-digest", "registry.insecure", "insecure", *_COMMON_IMAGE_KEYS),
    "registry": ("push", "push-by-digest", "registry.insecure", "insecure", *_COMMON_IMAGE_KEYS),
}
_EXAMPLE = "e.g. -o type=oci,dest=out.tar or -o type=local,dest=out/"


def _bool(spec: str, key: str, value: str) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise UsageError(f"invalid --output {spec!r}: {key}={value!r} is not a boolean", hint=f"use {key}=true or false")


def _fields(spec: str) -> dict[str, str]:
    import csv  # only when --output is given

    try:
        rows = list(csv.reader([spec], skipinitialspace=False, strict=True))
    except csv.Error as exc:
        raise UsageError(f"invalid --output {spec!r}: {exc}", hint='quote values with commas: "name=a,b"') from None
    out: dict[str, str] = {}
    for part in rows[0] if rows else []:
        key, has_value, value = part.partition("=")
        key = key.strip()
        if not is_annotation_key(key):  # annotation keys keep their case, as in BuildKit
            key = key.lower()
        if not has_value or not key:
            raise UsageError(f"invalid --output {spec!r}: {part!r} is not key=value", hint=_EXAMPLE)
        if key in out:
            raise UsageError(f"invalid --output {spec!r}: {key} is given twice", hint="give each key once")
        out[key] = value
    return out


def _names(spec: str, value: str | None) -> tuple[str, ...]:
    names = tuple(n.strip() for n in (value or "").split(",") if n.strip())
    for name in names:
        try:
            Reference.parse(name)
        except UsageError as exc:
            raise UsageError(f"invalid --output {spec!r}: {exc.message}", hint=exc.hint) from None
    return names


def _check_tag(tag: str) -> None:
    """buildx checks each ``-t`` with reference.ParseNormalizedNamed: "invalid tag %q: ..."."""
    if not tag.strip():
        raise UsageError(f"invalid tag {tag!r}: invalid reference format", hint="e.g. -t 127.0.0.1:5000/app:v1")
    try:
        Reference.parse(tag)
    except UsageError as exc:
        raise UsageError(f"invalid tag {tag!r}: {exc.message}", hint=exc.hint) from None


def _image_options(spec: str, attrs: Mapping[str, str]) -> ImageOptions:
    compression = Compression.GZIP
    if "compression" in attrs:
        value = attrs["compression"].strip().lower()
        choices = [c.value for c in Compression]
        if value not in choices:
            hint = "estargz is not supported" if value == "estargz" else "use " + ", ".join(choices)
            raise UsageError(f"invalid --output {spec!r}: unknown compression {value!r}{suggest(value, choices)}",
                             hint=hint)
        compression = Compression(value)
    level = None
    if "compression-level" in attrs:
        text = attrs["compression-level"].strip()
        allowed = _LEVELS[compression]
        if not text.lstrip("-").isdigit() or int(text) not in allowed:
            raise UsageError(f"invalid --output {spec!r}: compression-level={text!r} for {compression.value}",
                             hint=f"use {allowed.start}..{allowed.stop - 1}")
        level = int(text)
    return ImageOptions(
        oci_mediatypes=_bool(spec, "oci-mediatypes", attrs["oci-mediatypes"]) if "oci-mediatypes" in attrs else True,
        compression=compression,
        compression_level=level,
        force_compression=_bool(spec, "force-compression", attrs.get("force-compression", "false")),
        rewrite_timestamp=_bool(spec, "rewrite-timestamp", attrs["rewrite-timestamp"])
        if "rewrite-timestamp" in attrs else None,
        annotations=parse_annotations(attrs, where=f"--output {spec!r}"),
    )


def _dest(spec: str, attrs: Mapping[str, str], kind: str, *, required: bool, stdout_ok: bool) -> Path | None:
    value = attrs.get("dest", "").strip()
    if not value:
        if required:
            raise UsageError(f"invalid --output {spec!r}: type={kind} needs dest=", hint=_EXAMPLE)
        return None
    if value == "-":
        if not stdout_ok:
            raise UsageError(f"invalid --output {spec!r}: type={kind} cannot write to stdout",
                             hint="use type=tar,dest=- for a tar stream")
        return None
    return Path(value)


def parse_output(spec: str) -> Output:
    """One ``-o`` value as a typed output; a UsageError (one line plus a hint) when it is wrong."""
    text = spec.strip()
    if not text:
        raise UsageError("empty --output value", hint=_EXAMPLE)
    if "=" not in text and "," not in text:
        return TarOutput(dest=None) if text == "-" else LocalOutput(dest=Path(text))
    attrs = _fields(text)
    kind = attrs.pop("type", "").strip().lower()
    if not kind:
        raise UsageError(f"invalid --output {spec!r}: type= is required", hint="types: " + ", ".join(_KEYS))
    if kind not in _KEYS:
        raise UsageError(f"invalid --output {spec!r}: unknown type {kind!r}{suggest(kind, list(_KEYS))}",
                         hint="types: " + ", ".join(_KEYS))
    allowed = _KEYS[kind]
    for key in attrs:
        if key not in allowed and not (is_annotation_key(key) and "name" in allowed):
            raise UsageError(f"invalid --output {spec!r}: type={kind} has no key {key!r}{suggest(key, allowed)}",
                             hint="keys: " + ", ".join(allowed))
    split = _bool(spec, "platform-split", attrs["platform-split"]) if "platform-split" in attrs else None
    if kind == "local":
        dest = _dest(spec, attrs, kind, required=True, stdout_ok=False)
        assert dest is not None
        return LocalOutput(dest=dest, platform_split=split)
    if kind == "tar":
        return TarOutput(dest=_dest(spec, attrs, kind, required=True, stdout_ok=True), platform_split=split)
    names = _names(spec, attrs.get("name"))
    image = _image_options(spec, attrs)
    if kind == "oci":
        tar = _bool(spec, "tar", attrs.get("tar", "true"))
        dest = _dest(spec, attrs, kind, required=True, stdout_ok=tar)
        return OciOutput(dest=dest, tar=tar, names=names, image=image)
    if kind == "docker":
        if not attrs.get("dest", "").strip():
            raise UsageError(f"invalid --output {spec!r}: type=docker needs dest=FILE", hint=LOAD_HINT)
        return DockerOutput(dest=_dest(spec, attrs, kind, required=True, stdout_ok=True), names=names, image=image)
    push = _bool(spec, "push", attrs["push"]) if "push" in attrs else kind == "registry"
    insecure = any(_bool(spec, k, attrs[k]) for k in ("registry.insecure", "insecure") if k in attrs)
    return ImageOutput(names=names, push=push, push_by_digest=_bool(spec, "push-by-digest",
                                                                    attrs.get("push-by-digest", "false")),
                       insecure=insecure, image=image)


def _with_tags(out: Output, tags: tuple[str, ...]) -> Output:
    if isinstance(out, LocalOutput | TarOutput) or not tags:
        return out
    merged = tuple(dict.fromkeys((*out.names, *tags)))
    return replace(out, names=merged)


def parse_outputs(values: Sequence[str], *, tags: Sequence[str] = (), push: bool = False,
                  load: bool = False) -> tuple[Output, ...]:
    """Every ``-o`` value plus ``--push``/``--load``, with ``-t`` names merged; empty: cache only.

    A pushing image output without any name is refused, as buildx does ("tag is needed").
    """
    if load:
        raise UsageError("--load needs a daemon to load into, and dockyard runs without one", hint=LOAD_HINT)
    for tag in tags:
        _check_tag(tag)
    outputs = [_with_tags(parse_output(v), tuple(tags)) for v in values]
    if push:
        if any(isinstance(o, ImageOutput) for o in outputs):
            outputs = [replace(o, push=True) if isinstance(o, ImageOutput) else o for o in outputs]
        else:
            outputs.append(ImageOutput(names=tuple(tags), push=True))
    for out in outputs:
        if isinstance(out, ImageOutput) and out.push and not out.names:
            raise UsageError("tag is needed when pushing to a registry", hint="add -t REGISTRY/REPO:TAG or name=")
    return tuple(outputs)


def push_targets(outputs: Sequence[Output]) -> tuple[PushTarget, ...]:
    """What to push, one target per repository (``Client.push(t.reference, desc, store, tags=t.tags)``).

    Names in the same repository share one push; ``push-by-digest`` pushes without tags.
    """
    targets: dict[tuple[str, str], PushTarget] = {}
    for out in outputs:
        if not (isinstance(out, ImageOutput) and out.push):
            continue
        for name in out.names:
            ref = Reference.parse(name)
            if out.push_by_digest:
                ref = replace(ref, tag=None, digest=None)
            key = (ref.registry, ref.repository)
            if key not in targets:
                targets[key] = PushTarget(reference=ref, insecure=out.insecure)
                continue
            have = targets[key]
            if ref.tag and ref.tag != have.reference.tag and ref.tag not in have.tags:
                targets[key] = replace(have, tags=(*have.tags, ref.tag), insecure=have.insecure or out.insecure)
    return tuple(targets.values())


def file_outputs(outputs: Sequence[Output]) -> tuple[FileOutput, ...]:
    """The outputs :func:`dockyard.exporters.export` writes (everything but image/registry)."""
    return tuple(o for o in outputs if not isinstance(o, ImageOutput))
