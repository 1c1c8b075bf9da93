"""RUN --mount: turning the graph's mounts into runtime mounts for the duration of one step.

Each kind has its own lifetime rule, which is why this is a context manager: bind views of
other stages are read-only overlays that are dropped afterwards (writes are discarded); the
build context is seen as COPY sees it, with .dockerignore applied;
cache mounts are directories kept in the store between builds, locked when asked;
secrets are written to a private tmpfs (:mod:`dockyard.store.tmpfs`), bind-mounted read-only,
and unmounted when the step ends, so they can never reach a layer, the history or a log; an ssh mount
is a socket of its own relaying to the client's agent (:mod:`.agentsocket`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.engine.agentsocket import AgentSocket
from dockyard.engine.contextcheck import check_unchanged, keyed_selection
from dockyard.engine.copy import CopySpec, copy_into
from dockyard.engine.results import ContextResult, FsResult, Result
from dockyard.errors import BuildError, UsageError
from dockyard.executor.base import Mount as RunMount
from dockyard.graph import ops
from dockyard.graph.cachekey import bind_spec
from dockyard.oci.rootpath import resolve
from dockyard.selector import PatternMatcher, SelectionError, SourceTree
from dockyard.store.diskusage import mark_used
from dockyard.store.lock import FileLock
from dockyard.store.owner import stamp
from dockyard.store.snapshots import Snapshotter
from dockyard.store.tmpfs import private_tmpfs


@dataclass(frozen=True, kw_only=True)
class Secret:
    """A build secret from ``--secret id=ID,src=FILE`` or ``id=ID,env=VAR``; read only when mounted.

    On a remote node the value arrives in the solve request and is held in memory only
    (``data``, never in a repr): the node has neither the client's file nor its environment.
    """

    id: str
    src: Path | None = None
    env: str | None = None
    data: bytes | None = field(default=None, repr=False, compare=False)

    def value(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.src is not None:
            try:
                return self.src.read_bytes()
            except OSError as exc:
                raise UsageError(f"secret {self.id}: cannot read {self.src}: {exc.strerror}") from exc
        if self.env is not None and self.env in os.environ:
            return os.environ[self.env].encode()
        raise UsageError(f"secret {self.id}: environment variable {self.env} is not set")


def parse_secret(text: str) -> Secret:
    """``id=ID[,src=FILE|,env=VAR]`` (``type=file|env`` accepted), as buildx takes ``--secret``."""
    fields = dict(part.partition("=")[::2] for part in text.split(",") if part)
    ident = fields.get("id")
    if not ident:
        raise UsageError(f"invalid --secret {text!r}: id is required", hint="e.g. --secret id=token,src=./token.txt")
    src = fields.get("src") or fields.get("source")
    env = fields.get("env")
    if src is None and env is None:
        if fields.get("type") == "env":
            env = ident
        elif Path(ident).exists():
            src = ident
        else:
            env = ident
    return Secret(id=ident, src=Path(src) if src else None, env=env)


@dataclass
class StepMounts:
    """The runtime mounts and extra environment of one RUN step; ``close`` undoes everything."""

    mounts: list[RunMount] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    _cleanup: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _after: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        self._cleanup.close()

    def check_after_run(self) -> None:
        """Raise if what the step read in place is not what its key hashed (the context bound in
        place changed while the step ran: :mod:`dockyard.engine.contextcheck`)."""
        for check in self._after:
            check()


def _cache_dir(mount: ops.Mount, root: Path) -> Path:
    return cache_mount_dir(cache_mount_id(mount), root)


def cache_mount_id(mount: ops.Mount) -> str:
    """The id a cache mount is kept (and exported, with ``cache-mounts=true``) under."""
    return mount.cache_id or mount.target


def cache_mount_dir(ident: str, root: Path) -> Path:
    """Where the cache mount ``ident`` lives in the store at ``root``."""
    return root / "cachemounts" / hashlib.sha256(ident.encode()).hexdigest()[:20]


def prepare(
    mounts: tuple[ops.Mount, ...],
    *,
    sources: Callable[[ops.Op], Result],
    snapshots: Snapshotter,
    secrets: Mapping[str, Secret],
    ssh: Mapping[str, str],
    step: str,
    root: Path,
) -> StepMounts:
    """Set up every mount of a step; on error, whatever was set up is undone."""
    out = StepMounts()
    try:
        for mount in mounts:
            _one(mount, out, sources=sources, snapshots=snapshots, secrets=secrets, ssh=ssh, step=step, root=root)
    except BaseException:
        out.close()
        raise
    return out


def _one(mount: ops.Mount, out: StepMounts, *, sources: Callable[[ops.Op], Result], snapshots: Snapshotter,
         secrets: Mapping[str, Secret], ssh: Mapping[str, str], step: str, root: Path) -> None:
    kind = mount.type
    if kind == "bind":
        host = _bind_source(mount, out, sources=sources, snapshots=snapshots, step=step, root=root)
        out.mounts.append(RunMount(target=mount.target, source=str(host), readonly=mount.readonly))
    elif kind == "cache":
        out.mounts.append(RunMount(target=mount.target, source=str(_cache(mount, out, root)), readonly=mount.readonly))
    elif kind == "tmpfs":
        options = (f"size={mount.size}",) if mount.size else ()
        out.mounts.append(RunMount(target=mount.target, kind="tmpfs", options=options))
    elif kind == "secret":
        _secret(mount, out, secrets=secrets, step=step, root=root)
    elif kind == "ssh":
        _ssh(mount, out, ssh=ssh, step=step)
    else:
        raise BuildError(f"{step}: unsupported mount type {kind!r}")


def _cache(mount: ops.Mount, out: StepMounts, root: Path) -> Path:
    """The cache mount's directory, locked for ``locked``/``private`` sharing; a busy ``private`` one
    gets a throw-away stand-in. The kept directory is marked used when the step lets go of it (before
    its lock is: callbacks run last first), so that the store's recorded size of it is measured again."""
    directory = _cache_dir(mount, root)
    if not directory.exists():
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, mount.mode if mount.mode is not None else 0o755)
        os.chown(directory, mount.uid or 0, mount.gid or 0)
    if mount.sharing in ("locked", "private"):
        lock = FileLock(directory.with_suffix(".lock"))
        if lock.acquire(exclusive=True, blocking=mount.sharing == "locked"):
            out._cleanup.callback(lock.release)
        else:
            stand_in = Path(tempfile.mkdtemp(prefix=stamp("cachemount-"), dir=directory.parent))
            out._cleanup.callback(shutil.rmtree, stand_in, True)
            return stand_in
    out._cleanup.callback(mark_used, directory)
    return directory


