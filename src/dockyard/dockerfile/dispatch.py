"""One handler per instruction: expand its words, update the stage's state and config.

Handlers follow BuildKit's rules: RUN/CMD/ENTRYPOINT/HEALTHCHECK commands are not expanded
(the shell does that at run time); paths, ENV/LABEL/ARG values, USER, WORKDIR, EXPOSE,
VOLUME, STOPSIGNAL and flag values are. ENV wins over ARG of the same name. Relative
destinations and WORKDIRs resolve against the current WORKDIR. Every instruction adds a
history entry whose ``created_by`` matches what BuildKit writes.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TypeVar

from dockyard.dockerfile import configvalues
from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.mounts import build_mounts, mount_flag_text
from dockyard.dockerfile.scope import Converter, StageScope, Step
from dockyard.graph.ops import Copy, Exec, GitSource, HttpSource, Merge, Mkdir, Mkfile, Mount, Op, State

T = TypeVar("T", bound=ins.Instruction)
MAX_ID = 2**32 - 2  # the largest uid/gid: --chown beyond it is an error at its line, not at chown(2)


def _go_quote(items: tuple[str, ...]) -> str:
    """Go's ``%q`` of a string slice, as BuildKit writes CMD/ENTRYPOINT history."""
    return "[" + " ".join(json.dumps(i, ensure_ascii=False) for i in items) + "]"


def _resolve(path: str, workdir: str) -> str:
    """An absolute, normalised path; a trailing slash (meaning "a directory") is kept."""
    joined = path if path.startswith("/") else posixpath.join(workdir or "/", path)
    normal = posixpath.normpath(joined)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    if (path.endswith("/") or path.endswith("/.") or path == ".") and normal != "/":
        normal += "/"
    return normal


def _cwd(scope: StageScope) -> str:
    return scope.workdir


def _command(scope: StageScope, args: tuple[str, ...], json_form: bool) -> tuple[str, ...]:
    return args if json_form else (*scope.shell, " ".join(args))


def _run(conv: Converter, scope: StageScope, item: ins.Run) -> None:
    env = scope.expansion_env()
    argv = _command(scope, item.args, item.json)
    script_mounts: tuple[Mount, ...] = ()
    if item.heredocs and not item.json:
        first = item.heredocs[0]
        marker = item.args[0].strip().lstrip("<").lstrip("-").strip("'\"")
        if len(item.heredocs) == 1 and marker == first.name and first.content.startswith("#!"):
            # A script with its own interpreter runs as a file, not through the shell.
            script = Mkfile(
                root=None,
                path=f"/{first.name}",
                data=first.content,
                mode=0o755,
                platform=scope.platform,
                line=item.line,
                description=f"RUN <<{first.name}",
            )
            target = f"/dev/pipes/{first.name}"
            script_mounts = (
                Mount(type="bind", target=target, source=script, selector=f"/{first.name}", readonly=True),
            )
            argv = (target,)
        elif len(item.heredocs) == 1 and marker == first.name:
            argv = (*scope.shell, first.content)
        else:
            script_text = item.args[0] + "\n" + "".join(h.content + h.name + "\n" for h in item.heredocs)
            argv = (*scope.shell, script_text)
    mounts = (*build_mounts(conv, scope, item, env), *script_mounts)
    op = _exec_op(scope, argv=argv, env=tuple(f"{k}={v}" for k, v in env.items()), mounts=mounts, item=item)
    scope.state = op
    prefix = _build_args_prefix(scope)
    flags = "".join(mount_flag_text(conv.expand(m, env, item.line)) + " " for m in item.mounts)
    if item.network != "default":
        flags += f"--network={item.network} "
    if item.security != "sandbox":
        flags += f"--security={item.security} "
    created = f"RUN {flags}{prefix}{' '.join(argv)} # buildkit"
    scope.add_history(created, empty_layer=False)
    scope.steps.append(Step(scope.stage.label, item.line, f"RUN {flags}{' '.join(argv)}", op))


def _build_args_prefix(scope: StageScope) -> str:
    """The ``|N K=V ...`` BuildKit puts before a RUN's command in history (``runCommandString``):
    every ARG the stage declared or inherited, once, valued from the build env (so an ENV of the
    same name shows), else as declared ("" when it has no value)."""
    values: dict[str, str] = {}
    for name, declared in scope.build_args:
        if name not in values:
            values[name] = scope.build_env.get(name, declared or "")
    if not values:
        return ""
    return f"|{len(values)} " + " ".join(f"{k}={v}" for k, v in values.items()) + " "


