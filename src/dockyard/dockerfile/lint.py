"""Dockerfile checks (``--call=check``): BuildKit's 22 lint rules, their messages and line numbers.

Each rule follows the BuildKit function that emits it (moby/buildkit frontend/dockerfile:
dockerfile2llb/validations.go, convert.go, convert_expose.go, instructions/parse.go; messages from
linter/ruleset.go). Base image configs are read only when a ``base_config`` is given. The
``# check=skip=Rule1,Rule2;error=true;experimental=...`` directive (or the BUILDKIT_DOCKERFILE_CHECK
build argument in its place) is honoured for the file, and a ``# check=`` comment above an
instruction adds to it for that instruction, as BuildKit's ``WithMergedConfigFromComments`` does.
InvalidDefinitionDescription is experimental in BuildKit: it runs only when enabled.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.args import PLATFORM_ARGS, platform_args
from dockyard.dockerfile.flags import closest
from dockyard.dockerfile.shell import ExpansionError, expand
from dockyard.dockerfile.stages import Dockerfile, Stage
from dockyard.dockerfile.syntax import RawCommand
from dockyard.errors import DockerfileError, UsageError
from dockyard.oci.config import ImageConfig
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.selector.patterns import PatternMatcher

RULES = (
    "ConsistentInstructionCasing",
    "DuplicateStageName",
    "ExposeInvalidFormat",
    "ExposeProtoCasing",
    "FromPlatformFlagConstDisallowed",
    "FromAsCasing",
    "InvalidDefaultArgInFrom",
    "InvalidDefinitionDescription",
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
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # strconv.ParseBool
_GO_BOOLS = _GO_TRUE | {"0", "f", "F", "FALSE", "false", "False"}
_SECRET_RE = re.compile(r"(?:^|_)(?:apikey|auth|credentials?|key|passw(?:or)?d|pword|secret|token)(?:_|$)", re.I)
_SECRET_ALLOW = re.compile(r"(?:^|_)(?:public|file|version)(?:_|$)", re.I)  # validations.go getSecretsRegex


@dataclass(frozen=True, order=True)
class Finding:
    """One finding; ``url`` points at Docker's documentation of the rule."""

    line: int
    rule: str
    message: str
    scope: int = field(default=0, compare=False)
    """The line of the instruction whose ``# check=`` comments govern this finding (0: ``line``'s)."""

    @property
    def url(self) -> str:
        if self.rule == "InvalidBaseImagePlatform":
            return ""  # linter/ruleset.go: the one rule without a documentation page
        kebab = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", self.rule).lower()
        return f"https://docs.docker.com/go/dockerfile/rule/{kebab}/"


@dataclass(frozen=True)
class CheckConfig:
    """The ``check`` directive: rules to skip, whether warnings are errors, experimental rules to run."""

    skip: frozenset[str] = frozenset()
    error: bool = False
    experimental: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> CheckConfig | None:
        """linter.go ``ParseLintOptions``: None when the options do not parse (bad key, not a Go bool)."""
        config = cls()
        for part in text.strip().split(";", 2) if text.strip() else []:
            key, sep, value = part.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or key not in ("skip", "experimental", "error") or (key == "error" and value not in _GO_BOOLS):
                return None
            names = frozenset(r.strip() for r in value.split(","))
            if key == "skip":
                config = replace(config, skip=names)
            elif key == "experimental":
                config = replace(config, experimental=names)
            else:
                config = replace(config, error=value in _GO_TRUE)
        return config

    def skips(self, rule: str) -> bool:
        return "all" in self.skip or rule in self.skip

    def enables(self, rule: str) -> bool:
        return "all" in self.experimental or rule in self.experimental


def _go_quote(text: str) -> str:
    """Go's ``%q`` for the plain strings rule messages quote (linter/ruleset.go)."""
    return json.dumps(text, ensure_ascii=False)


@dataclass(frozen=True)
class StageFacts:
    """What a stage built FROM this one inherits for the checks: defined names, WORKDIR and SHELL set,
    and the values of its environment as far as the file tells them (ENV, ARG defaults)."""

    defined: frozenset[str]
    workdir_set: bool
    shell_set: bool
    values: Mapping[str, str]


def _raw_by_line(df: Dockerfile) -> dict[int, RawCommand]:
    return {c.line: c for c in df.parsed.commands}


