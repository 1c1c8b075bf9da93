"""Turn parsed commands into typed instructions, checking arguments and flags.

Everything that can be checked without knowing the build arguments is checked here, so a
wrong Dockerfile fails early with ``FILE:LINE`` and the offending text; expansion-dependent
checks (platform values, stage names given by variables) happen when the graph is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypedDict

from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.flags import FlagError, FlagKind, ParsedFlags, parse_duration, parse_flags
from dockyard.dockerfile.runmount import parse_mount
from dockyard.dockerfile.syntax import RawCommand
from dockyard.errors import DockerfileError
from dockyard.oci.config import Healthcheck
from dockyard.suggest import suggest

S, B, L = FlagKind.STRING, FlagKind.BOOL, FlagKind.LIST

FLAG_SPECS: dict[str, dict[str, FlagKind]] = {
    "FROM": {"platform": S},
    "RUN": {"mount": L, "network": S, "security": S},
    "COPY": {"from": S, "chown": S, "chmod": S, "link": B, "parents": B, "exclude": L},
    "ADD": {"chown": S, "chmod": S, "link": B, "checksum": S, "keep-git-dir": B, "unpack": B, "exclude": L},
    "HEALTHCHECK": {"interval": S, "timeout": S, "start-period": S, "start-interval": S, "retries": S},
}
KEYWORDS = (
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
)
NETWORK_MODES = ("default", "none", "host")
SECURITY_MODES = ("sandbox", "insecure")


class _Fail(Exception):
    """Internal: a message to be wrapped with the command's location."""


def _pairs(args: tuple[str, ...], keyword: str) -> tuple[tuple[str, str], ...]:
    if not args or len(args) % 2:
        raise _Fail(f"{keyword} requires at least one argument" if not args else f"{keyword}: odd pair list")
    return tuple((args[i], args[i + 1]) for i in range(0, len(args), 2))


def _legacy(cmd: RawCommand) -> bool:
    """True for ``ENV key value`` (no ``=``), which BuildKit still accepts but warns about."""
    rest = cmd.original.split(None, 1)[1] if len(cmd.original.split(None, 1)) > 1 else ""
    first = rest.split(None, 1)[0] if rest.strip() else ""
    return "=" not in first


def _heredocs(cmd: RawCommand) -> tuple[ins.HeredocSource, ...]:
    return tuple(ins.HeredocSource(name=h.name, content=h.content, expand=h.expand) for h in cmd.heredocs)


def _split_sources(cmd: RawCommand) -> tuple[tuple[str, ...], str, tuple[ins.HeredocSource, ...]]:
    if len(cmd.args) < 2:
        raise _Fail(
            f"{cmd.keyword} requires at least two arguments, but only one was provided. Destination "
            "could not be determined"
        )
    *sources, dest = cmd.args
    if dest.startswith("<<"):
        raise _Fail(f"{cmd.keyword} cannot accept a heredoc as a destination")
    docs = {h.name: h for h in _heredocs(cmd)}
    paths: list[str] = []
    inline: list[ins.HeredocSource] = []
    for src in sources:
        name = src.lstrip("<").lstrip("-").strip("'\"") if src.startswith("<<") and not cmd.json else ""
        if name and name in docs:
            inline.append(docs[name])
        else:
            paths.append(src)
    return tuple(paths), dest, tuple(inline)


class _Loc(TypedDict):
    line: int
    end_line: int
    original: str


def _common(cmd: RawCommand) -> _Loc:
    return {"line": cmd.line, "end_line": cmd.end_line, "original": cmd.original}


def _exactly_one(cmd: RawCommand) -> str:
    if len(cmd.args) != 1:
        raise _Fail(f"{cmd.keyword} requires exactly one argument")
    return cmd.args[0]


def _from(cmd: RawCommand, flags: ParsedFlags) -> ins.Instruction:
    args = cmd.args
    if len(args) not in (1, 3) or (len(args) == 3 and args[1].lower() != "as"):
        raise _Fail("FROM requires either one or three arguments (FROM image [AS name])")
    name = args[2].lower() if len(args) == 3 else ""
    if name and not _valid_stage_name(name):
        raise _Fail(f"invalid name for build stage: {args[2]!r}, name can't start with a number or contain symbols")
    return ins.From(image=args[0], name=name, platform=flags.string("platform"), **_common(cmd))