def _exec_op(
    scope: StageScope,
    *,
    argv: tuple[str, ...],
    env: tuple[str, ...],
    mounts: tuple[Mount, ...],
    item: ins.Run,
) -> Op:
    return Exec(
        root=scope.state,
        argv=argv,
        env=env,
        cwd=_cwd(scope),
        user=scope.user,
        platform=scope.platform,
        mounts=mounts,
        network=item.network,
        security=item.security,
        line=item.line,
        description=f"[{scope.stage.label}] RUN {' '.join(argv)}",
    )


def _is_url(src: str) -> bool:
    return src.startswith(("http://", "https://"))


def _is_git(src: str) -> bool:
    base = src.split("#", 1)[0]
    return src.startswith(("git@", "git://")) or base.endswith(".git")


def _copy(conv: Converter, scope: StageScope, item: ins.Copy | ins.Add) -> None:
    env = scope.expansion_env()
    keyword = "COPY" if isinstance(item, ins.Copy) else "ADD"
    sources = tuple(conv.expand(s, env, item.line) for s in item.sources)
    dest = _resolve(conv.expand(item.dest, env, item.line), _cwd(scope))
    chown = conv.expand(item.chown, env, item.line)
    for number in (part for part in chown.split(":") if part.isdigit()):
        if int(number) > MAX_ID:  # uid_t is 32 bits, and (uid_t)-1 means "leave unchanged" to chown(2)
            raise conv.fail(f"invalid --chown={chown}: {number} is out of range (0-{MAX_ID})", item.line)
    chmod = conv.expand(item.chmod, env, item.line)
    excludes = tuple(conv.expand(e, env, item.line) for e in item.excludes)
    groups: list[tuple[State, tuple[str, ...], bool]] = []
    from_text = ""
    if isinstance(item, ins.Copy) and item.from_:
        ref = conv.expand(item.from_, env, item.line)
        from_text = ref
        state, _ = conv.source_for(ref, item.line, scope=scope)
        groups.append((state, sources, False))
    else:
        local = tuple(s for s in sources if not (isinstance(item, ins.Add) and (_is_url(s) or _is_git(s))))
        if local:
            unpack = isinstance(item, ins.Add) and item.unpack is not False
            groups.append((conv.context, local, unpack))
        if isinstance(item, ins.Add):
            checksum = _checksum(conv, item, sources, env)
            for src in sources:
                if _is_git(src):
                    remote, _, fragment = src.partition("#")
                    ref, _, subdir = fragment.partition(":")
                    git = GitSource(
                        remote=remote,
                        ref=ref,
                        subdir=subdir,
                        keep_git_dir=item.keep_git_dir,
                        line=item.line,
                        description=f"ADD {src}",
                    )
                    groups.append((git, ("/",), False))
                elif _is_url(src):
                    name = posixpath.basename(src.split("?", 1)[0].rstrip("/")) or "index.html"
                    http = HttpSource(
                        url=src, checksum=checksum, filename=name, line=item.line, description=f"ADD {src}"
                    )
                    groups.append((http, (name,), bool(item.unpack)))
    for doc in item.inline:
        # BuildKit ExpandRaw: a fresh lexer with "\\" as escape and SkipProcessQuotes (quotes stay)
        data = conv.expand(doc.content, env, item.line, escape="\\", skip_quotes=True) if doc.expand else doc.content
        made = Mkfile(
            root=None,
            path="/" + doc.name,
            data=data,
            platform=scope.platform,
            line=item.line,
            description=f"{keyword} <<{doc.name}",
        )
        groups.append((made, (doc.name,), False))
    state = scope.state
    for source, paths, unpack in groups:
        copy = Copy(
            root=None if item.link else state,
            source=source,
            paths=paths,
            dest=dest,
            platform=scope.platform,
            chown=chown,
            chmod=chmod,
            excludes=excludes,
            parents=isinstance(item, ins.Copy) and item.parents,
            unpack=unpack,
            workdir=_cwd(scope),
            line=item.line,
            description=f"[{scope.stage.label}] {keyword} {' '.join(paths)} {dest}",
        )
        state = (
            Merge(
                layers=(state, copy),
                platform=scope.platform,
                line=item.line,
                description=f"[{scope.stage.label}] merge {keyword} --link",
            )
            if item.link
            else copy
        )
    scope.state = state
    shown = [*sources, *(f"<<{d.name}" for d in item.inline)]
    flags = _copy_flags(item, from_text=from_text, chown=chown, chmod=chmod, excludes=excludes)
    created = f"{keyword} {' '.join(shown)} {dest} # buildkit"
    scope.add_history(created, empty_layer=False)
    scope.steps.append(
        Step(
            scope.stage.label,
            item.line,
            f"{keyword} {flags}{' '.join(shown)} {dest}",
            state if isinstance(state, Op) else None,
        )
    )


