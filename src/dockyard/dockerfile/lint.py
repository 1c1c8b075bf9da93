"""Dockerfile checks (``--call=check``): BuildKit's rule names, our own wording, line numbers.

Checks look at the decoded file only (no images are fetched), so they are fast and can run
before a build. The ``# check=skip=Rule1,Rule2;error=true`` directive is honoured: skipped
rules are not reported, and ``error=true`` makes any warning fail the check.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.args import PLATFORM_ARGS, platform_args
from dockyard.dockerfile.flags import suggest
from dockyard.dockerfile.shell import ExpansionError, expand
from dockyard.dockerfile.stages import Dockerfile, Stage
from dockyard.dockerfile.syntax import RawCommand
from dockyard.errors import UsageError
from dockyard.platform import Platform
from dockyard.selector.patterns import PatternMatcher

RULES = (
    "ConsistentInstructionCasing",
    "DuplicateStageName",
    "ExposeInvalidFormat",
    "ExposeProtoCasing",
    "FromPlatformFlagConstDisallowed",
    "FromAsCasing",
    "InvalidDefaultArgInFrom",
    "JSONArgsRecommended",
    "LegacyKeyValueFormat",
    "MaintainerDeprecated",
    "MultipleInstructionsDisallowed",
    "NoEmptyContinuation",
    "RedundantTargetPlatform",
    "ReservedStageName",
    "SecretsUsedInArgOrEnv",
    "StageNameCasing",
    "UndefinedArgInFrom",
    "UndefinedVar",
    "WorkdirRelativePath",
)
# linter/ruleset.go: each rule's Description (the lint subrequest's "description")
RULE_DESCRIPTIONS = {
    "StageNameCasing": "Stage names should be lowercase",
    "FromAsCasing": "The 'as' keyword should match the case of the 'from' keyword",
    "NoEmptyContinuation": "Empty continuation lines will become errors in a future release",
    "ConsistentInstructionCasing": "All commands within the Dockerfile should use the same casing (either upper or "
                                   "lower)",
    "DuplicateStageName": "Stage names should be unique",
    "ReservedStageName": "Reserved words should not be used as stage names",
    "JSONArgsRecommended": "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to "
                           "OS signals",
    "MaintainerDeprecated": "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
    "UndefinedArgInFrom": "FROM command must use declared ARGs",
    "WorkdirRelativePath": "Relative workdir without an absolute workdir declared within the build can have "
                           "unexpected results if the base image changes",
    "UndefinedVar": "Variables should be defined before their use",
    "MultipleInstructionsDisallowed": "Multiple instructions of the same type should not be used in the same stage",
    "LegacyKeyValueFormat": "Legacy key/value format with whitespace separator should not be used",
    "InvalidBaseImagePlatform": "Base image platform does not match expected target platform",
    "RedundantTargetPlatform": "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the "
                               "default behavior",
    "SecretsUsedInArgOrEnv": "Sensitive data should not be used in the ARG or ENV commands",
    "InvalidDefaultArgInFrom": "Default value for global ARG results in an empty or invalid base image name",
    "FromPlatformFlagConstDisallowed": "FROM --platform flag should not use a constant value",
    "CopyIgnoredFile": "Attempting to Copy file that is excluded by .dockerignore",
    "InvalidDefinitionDescription": "Comment for build stage or argument should follow the format: `# <arg/stage "
                                    "name> <description>`. If this is not intended to be a description comment, add "
                                    "an empty line or comment between the instruction and the comment.",
    "ExposeProtoCasing": "Protocol in EXPOSE instruction should be lowercase",
    "ExposeInvalidFormat": "IP address and host-port mapping should not be used in EXPOSE instruction. This will "
                           "become an error in a future release",
}
_SECRET_RE = re.compile(r"(?:^|_)(?:apikey|auth|credentials?|key|passw(?:or)?d|pword|secret|token)(?:_|$)", re.I)
_SECRET_ALLOW = re.compile(r"(?:^|_)(?:public|file|version)(?:_|$)", re.I)  # validations.go getSecretsRegex


@dataclass(frozen=True, order=True)
class Finding:
    """One finding; ``url`` points at Docker's documentation of the rule."""

    line: int
    rule: str
    message: str

    @property
    def url(self) -> str:
        kebab = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", self.rule).lower()
        return f"https://docs.docker.com/go/dockerfile/rule/{kebab}/"