def _casing(df: Dockerfile) -> Iterator[Finding]:
    """validations.go ``validateCommandCasing``: the stages' FROM and commands only (the global ARGs
    before the first FROM are neither counted nor checked); a tie is an uppercase majority."""
    first = df.stages[0].base.line
    commands = [c for c in df.parsed.commands if c.line >= first]
    upper = sum(1 for c in commands if c.written == c.written.upper())
    lower = sum(1 for c in commands if c.written == c.written.lower())
    majority_upper = upper >= lower
    for cmd in commands:
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
    scope = _default_scope(df)
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
        yield from _undefined_from_args(stage, meta_names, df.parsed.escape)
        if stage.base.platform:
            yield from _platform_flag(stage, scope, df.parsed.escape)


def _undefined_from_args(stage: Stage, meta_names: set[str], escape: str) -> Iterator[Finding]:
    """validations.go ``reportUnusedFromArgs``, for the image and then the platform word: a name
    neither a global ARG nor an automatic one; the hint searches both (util/suggest ``Search``)."""
    known = [*sorted(meta_names), *PLATFORM_ARGS]
    for word in (stage.base.image, stage.base.platform):
        for name in sorted(_references(word, escape)):
            if name not in meta_names and name not in PLATFORM_ARGS:
                hint = closest(name, known)
                yield Finding(stage.base.line, "UndefinedArgInFrom",
                              f"FROM argument '{name}' is not declared" + (f" (did you mean {hint}?)" if hint else ""))


def _platform_flag(stage: Stage, scope: Mapping[str, str], escape: str) -> Iterator[Finding]:
    """validations.go ``reportRedundantTargetPlatform`` and ``reportConstPlatformDisallowed`` on the
    ``--platform`` word expanded with the global ARGs (convert.go ``buildDispatchStates``)."""
    word = stage.base.platform
    try:
        result = expand(word, scope, escape=escape)
    except ExpansionError:
        return
    if result.matched == {"TARGETPLATFORM"} and not result.unmatched and result.text == scope["TARGETPLATFORM"]:
        yield Finding(stage.base.line, "RedundantTargetPlatform",
                      f"Setting platform to predefined {word} in FROM is redundant as this is the default behavior")
    if result.matched or result.unmatched:
        return  # a variable was substituted: not a constant
    try:
        platform = Platform.parse(result.text)
    except UsageError:
        return  # the conversion fails on it later
    if platform.os not in stage.name and platform.architecture not in stage.name:
        yield Finding(stage.base.line, "FromPlatformFlagConstDisallowed",
                      f"FROM --platform flag should not use constant value {_go_quote(result.text)}")


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
    """validations.go ``validateBaseImagesWithDefaultArgs``: every FROM expanded with the ARG defaults
    and the real automatic values must parse as a reference (``ParseNormalizedNamed``)."""
    scope = _default_scope(df)
    for stage in df.stages:
        try:
            Reference.parse(expand(stage.base.image, scope, escape=df.parsed.escape).text)
        except ExpansionError:
            return  # the linter abandons the rule; the conversion reports the error
        except UsageError:
            yield Finding(stage.base.line, "InvalidDefaultArgInFrom",
                          f"Default value for ARG {stage.base.image} results in empty or invalid base image name")


def _references(word: str, escape: str, *, skip_quotes: bool = False) -> set[str]:
    if not word or "$" not in word:
        return set()
    try:
        return set(expand(word, {}, escape=escape, skip_quotes=skip_quotes).unmatched)
    except ExpansionError:
        return set()


def _stage_checks(
    df: Dockerfile, stage: Stage, raw: dict[int, RawCommand], known_env: dict[int, StageFacts], *,
    base_env: Mapping[str, str], scope: Mapping[str, str],
) -> Iterator[Finding]:
    """convert.go ``dispatch`` and the dispatch functions, in BuildKit's order, for one stage."""
    parent = df.parent(stage, stage.base.image)
    inherited = known_env.get(parent.index) if parent is not None else None
    defined = set(inherited.defined) if inherited is not None else {"PATH", *base_env}
    values = dict(inherited.values) if inherited is not None else dict(base_env)
    # dispatchWorkdir checks only the first WORKDIR of a chain of stages (workdirSet is inherited);
    # dispatchCmd/Entrypoint skip JSONArgsRecommended once a SHELL is set (the image config's Shell)
    workdir_set = inherited is not None and inherited.workdir_set
    shell_set = inherited is not None and inherited.shell_set
    used_once: dict[type, int] = {}  # dispatchState's cmd/entrypoint/healthcheck trackers (not inherited)
    for item in stage.instructions:
        cmd = raw.get(item.line)
        written = cmd.written if cmd else type(item).__name__.upper()  # Command.Name(): the spelling of the file
        shell_set = shell_set or isinstance(item, ins.Shell)
        yield from _used_once(item, written, used_once)
        yield from _config_checks(item, written, shell_set=shell_set)
        if isinstance(item, ins.Workdir):
            if not workdir_set and not item.path.startswith(("/", "$")):
                yield Finding(
                    item.line,
                    "WorkdirRelativePath",
                    f"Relative workdir {_go_quote(item.path)} can have unexpected results if the base image changes",
                )
            workdir_set = True
        if isinstance(item, ins.Expose):
            yield from _expose(item, values, df.parsed.escape)
        yield from _undefined_vars(df, item, defined)
        yield from _definitions(item, defined)
        _assign(item, values, scope, df.parsed.escape)
    known_env[stage.index] = StageFacts(frozenset(defined), workdir_set, shell_set, values)