def _checksum(conv: Converter, item: ins.Add, sources: tuple[str, ...], env: Mapping[str, str]) -> str:
    """``--checksum``, checked as BuildKit's dispatchCopy (convert_copy.go) and digest.Parse check it."""
    if not item.checksum:
        return ""
    checksum = conv.expand(item.checksum, env, item.line)
    if len(sources) != 1:
        raise conv.fail("ADD --checksum: checksum can't be specified for multiple sources", item.line)
    if not (_is_url(sources[0]) or _is_git(sources[0])):
        raise conv.fail("ADD --checksum: checksum requires HTTP(S) or Git sources", item.line,
                        hint="for a file of the context, the context itself is what the build trusts")
    if _is_url(sources[0]):
        try:
            configvalues.checksum_digest(checksum)
        except configvalues.InvalidValue as exc:
            raise conv.fail(f"ADD --checksum={checksum}: {exc}", item.line, hint="e.g. --checksum=sha256:<64 hex>") \
                from None
    return checksum


def _copy_flags(item: ins.Copy | ins.Add, *, from_text: str, chown: str, chmod: str, excludes: tuple[str, ...]) -> str:
    """The expanded flags of a COPY/ADD as they are shown in plans."""
    parts = [f"--from={from_text}"] if from_text else []
    parts += [f"--chown={chown}"] if chown else []
    parts += [f"--chmod={chmod}"] if chmod else []
    parts += ["--link"] if item.link else []
    parts += ["--parents"] if isinstance(item, ins.Copy) and item.parents else []
    parts += [f"--exclude={e}" for e in excludes]
    if isinstance(item, ins.Add):
        parts += [f"--checksum={item.checksum}"] if item.checksum else []
        parts += ["--keep-git-dir"] if item.keep_git_dir else []
        parts += [f"--unpack={str(item.unpack).lower()}"] if item.unpack is not None else []
    return "".join(p + " " for p in parts)


def _workdir(conv: Converter, scope: StageScope, item: ins.Workdir) -> None:
    path = conv.expand(item.path, scope.expansion_env(), item.line)
    path = posixpath.normpath(_resolve(path, _cwd(scope)))
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    scope.config = scope.config.with_container(working_dir=path)
    if path == "/":
        # dispatchWorkdir: no mkdir for the root, and the history row adds no layer
        _meta(scope, item.line, f"WORKDIR {path}")
        return
    op = Mkdir(
        root=scope.state,
        path=path,
        platform=scope.platform,
        chown=scope.user,
        line=item.line,
        description=f"[{scope.stage.label}] WORKDIR {path}",
    )
    scope.state = op
    scope.add_history(f"WORKDIR {path}", empty_layer=False)
    scope.steps.append(Step(scope.stage.label, item.line, f"WORKDIR {path}", op))


def _meta(scope: StageScope, line: int, text: str) -> None:
    scope.add_history(text, empty_layer=True)
    scope.steps.append(Step(scope.stage.label, line, text))


def _env(conv: Converter, scope: StageScope, item: ins.Env) -> None:
    env = scope.expansion_env()
    pairs = [(conv.expand(k, env, item.line), conv.expand(v, env, item.line)) for k, v in item.pairs]
    for key, value in pairs:
        scope.set_image_env(key, value)
    _meta(scope, item.line, "ENV " + " ".join(f"{k}={v}" for k, v in pairs))


def _label(conv: Converter, scope: StageScope, item: ins.Label) -> None:
    env = scope.expansion_env()
    pairs = [(conv.expand(k, env, item.line), conv.expand(v, env, item.line)) for k, v in item.pairs]
    for key, value in pairs:
        scope.labels[key] = value
    _meta(scope, item.line, "LABEL " + " ".join(f"{k}={v}" for k, v in pairs))


def _arg(conv: Converter, scope: StageScope, item: ins.Arg) -> None:
    conv.declare_arg(scope, item)
    declared = scope.build_args[len(scope.build_args) - len(item.args):]
    shown = " ".join(name if value is None else f"{name}={value}" for name, value in declared)
    _meta(scope, item.line, f"ARG {shown}")


def _cmd(conv: Converter, scope: StageScope, item: ins.Cmd) -> None:
    cmd = _command(scope, item.args, item.json)
    scope.config = scope.config.with_container(cmd=cmd)
    scope.config_changed_cmd = True
    _meta(scope, item.line, f"CMD {_go_quote(cmd)}")