@dataclass(frozen=True)
class CheckConfig:
    """The ``check`` directive: rules to skip and whether warnings are errors."""

    skip: frozenset[str] = frozenset()
    error: bool = False

    @classmethod
    def parse(cls, text: str) -> CheckConfig:
        skip: set[str] = set()
        error = False
        for part in text.split(";"):
            key, _, value = part.strip().partition("=")
            if key == "skip":
                skip.update(v.strip() for v in value.split(",") if v.strip())
            elif key == "error":
                error = value.strip().lower() == "true"
        return cls(frozenset(skip), error)


def _go_quote(text: str) -> str:
    """Go's ``%q`` for the plain strings rule messages quote (linter/ruleset.go)."""
    return json.dumps(text, ensure_ascii=False)


@dataclass(frozen=True)
class StageFacts:
    """What a stage built FROM this one inherits for the checks: defined names, WORKDIR and SHELL set."""

    defined: frozenset[str]
    workdir_set: bool
    shell_set: bool


def _raw_by_line(df: Dockerfile) -> dict[int, RawCommand]:
    return {c.line: c for c in df.parsed.commands}


def _casing(df: Dockerfile) -> Iterator[Finding]:
    written = [c.written for c in df.parsed.commands]
    upper = sum(1 for w in written if w.isupper())
    lower = sum(1 for w in written if w.islower())
    majority_upper = upper >= lower
    for cmd in df.parsed.commands:
        if majority_upper and not cmd.written.isupper():
            yield Finding(
                cmd.line,
                "ConsistentInstructionCasing",
                f"Command '{cmd.written}' should match the case of the command majority (uppercase)",
            )
        elif not majority_upper and not cmd.written.islower():
            yield Finding(
                cmd.line,
                "ConsistentInstructionCasing",
                f"Command '{cmd.written}' should match the case of the command majority (lowercase)",
            )


def _as_casing_differs(from_word: str, as_word: str) -> bool:
    """instructions/parse.go ``doesFromCaseMatchAsCase``: a mixed-case FROM is ConsistentInstructionCasing's
    business; a lowercase FROM wants a lowercase AS, an uppercase one an uppercase AS."""
    if from_word == from_word.lower():
        return as_word != as_word.lower()
    if from_word == from_word.upper():
        return as_word != as_word.upper()
    return False


def _from_checks(df: Dockerfile, raw: dict[int, RawCommand]) -> Iterator[Finding]:
    seen: dict[str, int] = {}
    meta_names = {a.name for arg in df.meta_args for a in arg.args}
    for stage in df.stages:
        cmd = raw[stage.base.line]
        if len(cmd.args) == 3:
            as_word, name = cmd.args[1], cmd.args[2]
            if _as_casing_differs(cmd.written, as_word):
                yield Finding(
                    cmd.line, "FromAsCasing", f"'{as_word}' and '{cmd.written}' keywords' casing do not match"
                )
            if name != name.lower():
                yield Finding(cmd.line, "StageNameCasing", f"Stage name '{name}' should be lowercase")
            if stage.name in ("scratch", "context"):
                yield Finding(
                    cmd.line,
                    "ReservedStageName",
                    f"Stage name should not use the same name as reserved stage {_go_quote(stage.name)}",
                )
            if stage.name in seen:
                yield Finding(
                    cmd.line,
                    "DuplicateStageName",
                    f"Duplicate stage name {_go_quote(stage.name)}, stage names should be unique",
                )
            seen.setdefault(stage.name, stage.index)
        for word in (stage.base.image, stage.base.platform):
            for name in sorted(_references(word, df.parsed.escape)):
                if name not in meta_names and name not in PLATFORM_ARGS:
                    yield Finding(
                        cmd.line,
                        "UndefinedArgInFrom",
                        f"FROM argument '{name}' is not declared{suggest(name, meta_names)}",
                    )
        constant = stage.base.platform
        if constant and "$" not in constant and not _names_platform(stage.name, constant):
            yield Finding(
                cmd.line,
                "FromPlatformFlagConstDisallowed",
                f'FROM --platform flag should not use constant value "{constant}"',
            )
        if stage.base.platform.strip() in ("$TARGETPLATFORM", "${TARGETPLATFORM}"):
            yield Finding(
                cmd.line,
                "RedundantTargetPlatform",
                "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
            )