def _assign(item: ins.Instruction, values: dict[str, str], scope: Mapping[str, str], escape: str) -> None:
    """The environment values an ENV or ARG sets (dispatchEnv, dispatchArg: a default expanded with the
    state's environment, else the global ARG's value); a word that cannot be expanded sets nothing."""
    if isinstance(item, ins.Env):
        pairs: list[tuple[str, str | None]] = list(item.pairs)
    elif isinstance(item, ins.Arg):
        pairs = [(a.name, a.default) for a in item.args]
    else:
        return
    for key, word in pairs:
        if word is None:
            if key in scope:
                values[key] = scope[key]
            continue
        with contextlib.suppress(ExpansionError):
            values[key] = expand(word, values, escape=escape).text


def _expose(item: ins.Expose, values: Mapping[str, str], escape: str) -> Iterator[Finding]:
    """dispatchExpose: each word is expanded (ProcessWords, so it may split) before it is parsed."""
    for word in item.ports:
        try:
            ports = expand(word, values, escape=escape).words
        except ExpansionError:
            continue
        for port in ports:
            yield from _expose_port(item.line, port)


def _used_once(item: ins.Instruction, written: str, used: dict[type, int]) -> Iterator[Finding]:
    """validations.go ``validateUsedOnce``: a second CMD/ENTRYPOINT/HEALTHCHECK reports the previous
    one's line, named as the later one is written."""
    if not isinstance(item, ins.Cmd | ins.Entrypoint | ins.Healthcheck):
        return
    kind = type(item)
    if kind in used:
        yield Finding(used[kind], "MultipleInstructionsDisallowed",
                      f"Multiple {written} instructions should not be used in the same stage because only "
                      "the last one will be used", scope=item.line)
    used[kind] = item.line


def _config_checks(item: ins.Instruction, written: str, *, shell_set: bool) -> Iterator[Finding]:
    """dispatchCmd/Entrypoint (JSONArgsRecommended), parse.go MAINTAINER, dispatchEnv/Label (one
    LegacyKeyValueFormat per pair written without ``=``); messages name the instruction as written."""
    if isinstance(item, ins.Cmd | ins.Entrypoint) and not item.json and not shell_set:
        yield Finding(
            item.line,
            "JSONArgsRecommended",
            f"JSON arguments recommended for {written} to prevent unintended behavior related to OS signals",
        )
    if isinstance(item, ins.Maintainer):
        yield Finding(item.line, "MaintainerDeprecated", "Maintainer instruction is deprecated in favor of using label")
    if isinstance(item, ins.Env | ins.Label) and item.legacy:
        yield Finding(
            item.line,
            "LegacyKeyValueFormat",
            f'"{written} key=value" should be used instead of legacy "{written} key value" format',
        )


def _expose_port(line: int, port: str) -> Iterator[Finding]:
    """convert_expose.go ``parsePort``: ``[ip:][hostPort:]port[/proto]`` split as ``splitParts`` does;
    a protocol that is not lowercase, then an IP or host port, is a warning; a word the dispatch
    rejects (no port, unknown protocol) warns nothing."""
    parts = port.split(":")
    container = parts[-1]
    address = ":".join(parts[:-2])
    host = parts[-2] if len(parts) > 1 else ""
    number, _, proto = container.partition("/")
    if not number or proto.lower() not in ("", "tcp", "udp", "sctp"):
        return
    if proto != proto.lower():
        yield Finding(line, "ExposeProtoCasing", f"Defined protocol '{port}' in EXPOSE instruction should be lowercase")
    if address or host:
        yield Finding(line, "ExposeInvalidFormat",
                      f"EXPOSE instruction should not define an IP address or host-port mapping, found '{port}'")


