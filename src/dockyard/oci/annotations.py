"""Annotations an export asks for, and which document of the image each one lands on.

buildx passes ``-o ...,annotation.KEY=V`` (and ``--annotation``) to BuildKit's image exporter,
which parses the keys with exporter/containerimage/exptypes/annotations.go
``ParseAnnotationKey``: ``annotation[-TYPE][\\[PLATFORM\\]].KEY``, where TYPE is ``manifest``
(the default), ``manifest-descriptor``, ``index`` or ``index-descriptor``, and PLATFORM limits a
manifest annotation to one platform. Manifest annotations go into each platform's manifest,
manifest-descriptor ones onto its entry in the index, index ones into the index; a
single-platform result has no index, and index annotations are then an error, as in BuildKit's
writer ("index annotations not supported for single platform export").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dockyard.errors import UsageError
from dockyard.platform import Platform

_KEY = re.compile(r"^annotation(?:-([a-z-]+))?(?:\[([A-Za-z0-9_/-]+)\])?\.(\S+)$")
_TYPES = ("manifest", "manifest-descriptor", "index")


@dataclass(frozen=True)
class Annotation:
    """One ``annotation...`` exporter key: where it goes, for which platform (None: all), key and value."""

    kind: str
    platform: Platform | None
    key: str
    value: str


@dataclass(frozen=True)
class ExportAnnotations:
    """Every annotation of one export, in the order given."""

    items: tuple[Annotation, ...] = ()

    def for_platform(self, kind: str, platform: Platform) -> dict[str, str]:
        """The ``manifest`` or ``manifest-descriptor`` annotations for ``platform``'s image."""
        return {a.key: a.value for a in self.items
                if a.kind == kind and (a.platform is None or a.platform.same(platform))}

    @property
    def index(self) -> dict[str, str]:
        return {a.key: a.value for a in self.items if a.kind == "index"}


def is_annotation_key(key: str) -> bool:
    """True for the keys :func:`parse` reads (anything starting ``annotation`` and holding a dot)."""
    return key.startswith("annotation") and "." in key


def parse(attrs: Mapping[str, str], *, where: str) -> ExportAnnotations:
    """The annotation keys of ``attrs`` (other keys are left alone); ``where`` names the option in errors."""
    items: list[Annotation] = []
    for raw, value in attrs.items():
        if not raw.startswith("annotation"):
            continue
        found = _KEY.match(raw)
        if found is None:
            raise UsageError(f"invalid {where}: {raw!r} is not an annotation key",
                             hint="use annotation.KEY=V, annotation-index.KEY=V, annotation-manifest.KEY=V or "
                                  "annotation-manifest-descriptor.KEY=V")
        kind, plat, key = found.group(1) or "manifest", found.group(2), found.group(3)
        if kind == "index-descriptor":
            raise UsageError(f"invalid {where}: {raw!r}: index-descriptor annotations are not supported",
                             hint="dockyard writes no descriptor of the index anywhere they could go; "
                                  "use annotation-index. to annotate the index itself")
        if kind not in _TYPES:
            raise UsageError(f"invalid {where}: unrecognized annotation type {kind}",
                             hint="types: " + ", ".join(_TYPES))
        if plat is not None and kind == "index":
            raise UsageError(f"invalid {where}: {raw!r}: an index annotation cannot name a platform",
                             hint="name platforms on annotation-manifest[...] keys")
        platform = None
        if plat is not None:
            try:
                platform = Platform.parse(plat)
            except UsageError as exc:
                raise UsageError(f"invalid {where}: {raw!r}: {exc.message}", hint=exc.hint) from None
        items.append(Annotation(kind, platform, key, value))
    return ExportAnnotations(tuple(items))


_CLI = re.compile(r"^(?:(?P<types>[a-z-]+(?:,[a-z-]+)*)?(?:\[(?P<platform>[A-Za-z0-9_/-]+)\])?:)?"
                  r"(?P<key>[^=]+)=(?P<value>.*)$", re.S)


def parse_cli(values: Sequence[str]) -> ExportAnnotations:
    """buildx's ``--annotation [TYPE[,TYPE...]][[PLATFORM]]:KEY=VALUE`` values, as the exporter keys
    buildx turns them into (``index,manifest:k=v`` is ``annotation-index.k`` and ``annotation-manifest.k``;
    no TYPE is ``annotation.k``, a manifest annotation)."""
    items: list[Annotation] = []
    for text in values:
        found = _CLI.match(text)
        if found is None or not found.group("key").strip():
            raise UsageError(f"invalid --annotation {text!r}",
                             hint="use [TYPE[,TYPE]][[PLATFORM]]:KEY=VALUE, e.g. index,manifest:org.example.team=ci")
        platform = f"[{found.group('platform')}]" if found.group("platform") else ""
        types = found.group("types").split(",") if found.group("types") else [""]
        attrs = {f"annotation{'-' + t if t else ''}{platform}.{found.group('key').strip()}": found.group("value")
                 for t in types}
        items += parse(attrs, where=f"--annotation {text!r}").items
    return ExportAnnotations(tuple(items))


def merged(*groups: ExportAnnotations) -> ExportAnnotations:
    """One export's annotations from several sources; for a key on one level, a later group wins."""
    return ExportAnnotations(tuple(a for group in groups for a in group.items))


def standard(values: Mapping[str, str], *, index: bool) -> ExportAnnotations:
    """The same KEY -> VALUE pairs on every manifest, and on the index when there is one."""
    kinds = ("manifest", "index") if index else ("manifest",)
    return ExportAnnotations(tuple(Annotation(kind, None, k, v) for kind in kinds for k, v in values.items()))


BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"


def base_annotations(name: str, digest: str) -> dict[str, str]:
    """The image-spec's base-image annotations (annotations.md): ``name`` fully qualified
    (``docker.io/library/busybox:1.36``, no assumed registry) and the ``digest`` of the manifest
    it resolved to."""
    return {BASE_NAME: name, BASE_DIGEST: digest}