def _empty_continuations(df: Dockerfile) -> Iterator[Finding]:
    """Blank lines inside a continued instruction (heredoc bodies excepted)."""
    lines = df.parsed.lines
    for cmd in df.parsed.commands:
        if cmd.heredocs or cmd.end_line <= cmd.line:
            continue
        # parser.go Parse: one warning per instruction, at its last line
        if any(number <= len(lines) and not lines[number - 1].strip() for number in range(cmd.line + 1, cmd.end_line)):
            yield Finding(cmd.end_line, "NoEmptyContinuation", "Empty continuation line")


def _from_defaults(df: Dockerfile) -> Iterator[Finding]:
    """A FROM that expands to an empty or invalid name with only the ARG defaults."""
    defaults: dict[str, str] = {}
    for arg in df.meta_args:
        for a in arg.args:
            if a.default is not None:
                try:
                    defaults[a.name] = expand(a.default, defaults, escape=df.parsed.escape).text
                except ExpansionError:
                    continue
    host = Platform.host()
    auto = platform_args(host, host, stage=df.stages[-1].name)  # validateBaseImagesWithDefaultArgs: real values
    for stage in df.stages:
        image = stage.base.image
        if "$" not in image:
            continue
        try:
            result = expand(image, {**auto, **defaults}, escape=df.parsed.escape)
        except ExpansionError:
            continue
        declared = {a.name for arg in df.meta_args for a in arg.args}
        if result.unmatched - declared:
            continue  # reported as UndefinedArgInFrom
        if not result.text or result.text.endswith((":", "@", "/")) or result.text.startswith((":", "@", "/")):
            yield Finding(
                stage.base.line,
                "InvalidDefaultArgInFrom",
                f"Default value for ARG {image} results in empty or invalid base image name",
            )


def _names_platform(stage_name: str, platform: str) -> bool:
    """A stage named after its platform (``build-arm64``) may pin it on purpose."""
    return bool(stage_name) and any(part and part in stage_name for part in platform.lower().split("/"))


def _references(word: str, escape: str, *, skip_quotes: bool = False) -> set[str]:
    if not word or "$" not in word:
        return set()
    try:
        return set(expand(word, {}, escape=escape, skip_quotes=skip_quotes).unmatched)
    except ExpansionError:
        return set()


