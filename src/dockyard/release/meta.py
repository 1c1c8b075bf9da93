"""Tags and OCI labels for a release, computed the way docker/metadata-action computes them.

Specs are applied highest priority first; the first tag made is the version (``main``), the
others are ``partial``; whether ``latest`` is added is decided by the first spec that made a
tag (``flavor latest=auto``: semver/pep440 releases that are not pre-releases, ``type=match``
and ``type=ref,event=tag``) unless the flavor forces it. A semver pre-release gives only its
full version. Every value gets the spec's prefix/suffix (or the flavor's) and is sanitized.
Warnings (a tag that is not a version, a pattern that did not match) are collected, not printed.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dockyard.errors import UsageError
from dockyard.reference import Reference
from dockyard.release import semver, template
from dockyard.release.gitcontext import GitContext
from dockyard.release.tagspec import Flavor, TagSpec, parse_flavor, parse_tag_specs, sanitize_tag

SHORT_SHA = 7


@dataclass(frozen=True)
class Version:
    main: str | None = None
    partial: tuple[str, ...] = ()
    latest: bool = False


@dataclass(frozen=True, kw_only=True)
class Meta:
    """The result: the version, the tags (per image, or bare names without images), the labels."""

    version: Version
    images: tuple[str, ...]
    flavor: Flavor
    labels: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def tag_names(self) -> list[str]:
        if self.version.main is None:
            return []
        names = [self.version.main, *self.version.partial]
        if self.version.latest:
            latest = (f"{self.flavor.prefix if self.flavor.prefix_latest else ''}latest"
                      f"{self.flavor.suffix if self.flavor.suffix_latest else ''}")
            names.append(sanitize_tag(latest))
        return names

    @property
    def tags(self) -> list[str]:
        """``image:tag`` for every image and tag name (images first, as metadata-action orders them)."""
        if not self.images:
            return self.tag_names
        return [f"{image}:{name}" for image in self.images for name in self.tag_names]

    @property
    def annotations(self) -> list[str]:
        """The labels as ``--annotation`` values at the manifest level, as metadata-action's
        ``annotations`` output gives them (its default ``DOCKER_METADATA_ANNOTATIONS_LEVELS``)."""
        return [f"manifest:{key}={value}" for key, value in self.labels.items()]

    def as_json(self) -> dict[str, object]:
        """What ``dockyard meta --format json`` prints (metadata-action's ``json`` output, plus ours)."""
        return {"version": self.version.main or "", "tags": self.tags, "tag-names": self.tag_names,
                "latest": self.version.latest, "labels": dict(self.labels), "annotations": self.annotations,
                "warnings": list(self.warnings)}


def short_sha(sha: str, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    text = env.get("DOCKER_METADATA_SHORT_SHA_LENGTH", "")
    length = SHORT_SHA
    if text:
        if not text.isdigit():
            raise UsageError(f"DOCKER_METADATA_SHORT_SHA_LENGTH is not a number: {text!r}")
        length = int(text)
    return sha[:length]


class _Computation:
    """One run over the specs; holds the context's template values and the growing version."""

    def __init__(self, context: GitContext, flavor: Flavor, *, now: dt.datetime, env: Mapping[str, str]) -> None:
        self.context, self.flavor, self.env = context, flavor, env
        commit = context.commit_date or now
        self.values: dict[str, template.Value] = {
            "branch": context.branch, "tag": context.tag, "sha": short_sha(context.sha, env),
            "base_ref": context.base_ref or "", "is_default_branch": str(context.is_default_branch()).lower(),
            "is_not_default_branch": str(not context.is_default_branch()).lower(),
            "date": template.date_helper(now), "commit_date": template.date_helper(commit),
        }
        self.main: str | None = None
        self.partial: list[str] = []
        self.latest: bool | None = None
        self.warnings: list[str] = list(context.warnings)

    def expand(self, text: str) -> str:
        return template.render(text, self.values)

    def affix(self, value: str, spec: TagSpec) -> str:
        prefix = spec.attrs.get("prefix", self.flavor.prefix)
        suffix = spec.attrs.get("suffix", self.flavor.suffix)
        return f"{self.expand(prefix)}{value}{self.expand(suffix)}"

    def add(self, value: str, *, auto_latest: bool) -> None:
        if not value:
            return
        value = sanitize_tag(value)
        if self.main is None:
            self.main = value
        elif value != self.main and value not in self.partial:
            self.partial.append(value)
        if self.latest is None:
            self.latest = auto_latest if self.flavor.latest == "auto" else self.flavor.latest == "true"

    def run(self, spec: TagSpec) -> None:
        enabled = self.expand(spec.get("enable", "true"))
        if enabled not in ("true", "false"):
            raise UsageError(f"invalid enable value {enabled!r}", hint="enable= must give true or false")
        if enabled == "false":
            return
        getattr(self, f"_{spec.type.value}")(spec)

    def _version_text(self, spec: TagSpec) -> str | None:
        """The text a semver/pep440/match spec reads: its ``value``, else the git tag."""
        if spec.get("value"):
            return self.expand(spec.get("value"))
        return self.context.tag or None

    def _matched(self, raw: str, spec: TagSpec) -> str:
        if not spec.get("match"):
            return raw
        found = re.search(spec.get("match"), raw)
        if found is None:
            self.warnings.append(f"{spec.get('match')} does not match {raw}")
            return raw
        return found.group(1) if found.groups() else found.group(0)

    def _semver(self, spec: TagSpec) -> None:
        raw = self._version_text(spec)
        if raw is None:
            return
        raw = self._matched(raw, spec).replace("/", "-")
        parsed = semver.parse(raw)
        if parsed is None:
            self.warnings.append(f"{raw} is not a valid semantic version")
            return
        pattern = spec.get("pattern")
        if parsed.prerelease and not _is_raw(pattern):
            pattern = "{{version}}"
        value = self.affix(template.render(pattern, parsed.fields()), spec)
        self.add(value, auto_latest=not parsed.prerelease)

    def _pep440(self, spec: TagSpec) -> None:
        from packaging.version import InvalidVersion
        from packaging.version import Version as Pep440

        raw = self._version_text(spec)
        if raw is None:
            return
        raw = self._matched(raw, spec).replace("/", "-")
        try:
            parsed = Pep440(raw)
        except InvalidVersion:
            self.warnings.append(f"{raw} does not conform to PEP 440")
            return
        release = (*parsed.release, 0, 0)
        if parsed.is_prerelease or parsed.is_postrelease or parsed.is_devrelease:
            value = raw if _is_raw(spec.get("pattern")) else str(parsed)
            self.add(self.affix(value, spec), auto_latest=False)
            return
        fields = {"raw": raw, "version": str(parsed), "major": str(release[0]), "minor": str(release[1]),
                  "patch": str(release[2])}
        self.add(self.affix(template.render(spec.get("pattern"), fields), spec), auto_latest=True)

    def _match(self, spec: TagSpec) -> None:
        raw = self._version_text(spec)
        if raw is None:
            return
        pattern = spec.get("pattern")
        literal = re.fullmatch(r"/(.+)/(\w*)", pattern)
        flags = re.IGNORECASE if literal and "i" in literal.group(2) else 0
        found = re.search(literal.group(1) if literal else pattern, raw, flags)
        if found is None:
            self.warnings.append(f"{pattern} does not match {raw}")
            return
        group = int(spec.get("group", "0"))
        if group > (found.re.groups or 0) or found.group(group) is None:
            self.warnings.append(f"group {group} does not exist for {pattern}")
            return
        self.add(self.affix(found.group(group), spec), auto_latest=True)

    def _ref(self, spec: TagSpec) -> None:
        ref, event = self.context.ref, spec.get("event")
        if event == "branch" and ref.startswith("refs/heads/"):
            self.add(self.affix(ref.removeprefix("refs/heads/"), spec), auto_latest=False)
        elif event == "tag" and ref.startswith("refs/tags/"):
            self.add(self.affix(ref.removeprefix("refs/tags/"), spec), auto_latest=True)
        elif event == "pr" and ref.startswith("refs/pull/"):
            number = ref.removeprefix("refs/pull/").removesuffix("/merge")
            self.add(self.affix(number, spec), auto_latest=False)

    def _edge(self, spec: TagSpec) -> None:
        if not self.context.ref.startswith("refs/heads/"):
            return
        wanted = spec.get("branch") or self.context.default_branch
        if self.context.branch == wanted:
            self.add(self.affix("edge", spec), auto_latest=False)

    def _raw(self, spec: TagSpec) -> None:
        self.add(self.affix(self.expand(spec.get("value")), spec), auto_latest=False)

    def _sha(self, spec: TagSpec) -> None:
        if not self.context.sha:
            return
        sha = self.context.sha if spec.get("format") == "long" else short_sha(self.context.sha, self.env)
        self.add(self.affix(sha, spec), auto_latest=False)

    def _schedule(self, spec: TagSpec) -> None:
        if "schedule" in self.context.event:
            self.add(self.affix(self.expand(spec.get("pattern")), spec), auto_latest=False)


def _is_raw(pattern: str) -> bool:
    """True when the pattern is exactly ``{{raw}}`` (whitespace allowed): keep the text as given."""
    return re.fullmatch(r"\{\{\s*raw\s*\}\}", pattern) is not None


def compute(context: GitContext, *, specs: Sequence[str] = (), flavor: Sequence[str] = (),
            images: Sequence[str] = (), labels: Sequence[str] = (), default_labels: bool = True,
            now: dt.datetime | None = None, env: Mapping[str, str] | None = None) -> Meta:
    """The tags and labels ``context`` gets under ``specs`` (metadata-action's defaults when empty).

    ``labels`` are extra ``KEY=VALUE`` lines (their ``{{...}}`` expanded); ``now`` is the build
    time (``org.opencontainers.image.created``; SOURCE_DATE_EPOCH pins it, see ``created``).
    """
    env = os.environ if env is None else env
    now = now or created_time(env)
    the_flavor = parse_flavor(flavor)
    run = _Computation(context, the_flavor, now=now, env=env)
    for spec in parse_tag_specs(specs):
        run.run(spec)
    version = Version(run.main, tuple(run.partial), bool(run.latest))
    names = parse_images(images)
    out: dict[str, str] = default_oci_labels(context, version=version.main, now=now) if default_labels else {}
    for line in labels:
        key, eq, value = run.expand(line).partition("=")
        if not key or not eq:
            raise UsageError(f"invalid label {line!r}", hint="use KEY=VALUE")
        out[key] = value
    return Meta(version=version, images=names, flavor=the_flavor, labels=dict(sorted(out.items())),
                warnings=tuple(run.warnings))


def parse_images(lines: Sequence[str]) -> tuple[str, ...]:
    """Image names in metadata-action's syntax: ``name`` or ``name=NAME,enable=BOOL`` per line
    (a single line of bare names is a comma list); names are lowercased and must parse."""
    fields_per_line = [[f.strip() for f in next(csv.reader([line]), [])] for line in lines if line.strip()]
    if len(fields_per_line) == 1 and all("=" not in f for f in fields_per_line[0]):
        fields_per_line = [[f] for f in fields_per_line[0] if f]
    names = []
    for fields in fields_per_line:
        name, enabled = "", True
        for item in fields:
            key, eq, value = (p.strip() for p in item.partition("="))
            if not eq:
                name = key
            elif key.lower() == "name":
                name = value
            elif key.lower() == "enable":
                if value not in ("true", "false"):
                    raise UsageError(f"invalid enable value {value!r} for image {name!r}", hint="true or false")
                enabled = value == "true"
            else:
                raise UsageError(f"unknown image attribute {key!r}", hint="use name= and enable=")
        if enabled and name:
            Reference.parse(name.lower())  # a UsageError naming the bad reference
            names.append(name.lower())
    return tuple(names)


def created_time(env: Mapping[str, str]) -> dt.datetime:
    """The build time: SOURCE_DATE_EPOCH when set (reproducible builds), else now."""
    epoch = env.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def default_oci_labels(context: GitContext, *, version: str | None, now: dt.datetime) -> dict[str, str]:
    """The standard ``org.opencontainers.image.*`` keys that are known (unknown ones are left out)."""
    known = {
        "created": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": context.source_url, "url": context.source_url, "revision": context.sha,
        "version": version, "title": context.title, "description": context.description,
        "licenses": context.licenses,
    }
    return {f"org.opencontainers.image.{k}": v for k, v in known.items() if v}


def has_tag(name: str) -> bool:
    """True when an image name states its tag or digest (``reg/app:1``, ``app@sha256:..``)."""
    return "@" in name or ":" in name.rpartition("/")[2]


def name_images(names: Sequence[str], meta: Meta) -> list[str]:
    """``-t`` names with the computed tags: a name without a tag gets every tag, one with a tag stays."""
    out: list[str] = []
    for name in names:
        if has_tag(name):
            out.append(name)
        else:
            out += [f"{name}:{tag}" for tag in meta.tag_names]
    return list(dict.fromkeys(out))
