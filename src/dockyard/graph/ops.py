"""The operations of a build graph: sources, exec, file operations and merge.

Every op is an immutable value that names its inputs (other ops) and carries everything an
executor needs, already expanded: no Dockerfile knowledge is required downstream. A
filesystem state is "an op" (its output) or ``None`` (scratch, the empty filesystem).

Ops compare by identity (``eq=False``): two equal ops built separately are two vertices,
and their *semantic* identity is their cache key (:mod:`dockyard.graph.cachekey`), which is
what an engine should use to deduplicate work, also across platforms. Fields marked
``semantic=False`` (line numbers, descriptions) are for people and never enter the key.

Graph shape per platform (a "subgraph"): the final state of the target stage is the root;
walk it with :func:`dockyard.graph.walk.topological` to get the ops inputs-first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.platform import Platform


def _meta() -> dict[str, bool]:
    return {"semantic": False}


@dataclass(frozen=True, eq=False, kw_only=True)
class Op:
    """Base of all ops. ``line`` and ``description`` are informational only."""

    description: str = field(default="", metadata=_meta())
    line: int = field(default=0, metadata=_meta())

    @property
    def inputs(self) -> tuple[Op, ...]:
        """The ops this op reads, in a fixed order (``None`` inputs, i.e. scratch, are left out)."""
        return ()


State = Op | None
"""A filesystem: the output of an op, or None for the empty filesystem (``scratch``)."""


@dataclass(frozen=True, eq=False, kw_only=True)
class ImageSource(Op):
    """The root filesystem of ``ref`` (as written after expansion, e.g. ``alpine:3.19``) for ``platform``."""

    ref: str
    platform: Platform


@dataclass(frozen=True, eq=False, kw_only=True)
class ContextSource(Op):
    """The local build context directory; ``excludes`` are the .dockerignore patterns.

    The op itself has no content key: each op that reads from it adds the checksums of the
    exact files it reads (see :mod:`dockyard.graph.contenthash`).
    """

    name: str = "context"
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False, kw_only=True)
class HttpSource(Op):
    """A file downloaded from ``url`` (ADD with a URL); ``checksum`` pins it when given."""

    url: str
    checksum: str = ""
    filename: str = ""
    chmod: str = ""


@dataclass(frozen=True, eq=False, kw_only=True)
class GitSource(Op):
    """A git checkout (ADD with a git URL): ``remote`` at ``ref`` (branch, tag or commit)."""

    remote: str
    ref: str = ""
    subdir: str = ""
    keep_git_dir: bool = False


@dataclass(frozen=True, eq=False, kw_only=True)
class Mount:
    """One mount of an exec.

    ``type`` is ``layer`` (the root filesystem, ``target="/"``; the exec's output), ``bind``
    (``source`` op at ``selector``, read-only unless ``readonly=False``, changes discarded),
    ``cache`` (persistent directory keyed by ``cache_id``, ``sharing`` shared|private|locked,
    seeded from ``source`` if given), ``tmpfs`` (``size`` bytes, 0 = default), ``secret``
    (file from the client's secret ``secret_id``, or env var ``env``) or ``ssh`` (agent socket
    ``ssh_id``). ``mode``/``uid``/``gid`` apply to cache, secret and ssh mounts.
    """

    type: str
    target: str
    source: State = None
    selector: str = ""
    readonly: bool = False
    cache_id: str = ""
    sharing: str = ""
    size: int = 0
    secret_id: str = ""
    ssh_id: str = ""
    env: str = ""
    required: bool = False
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None


@dataclass(frozen=True, eq=False, kw_only=True)
class Exec(Op):
    """Run ``argv`` on ``root`` for ``platform``; the output is the changed root filesystem.

    ``env`` is the full ``NAME=value`` list (image ENV, then build ARGs in scope, then PATH
    default if missing), ``cwd`` the working directory, ``user`` as written (``name[:group]``
    or ids; resolve it inside ``root``). ``network`` is default|none|host, ``security``
    sandbox|insecure. ``mounts`` do not include the root layer.
    """

    root: State
    argv: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    user: str
    platform: Platform
    mounts: tuple[Mount, ...] = ()
    network: str = "default"
    security: str = "sandbox"

    @property
    def inputs(self) -> tuple[Op, ...]:
        found = [self.root] + [m.source for m in self.mounts]
        return tuple(op for op in found if op is not None)


@dataclass(frozen=True, eq=False, kw_only=True)
class Copy(Op):
    """Copy ``paths`` of ``source`` into ``dest`` of ``root`` (COPY and ADD).

    Paths may hold wildcards (``allow_wildcard``); ``dest`` ending in ``/`` is a directory.
    ``chown`` is ``user[:group]`` (names resolved in ``root``), ``chmod`` octal or symbolic,
    ``excludes`` patterns to leave out, ``parents`` keeps the source's directory structure
    (COPY --parents), ``unpack`` extracts local archives (ADD), ``follow_symlinks`` follows
    a symlink given as a source. ``platform`` is where ``chown`` names are resolved.
    """

    root: State
    source: State
    paths: tuple[str, ...]
    dest: str
    platform: Platform
    chown: str = ""
    chmod: str = ""
    excludes: tuple[str, ...] = ()
    parents: bool = False
    unpack: bool = False
    follow_symlinks: bool = True
    allow_wildcard: bool = True
    create_dest_path: bool = True
    workdir: str = "/"

    @property
    def inputs(self) -> tuple[Op, ...]:
        return tuple(op for op in (self.root, self.source) if op is not None)


@dataclass(frozen=True, eq=False, kw_only=True)
class Mkdir(Op):
    """Create ``path`` (with parents) in ``root`` unless it exists (WORKDIR)."""

    root: State
    path: str
    platform: Platform
    mode: int = 0o755
    chown: str = ""

    @property
    def inputs(self) -> tuple[Op, ...]:
        return (self.root,) if self.root is not None else ()


@dataclass(frozen=True, eq=False, kw_only=True)
class Mkfile(Op):
    """Write ``data`` to ``path`` in ``root`` (heredoc sources of COPY/ADD)."""

    root: State
    path: str
    data: str
    platform: Platform
    mode: int = 0o644
    chown: str = ""

    @property
    def inputs(self) -> tuple[Op, ...]:
        return (self.root,) if self.root is not None else ()


@dataclass(frozen=True, eq=False, kw_only=True)
class Rm(Op):
    """Remove ``path`` from ``root``."""

    root: State
    path: str
    platform: Platform
    allow_not_found: bool = True

    @property
    def inputs(self) -> tuple[Op, ...]:
        return (self.root,) if self.root is not None else ()


@dataclass(frozen=True, eq=False, kw_only=True)
class Merge(Op):
    """Stack ``layers`` in order (later on top). COPY --link = Merge(base, copy onto scratch),
    so the copied layer does not depend on the base and survives a base change."""

    layers: tuple[State, ...]
    platform: Platform

    @property
    def inputs(self) -> tuple[Op, ...]:
        return tuple(op for op in self.layers if op is not None)