def _undefined_vars(df: Dockerfile, item: ins.Instruction, defined: set[str]) -> Iterator[Finding]:
    """validations.go ``reportUnmatchedVariables``: the hint searches the names defined so far."""
    names = {n for w in _expanded_words(item) for n in _references(w, df.parsed.escape)}
    if isinstance(item, ins.Copy | ins.Add):  # unquoted heredoc bodies expand (ExpandRaw, SkipProcessQuotes)
        names |= {n for d in item.inline if d.expand for n in _references(d.content, "\\", skip_quotes=True)}
    for name in sorted(names - defined):
        hint = closest(name, sorted(defined))
        yield Finding(item.line, "UndefinedVar",
                      f"Usage of undefined variable '${name}'" + (f" (did you mean ${hint}?)" if hint else ""))


def _definitions(item: ins.Instruction, defined: set[str]) -> Iterator[Finding]:
    """ARG and ENV define names; validations.go ``validateNoSecretKey`` on each."""
    if isinstance(item, ins.Arg):
        keys = [("ARG", a.name) for a in item.args]
    elif isinstance(item, ins.Env):
        keys = [("ENV", key) for key, _ in item.pairs]
    else:
        return
    for kind, key in keys:
        defined.add(key)
        if _SECRET_RE.search(key) and not _SECRET_ALLOW.search(key):
            yield Finding(item.line, "SecretsUsedInArgOrEnv",
                          f'Do not use ARG or ENV instructions for sensitive data ({kind} "{key}")')


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


BaseConfig = Callable[[str, Platform], ImageConfig | None]
"""A base image's OCI config for a platform (``ImageResolver.image_config``), None when unknown."""


CHECK_ARG = "BUILDKIT_DOCKERFILE_CHECK"
"""The build argument whose value replaces the file's ``check`` directive (dockerui/config.go)."""


def check_config(df: Dockerfile, build_args: Mapping[str, str]) -> CheckConfig:
    """The file's ``check`` directive, or the ``BUILDKIT_DOCKERFILE_CHECK`` build argument instead of it
    (dockerui ``Config.Init``); either is parsed as ``ParseLintOptions`` parses it, and a bad value fails."""
    if CHECK_ARG not in build_args:
        text = df.parsed.directives.get("check", "")
        directive = CheckConfig.parse(text)
        if directive is None:  # convert.go newRuleLinter: "failed to parse check options"
            line = list(df.parsed.directives).index("check") + 1
            raise DockerfileError(f"failed to parse check options: {text!r}", file=df.filename, line=line,
                                  hint="e.g. # check=skip=RULE1,RULE2;error=true")
        return directive
    config = CheckConfig.parse(build_args[CHECK_ARG])
    if config is None:
        raise UsageError(f"failed to parse build-arg:{CHECK_ARG}: invalid check options {build_args[CHECK_ARG]!r}",
                         hint="e.g. skip=RULE1,RULE2;error=true or skip=all")
    return config


def check(df: Dockerfile, *, base_config: BaseConfig | None = None, ignore: PatternMatcher | None = None,
          build_args: Mapping[str, str] | None = None) -> tuple[list[Finding], CheckConfig]:
    """All findings (sorted by line) minus skipped rules, and the check configuration.

    With ``base_config``, base images are read as BuildKit's lint reads them while converting:
    their ENV defines names (UndefinedVar), their platform is compared (InvalidBaseImagePlatform).
    With ``ignore`` (the context's .dockerignore), COPY/ADD sources it excludes are CopyIgnoredFile.
    """
    config = check_config(df, build_args or {})
    raw = _raw_by_line(df)
    found: list[Finding] = [*_casing(df), *_from_checks(df, raw), *_empty_continuations(df), *_from_defaults(df)]
    known_env: dict[int, StageFacts] = {}
    base_env: dict[int, dict[str, str]] = {}
    scope = _default_scope(df)
    if base_config is not None:
        found.extend(_base_images(df, base_config, base_env))
    for stage in df.stages:
        found.extend(_stage_checks(df, stage, raw, known_env, base_env=base_env.get(stage.index, {}), scope=scope))
        if ignore is not None and not ignore.has_exclusions:
            found.extend(_ignored_sources(stage, ignore))
    found.extend(_definition_descriptions(df))
    return sorted(w for w in found if _reported(df, config, w)), config


# Rules BuildKit runs with the file's linter only (validateStageNames, validateCommandCasing, the parser's
# warnings, validateBaseImagesWithDefaultArgs, validateBaseImagePlatform): a comment above cannot skip them
_FILE_LEVEL = frozenset({"NoEmptyContinuation", "ConsistentInstructionCasing", "DuplicateStageName",
                         "ReservedStageName", "InvalidDefaultArgInFrom", "InvalidBaseImagePlatform"})