def _stage_checks(  # noqa: C901, PLR0912 - BuildKit's per-stage lint rules, one branch each, in its order
    df: Dockerfile, stage: Stage, raw: dict[int, RawCommand], known_env: dict[int, StageFacts], base_env: set[str]
) -> Iterator[Finding]:
    counts: dict[str, list[int]] = {}
    parent = df.parent(stage, stage.base.image)
    inherited = known_env.get(parent.index) if parent is not None else None
    defined = set(inherited.defined) if inherited is not None else {"PATH", *base_env}
    # dispatchWorkdir checks only the first WORKDIR of a chain of stages (workdirSet is inherited);
    # dispatchCmd/Entrypoint skip JSONArgsRecommended once a SHELL is set (the image config's Shell)
    workdir_set = inherited is not None and inherited.workdir_set
    shell_set = inherited is not None and inherited.shell_set
    for item in stage.instructions:
        cmd = raw.get(item.line)
        keyword = cmd.keyword if cmd else type(item).__name__.upper()
        if isinstance(item, ins.Shell):
            shell_set = True
        if isinstance(item, ins.Cmd | ins.Entrypoint) and not item.json and not shell_set:
            yield Finding(
                item.line,
                "JSONArgsRecommended",
                f"JSON arguments recommended for {keyword} to prevent unintended behavior related to OS signals",
            )
        if isinstance(item, ins.Cmd | ins.Entrypoint | ins.Healthcheck):
            counts.setdefault(keyword, []).append(item.line)
        if isinstance(item, ins.Maintainer):
            yield Finding(
                item.line,
                "MaintainerDeprecated",
                "Maintainer instruction is deprecated in favor of using label",
            )
        if isinstance(item, ins.Env | ins.Label) and item.legacy:
            yield Finding(
                item.line,
                "LegacyKeyValueFormat",
                f'"{keyword} key=value" should be used instead of legacy "{keyword} key value" format',
            )
        if isinstance(item, ins.Workdir):
            if not workdir_set and not item.path.startswith(("/", "$")):
                yield Finding(
                    item.line,
                    "WorkdirRelativePath",
                    f"Relative workdir {_go_quote(item.path)} can have unexpected results if the base image changes",
                )
            workdir_set = True
        if isinstance(item, ins.Expose):
            for port in item.ports:
                if ":" in port:
                    yield Finding(
                        item.line,
                        "ExposeInvalidFormat",
                        f"EXPOSE instruction should not define an IP address or host-port mapping, found '{port}'",
                    )
                proto = port.partition("/")[2]
                if proto and proto != proto.lower():
                    yield Finding(
                        item.line,
                        "ExposeProtoCasing",
                        f"Defined protocol '{port}' in EXPOSE instruction should be lowercase",
                    )
        names = {n for w in _expanded_words(item) for n in _references(w, df.parsed.escape)}
        if isinstance(item, ins.Copy | ins.Add):  # unquoted heredoc bodies expand (ExpandRaw, SkipProcessQuotes)
            names |= {n for d in item.inline if d.expand for n in _references(d.content, "\\", skip_quotes=True)}
        for name in sorted(names):
            if name not in defined:
                yield Finding(
                    item.line,
                    "UndefinedVar",
                    f"Usage of undefined variable '${name}'{suggest(name, defined)}",
                )
        if isinstance(item, ins.Arg):
            for a in item.args:
                defined.add(a.name)
                if _SECRET_RE.search(a.name) and not _SECRET_ALLOW.search(a.name):
                    yield Finding(
                        item.line,
                        "SecretsUsedInArgOrEnv",
                        f'Do not use ARG or ENV instructions for sensitive data (ARG "{a.name}")',
                    )
        if isinstance(item, ins.Env):
            for key, _ in item.pairs:
                defined.add(key)
                if _SECRET_RE.search(key) and not _SECRET_ALLOW.search(key):
                    yield Finding(
                        item.line,
                        "SecretsUsedInArgOrEnv",
                        f'Do not use ARG or ENV instructions for sensitive data (ENV "{key}")',
                    )
    for keyword, lines in counts.items():
        for line in lines[:-1]:
            yield Finding(
                line,
                "MultipleInstructionsDisallowed",
                f"Multiple {keyword} instructions should not be used in the same stage because only "
                "the last one will be used",
            )
    known_env[stage.index] = StageFacts(frozenset(defined), workdir_set, shell_set)


def _expanded_words(item: ins.Instruction) -> list[str]:
    """The words of ``item`` that the frontend expands (so an undefined variable matters)."""
    if isinstance(item, ins.Env | ins.Label):
        return [w for pair in item.pairs for w in pair]
    if isinstance(item, ins.Copy | ins.Add):
        return [*item.sources, item.dest, item.chown, item.chmod]
    if isinstance(item, ins.Workdir):
        return [item.path]
    if isinstance(item, ins.User):
        return [item.user]
    if isinstance(item, ins.Volume):
        return list(item.paths)
    if isinstance(item, ins.StopSignal):
        return [item.signal]
    if isinstance(item, ins.Arg):
        return [a.default for a in item.args if a.default]
    return []