def _valid_stage_name(name: str) -> bool:
    return bool(name) and name[0].isalpha() and all(c.isalnum() or c in "-_." for c in name)


def _run(cmd: RawCommand, flags: ParsedFlags) -> ins.Instruction:
    if not cmd.args:
        raise _Fail("RUN requires at least one argument")
    network = flags.string("network", "default")
    if network not in NETWORK_MODES:
        raise _Fail(f"unsupported network mode {network!r}{suggest(network, NETWORK_MODES)}")
    security = flags.string("security", "sandbox")
    if security not in SECURITY_MODES:
        raise _Fail(f"unsupported security mode {security!r}{suggest(security, SECURITY_MODES)}")
    for spec in flags.many("mount"):
        parse_mount(spec, expand=None)
    return ins.Run(
        args=cmd.args,
        json=cmd.json,
        heredocs=_heredocs(cmd),
        mounts=flags.many("mount"),
        network=network,
        security=security,
        **_common(cmd),
    )


def _copy(cmd: RawCommand, flags: ParsedFlags) -> ins.Instruction:
    sources, dest, inline = _split_sources(cmd)
    return ins.Copy(
        sources=sources,
        dest=dest,
        inline=inline,
        from_=flags.string("from"),
        chown=flags.string("chown"),
        chmod=_chmod(flags.string("chmod")),
        link=flags.flag("link"),
        parents=flags.flag("parents"),
        excludes=flags.many("exclude"),
        **_common(cmd),
    )


def _chmod(value: str) -> str:
    if value and "$" not in value:
        octal = all(c in "01234567" for c in value)
        symbolic = all(c in "ugoa+-=rwxXst," for c in value)
        if not (octal and len(value) <= 4) and not symbolic:
            raise _Fail(f"invalid --chmod value {value!r} (use octal like 0755 or symbolic like u+x)")
    return value


def _add(cmd: RawCommand, flags: ParsedFlags) -> ins.Instruction:
    sources, dest, inline = _split_sources(cmd)
    checksum = flags.string("checksum")
    return ins.Add(
        sources=sources,
        dest=dest,
        inline=inline,
        chown=flags.string("chown"),
        chmod=_chmod(flags.string("chmod")),
        link=flags.flag("link"),
        checksum=checksum,
        keep_git_dir=flags.flag("keep-git-dir"),
        unpack=flags.bools.get("unpack"),
        excludes=flags.many("exclude"),
        **_common(cmd),
    )


def _healthcheck(cmd: RawCommand, flags: ParsedFlags) -> ins.Instruction:
    if not cmd.args:
        raise _Fail("HEALTHCHECK requires at least one argument")
    kind = cmd.args[0].upper()
    rest = cmd.args[1:]
    if kind == "NONE":
        if rest:
            raise _Fail("HEALTHCHECK NONE takes no arguments")
        return ins.Healthcheck(check=Healthcheck(test=("NONE",)), **_common(cmd))
    if kind != "CMD":
        raise _Fail(f"unknown type {cmd.args[0]!r} in HEALTHCHECK (try CMD)")
    if not rest:
        raise _Fail("missing command after HEALTHCHECK CMD")
    retries_text = flags.string("retries")
    try:
        retries = int(retries_text) if retries_text else 0
    except ValueError:
        raise _Fail(f"invalid --retries value {retries_text!r}: not an integer") from None
    if retries < 0:
        raise _Fail(f"--retries cannot be negative ({retries})")
    try:
        durations = {
            k: parse_duration(k, flags.string(k)) for k in ("interval", "timeout", "start-period", "start-interval")
        }
    except FlagError as exc:
        raise _Fail(str(exc)) from None
    test = ("CMD", *rest) if cmd.json else ("CMD-SHELL", *rest)
    check = Healthcheck(test=test, interval=durations["interval"], timeout=durations["timeout"],
                        start_period=durations["start-period"], start_interval=durations["start-interval"],
                        retries=retries)
    return ins.Healthcheck(check=check, **_common(cmd))


def _arg(cmd: RawCommand, flags: ParsedFlags, comments: Mapping[int, str]) -> ins.Instruction:
    if not cmd.args:
        raise _Fail("ARG requires at least one argument")
    block = preceding_comments(comments, cmd.line)
    defs = []
    for item in cmd.args:
        name, has_value, value = item.partition("=")
        if not name:
            raise _Fail("ARG names can not be blank")
        description = next((c[len(name) + 1 :] for c in block if c.startswith(name + " ")), "")
        defs.append(ins.ArgDef(name=name, default=value if has_value else None, description=description))
    return ins.Arg(args=tuple(defs), **_common(cmd))