_DIRECTIVE_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


def _reported(df: Dockerfile, config: CheckConfig, finding: Finding) -> bool:
    """linter.go ``Run``: an experimental rule runs only when enabled, and skip lists do not apply to
    it; any other rule runs unless skipped. ``WithMergedConfigFromComments``: the first ``check``
    comment above the instruction (text after a space is a remark) adds to the file's settings."""
    local = None if finding.rule in _FILE_LEVEL else _local_config(df, finding.scope or finding.line)
    if finding.rule == "InvalidDefinitionDescription":  # the one Experimental rule of linter/ruleset.go
        return config.enables(finding.rule) or (local is not None and local.enables(finding.rule))
    return not config.skips(finding.rule) and not (local is not None and local.skips(finding.rule))


def _local_config(df: Dockerfile, line: int) -> CheckConfig | None:
    for comment in _comments_above(df, line):
        m = _DIRECTIVE_RE.match(comment)
        if m is not None and m.group(1).lower() == "check":
            return CheckConfig.parse(m.group(2).split(" ", 1)[0])
    return None


def _definition_descriptions(df: Dockerfile) -> Iterator[Finding]:
    """instructions/parse.go ``validateDefinitionDescription``: the last comment above a named FROM or
    an ARG must start with the (or an) ARG name or the stage name, compared case-sensitively."""
    defs: list[tuple[int, str, list[str]]] = [(a.line, "ARG", [x.name for x in a.args]) for a in df.meta_args]
    for stage in df.stages:
        if stage.name:
            defs.append((stage.base.line, "FROM", [stage.name]))
        defs += [(a.line, "ARG", [x.name for x in a.args]) for a in stage.instructions if isinstance(a, ins.Arg)]
    for line, kind, keys in defs:
        comments = _comments_above(df, line)
        if comments and keys and comments[-1].split(" ")[0] not in keys:
            example = keys[0] if len(keys) == 1 else "<arg_key>"
            yield Finding(line, "InvalidDefinitionDescription",
                          f"Comment for {kind} should follow the format: `# {example} <description>`")


def _comments_above(df: Dockerfile, line: int) -> list[str]:
    """parser.go ``Parse``: the comments gathered since the previous instruction (blank lines keep
    them, an empty ``#`` drops them, the directives at the top are not comments): ``PrevComment``."""
    block: list[str] = []
    n = line - 1
    lines = df.parsed.lines
    first = len(df.parsed.directives) + 1
    while n >= first and (n in df.parsed.comments or not lines[n - 1].strip()):
        if n in df.parsed.comments:
            if not df.parsed.comments[n]:
                break
            block.insert(0, df.parsed.comments[n])
        n -= 1
    return block


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


def _default_scope(df: Dockerfile) -> dict[str, str]:
    """The global ARGs as a check sees them: the real automatic values, then the ARG defaults."""
    host = Platform.host()
    scope = platform_args(host, host, stage=df.stages[-1].name)
    for arg in df.meta_args:
        for a in arg.args:
            if a.default is not None:
                with contextlib.suppress(ExpansionError):
                    scope[a.name] = expand(a.default, scope, escape=df.parsed.escape).text
    return scope


def _base_images(df: Dockerfile, base_config: BaseConfig, base_env: dict[int, dict[str, str]]) -> Iterator[Finding]:
    """Resolve each image a FROM names (with the ARG defaults and the real platform values)."""
    host = Platform.host()
    scope = _default_scope(df)
    for stage in df.stages:
        try:
            ref = expand(stage.base.image, scope, escape=df.parsed.escape).text
            wanted = Platform.parse(expand(stage.base.platform, scope, escape=df.parsed.escape).text) \
                if stage.base.platform else host
        except (ExpansionError, UsageError):
            continue
        if not ref or ref == "scratch" or df.parent(stage, ref) is not None:
            continue
        image = base_config(ref, wanted)
        if image is None:
            continue
        base_env[stage.index] = dict(e.partition("=")[::2] for e in image.config.env)
        actual = image.platform
        if not wanted.matches(actual):  # convert.go resolveBaseImage: platforms.Only(expected).Match(actual)
            yield Finding(stage.base.line, "InvalidBaseImagePlatform",
                          f"Base image {ref} was pulled with platform {_go_quote(str(actual.normal()))}, expected "
                          f"{_go_quote(str(wanted))} for current build")