BaseConfig = Callable[[str, Platform], Mapping[str, Any] | None]
"""A base image's OCI config for a platform (``ImageResolver.image_config``), None when unknown."""


def check(df: Dockerfile, *, base_config: BaseConfig | None = None,
          ignore: PatternMatcher | None = None) -> tuple[list[Finding], CheckConfig]:
    """All findings (sorted by line) minus skipped rules, and the check configuration.

    With ``base_config``, base images are read as BuildKit's lint reads them while converting:
    their ENV defines names (UndefinedVar), their platform is compared (InvalidBaseImagePlatform).
    With ``ignore`` (the context's .dockerignore), COPY/ADD sources it excludes are CopyIgnoredFile.
    """
    config = CheckConfig.parse(df.parsed.directives.get("check", ""))
    raw = _raw_by_line(df)
    found: list[Finding] = [*_casing(df), *_from_checks(df, raw), *_empty_continuations(df), *_from_defaults(df)]
    known_env: dict[int, StageFacts] = {}
    base_env: dict[int, set[str]] = {}
    if base_config is not None:
        found.extend(_base_images(df, base_config, base_env))
    for stage in df.stages:
        found.extend(_stage_checks(df, stage, raw, known_env, base_env.get(stage.index, set())))
        if ignore is not None and not ignore.has_exclusions:
            found.extend(_ignored_sources(stage, ignore))
    skip_all = "all" in config.skip
    return sorted(w for w in found if not skip_all and w.rule not in config.skip), config


def _ignored_sources(stage: Stage, ignore: PatternMatcher) -> Iterator[Finding]:
    """validations.go ``validateCopySourcePath``: a context source the .dockerignore excludes (not
    checked when the file has exclusions, nor for the context root unless ``*``/``**`` ignore it)."""
    root_ignored = any(not p.exclusion and p.text in ("*", "**", "**/*") for p in ignore.patterns)
    for item in stage.instructions:
        if not isinstance(item, ins.Copy | ins.Add) or (isinstance(item, ins.Copy) and item.from_):
            continue
        for src in item.sources:
            if "$" in src or src.startswith(("http://", "https://", "git@", "git://")):
                continue
            path = posixpath.normpath(src).lstrip("/") or "."
            if (path == "." and root_ignored) or (path != "." and ignore.matches(path)):
                kind = "Copy" if isinstance(item, ins.Copy) else "Add"
                yield Finding(item.line, "CopyIgnoredFile",
                              f"Attempting to {kind} file {_go_quote(path)} that is excluded by .dockerignore")


def _base_images(df: Dockerfile, base_config: BaseConfig, base_env: dict[int, set[str]]) -> Iterator[Finding]:
    """Resolve each image a FROM names (with the ARG defaults and the real platform values)."""
    host = Platform.host()
    scope = platform_args(host, host, stage=df.stages[-1].name)
    for arg in df.meta_args:
        for a in arg.args:
            if a.default is not None:
                with contextlib.suppress(ExpansionError):
                    scope[a.name] = expand(a.default, scope, escape=df.parsed.escape).text
    for stage in df.stages:
        try:
            ref = expand(stage.base.image, scope, escape=df.parsed.escape).text
            wanted = Platform.parse(expand(stage.base.platform, scope, escape=df.parsed.escape).text) \
                if stage.base.platform else host
        except (ExpansionError, UsageError):
            continue
        if not ref or ref == "scratch" or df.parent(stage, ref) is not None:
            continue
        doc = base_config(ref, wanted)
        if doc is None:
            continue
        env = (doc.get("config") or {}).get("Env") or []
        base_env[stage.index] = {str(e).partition("=")[0] for e in env}
        actual = Platform(str(doc.get("os", "")), str(doc.get("architecture", "")), str(doc.get("variant") or ""))
        if not wanted.matches(actual):  # convert.go resolveBaseImage: platforms.Only(expected).Match(actual)
            yield Finding(stage.base.line, "InvalidBaseImagePlatform",
                          f"Base image {ref} was pulled with platform {_go_quote(str(actual.normal()))}, expected "
                          f"{_go_quote(str(wanted))} for current build")