def preceding_comments(comments: Mapping[int, str], line: int) -> list[str]:
    """The block of comment lines directly above ``line`` (top to bottom); an empty ``#`` line starts
    the block afresh, as BuildKit's parser drops the comments gathered so far on one (parser.go Parse)."""
    block: list[str] = []
    n = line - 1
    while n in comments:
        if not comments[n]:
            break
        block.insert(0, comments[n])
        n -= 1
    return block


def _simple(cmd: RawCommand, flags: ParsedFlags) -> ins.Instruction:  # noqa: C901, PLR0912 - one branch per simple instruction, mirroring BuildKit's instructions.parse
    kw = cmd.keyword
    common = _common(cmd)
    if kw in ("CMD", "ENTRYPOINT"):
        cls = ins.Cmd if kw == "CMD" else ins.Entrypoint
        return cls(args=cmd.args, json=cmd.json, **common)
    if kw in ("LABEL", "ENV"):
        pairs = _pairs(cmd.args, kw)
        if kw == "ENV":
            return ins.Env(pairs=pairs, legacy=_legacy(cmd), **common)
        return ins.Label(pairs=pairs, legacy=_legacy(cmd), **common)
    if kw == "MAINTAINER":
        return ins.Maintainer(name=_exactly_one(cmd), **common)
    if kw == "EXPOSE":
        if not cmd.args:
            raise _Fail("EXPOSE requires at least one argument")
        return ins.Expose(ports=cmd.args, **common)
    if kw == "VOLUME":
        if not cmd.args or any(not a.strip() for a in cmd.args):
            raise _Fail("VOLUME requires at least one non-empty argument")
        return ins.Volume(paths=tuple(a.strip() for a in cmd.args), **common)
    if kw == "USER":
        return ins.User(user=_exactly_one(cmd), **common)
    if kw == "WORKDIR":
        return ins.Workdir(path=_exactly_one(cmd), **common)
    if kw == "STOPSIGNAL":
        return ins.StopSignal(signal=_exactly_one(cmd), **common)
    if kw == "SHELL":
        if not cmd.json:
            raise _Fail("SHELL requires the arguments to be in JSON form")
        if not cmd.args:
            raise _Fail("SHELL requires at least one argument")
        return ins.Shell(argv=cmd.args, **common)
    if kw == "ONBUILD":
        trigger_kw = cmd.trigger.split(None, 1)[0].upper() if cmd.trigger.strip() else ""
        if trigger_kw in ("ONBUILD", "FROM", "MAINTAINER"):
            raise _Fail(f"{trigger_kw} isn't allowed as an ONBUILD trigger")
        if not trigger_kw:
            raise _Fail("ONBUILD requires at least one argument")
        return ins.Onbuild(trigger=cmd.trigger, **common)
    raise _Fail(f"unknown instruction: {cmd.written}")


_DECODERS: dict[str, Callable[[RawCommand, ParsedFlags], ins.Instruction]] = {
    "FROM": _from,
    "RUN": _run,
    "COPY": _copy,
    "ADD": _add,
    "HEALTHCHECK": _healthcheck,
}


def decode(cmd: RawCommand, *, filename: str, comments: Mapping[int, str]) -> ins.Instruction:
    """One typed instruction for ``cmd``; errors carry ``filename:line``."""
    if cmd.keyword not in KEYWORDS:
        raise DockerfileError(
            f"unknown instruction: {cmd.written}{suggest(cmd.keyword, KEYWORDS)}",
            file=filename,
            line=cmd.line,
        )
    try:
        flags = parse_flags(cmd.keyword, cmd.flags, FLAG_SPECS.get(cmd.keyword, {}))
        if cmd.keyword == "ARG":
            return _arg(cmd, flags, comments)
        return _DECODERS.get(cmd.keyword, _simple)(cmd, flags)
    except (_Fail, FlagError, ValueError) as exc:
        message = str(exc)
        if not message.startswith(cmd.keyword):
            message = f"{cmd.keyword}: {message}"
        raise DockerfileError(message, file=filename, line=cmd.line) from None