def _entrypoint(conv: Converter, scope: StageScope, item: ins.Entrypoint) -> None:
    entry = _command(scope, item.args, item.json)
    cmd = scope.config.config.cmd if scope.config_changed_cmd else None
    scope.config = scope.config.with_container(entrypoint=entry, cmd=cmd)
    _meta(scope, item.line, f"ENTRYPOINT {_go_quote(entry)}")


def _expose(conv: Converter, scope: StageScope, item: ins.Expose) -> None:
    env = scope.expansion_env()
    ports = set(scope.config.config.exposed_ports)
    added: list[str] = []
    for raw in item.ports:
        for word in conv.expand_words(raw, env, item.line):
            try:
                added += configvalues.expose_ports(word)
            except configvalues.InvalidValue as exc:
                raise conv.fail(f"EXPOSE: {exc}", item.line, hint="use PORT[/tcp|udp|sctp] with PORT 0-65535") \
                    from None
    ports.update(added)
    scope.config = scope.config.with_container(exposed_ports=tuple(sorted(ports)))
    _meta(scope, item.line, "EXPOSE [" + " ".join(added) + "]")  # Go's %v of the list, as dispatchExpose


def _volume(conv: Converter, scope: StageScope, item: ins.Volume) -> None:
    env = scope.expansion_env()
    paths = [conv.expand(p, env, item.line) for p in item.paths]
    volumes = sorted(set(scope.config.config.volumes) | set(paths))
    scope.config = scope.config.with_container(volumes=tuple(volumes))
    _meta(scope, item.line, f"VOLUME [{' '.join(paths)}]")


def _user(conv: Converter, scope: StageScope, item: ins.User) -> None:
    user = conv.expand(item.user, scope.expansion_env(), item.line)
    scope.config = scope.config.with_container(user=user)
    _meta(scope, item.line, f"USER {user}")


def _stopsignal(conv: Converter, scope: StageScope, item: ins.StopSignal) -> None:
    signal = conv.expand(item.signal, scope.expansion_env(), item.line)
    try:
        configvalues.stop_signal(signal)
    except configvalues.InvalidValue as exc:
        raise conv.fail(f"STOPSIGNAL: {exc}", item.line, hint="e.g. STOPSIGNAL SIGTERM or STOPSIGNAL 15") from None
    scope.config = scope.config.with_container(stop_signal=signal)
    _meta(scope, item.line, f"STOPSIGNAL {signal}")


def _healthcheck(conv: Converter, scope: StageScope, item: ins.Healthcheck) -> None:
    scope.config = scope.config.with_container(healthcheck=item.check)
    _meta(scope, item.line, f"HEALTHCHECK {' '.join(item.check.test)}")


def _shell(conv: Converter, scope: StageScope, item: ins.Shell) -> None:
    scope.config = scope.config.with_container(shell=item.argv)
    _meta(scope, item.line, f"SHELL {_go_quote(item.argv)}")


def _onbuild(conv: Converter, scope: StageScope, item: ins.Onbuild) -> None:
    scope.config = scope.config.with_container(on_build=(*scope.config.config.on_build, item.trigger))
    _meta(scope, item.line, f"ONBUILD {item.trigger}")


def _maintainer(conv: Converter, scope: StageScope, item: ins.Maintainer) -> None:
    name = conv.expand(item.name, scope.expansion_env(), item.line)
    scope.config = replace(scope.config, author=name or None)
    _meta(scope, item.line, f"MAINTAINER {name}")


_HANDLERS: dict[type[ins.Instruction], Callable[[Converter, StageScope, ins.Instruction], None]] = {}


def _register(kind: type[T], handler: Callable[[Converter, StageScope, T], None]) -> None:
    _HANDLERS[kind] = handler  # type: ignore[assignment]


for _kind, _handler in (
    (ins.Run, _run),
    (ins.Copy, _copy),
    (ins.Add, _copy),
    (ins.Workdir, _workdir),
    (ins.Env, _env),
    (ins.Label, _label),
    (ins.Arg, _arg),
    (ins.Cmd, _cmd),
    (ins.Entrypoint, _entrypoint),
    (ins.Expose, _expose),
    (ins.Volume, _volume),
    (ins.User, _user),
    (ins.StopSignal, _stopsignal),
    (ins.Healthcheck, _healthcheck),
    (ins.Shell, _shell),
    (ins.Onbuild, _onbuild),
    (ins.Maintainer, _maintainer),
):
    _register(_kind, _handler)  # type: ignore[arg-type]


def dispatch(conv: Converter, scope: StageScope, item: ins.Instruction) -> None:
    """Apply one instruction to the stage being converted."""
    _HANDLERS[type(item)](conv, scope, item)