def _ssh(mount: ops.Mount, out: StepMounts, *, ssh: Mapping[str, str], step: str) -> None:
    """The step's own socket relaying to the forwarded agent, with the mount's owner and mode."""
    sock = ssh.get(mount.ssh_id or "default")
    if sock is None:
        if mount.required:
            raise BuildError(f"{step}: ssh agent {mount.ssh_id or 'default'!r} was not forwarded",
                             hint="pass --ssh default (uses $SSH_AUTH_SOCK)")
        return
    target = mount.target or "/run/buildkit/ssh_agent.0"
    try:
        relay = AgentSocket(sock, uid=mount.uid or 0, gid=mount.gid or 0,
                            mode=mount.mode if mount.mode is not None else 0o600)
    except OSError as exc:
        raise BuildError(f"{step}: cannot make the socket of ssh mount {target}: {exc.strerror}") from None
    out._cleanup.callback(relay.close)
    out.mounts.append(RunMount(target=target, source=str(relay.path), readonly=True))
    out.env.append(f"SSH_AUTH_SOCK={target}")


def _bind_source(mount: ops.Mount, out: StepMounts, *, sources: Callable[[ops.Op], Result],
                 snapshots: Snapshotter, step: str, root: Path) -> Path:
    if mount.source is None:
        root = Path(tempfile.mkdtemp(prefix=stamp("scratch-"), dir=root))
        out._cleanup.callback(shutil.rmtree, root, True)
    else:
        result = sources(mount.source)
        if isinstance(result, ContextResult):
            return _context_bind(result, mount, out, step=step, root=root)
        assert isinstance(result, FsResult)
        view = snapshots.prepare(result.top)
        out._cleanup.callback(view.abort)
        root = view.mount()
    host = Path(os.fsdecode(resolve(root, mount.selector or "/")))
    if not host.exists():
        raise BuildError(f"{step}: bind source {mount.selector or '/'} does not exist")
    return host


def _context_bind(context: ContextResult, mount: ops.Mount, out: StepMounts, *, step: str, root: Path) -> Path:
    """The build context as BuildKit hands it to a step: .dockerignore applied, symlinks resolved
    inside it. Excluded files are never visible, so a filtered context (or a read-write mount,
    whose writes are discarded) is a private copy made by the same selector and copier as COPY
    (owners root, as BuildKit's file sync sends them); an unfiltered read-only one is bound in place."""
    selector = mount.selector or "/"
    tree = SourceTree(context.directory, ignore=PatternMatcher(context.excludes))
    try:
        node = tree.lookup(selector)
    except SelectionError as exc:
        raise BuildError(f"{step}: bind source {selector}: {exc}") from None
    if node is None:
        raise BuildError(f"{step}: bind source {selector} does not exist in the build context "
                         "(or is excluded by .dockerignore)")
    keyed = keyed_selection(context, bind_spec(mount.selector), context.excludes)  # what its key hashed
    if not tree.filtered and mount.readonly:
        out._after.append(lambda: check_unchanged(keyed, step))
        return Path(os.fsdecode(node.host))
    holder = Path(tempfile.mkdtemp(prefix=stamp("context-"), dir=root))
    out._cleanup.callback(shutil.rmtree, holder, True)
    copy_into(source_root=context.directory, dest_root=holder,
              spec=CopySpec(paths=(node.rel,), dest="/context", allow_wildcard=False,
                            context_excludes=context.excludes))
    check_unchanged(keyed, step)
    if node.is_dir:  # the copy made /context as a destination (0755); the mount shows the source's mode
        os.chmod(holder / "context", stat.S_IMODE(node.st.st_mode))
    return holder / "context"


def _secret(mount: ops.Mount, out: StepMounts, *, secrets: Mapping[str, Secret], step: str, root: Path) -> None:
    secret = secrets.get(mount.secret_id)
    if secret is None:
        if mount.required:
            raise BuildError(f"{step}: secret {mount.secret_id!r} was not provided",
                             hint=f"pass --secret id={mount.secret_id},src=FILE")
        return
    value = secret.value()
    if mount.env:
        out.env.append(f"{mount.env}={value.decode(errors='replace')}")
        if not mount.target:
            return
    holder = out._cleanup.enter_context(private_tmpfs(root / "run", "secrets"))
    path = holder / "secret"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
    os.chmod(path, mount.mode if mount.mode is not None else 0o400)
    os.chown(path, mount.uid or 0, mount.gid or 0)
    target = mount.target or f"/run/secrets/{mount.secret_id}"
    out.mounts.append(RunMount(target=target, source=str(path), readonly=True))

