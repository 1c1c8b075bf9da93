"""RUN ``--mount`` specs to graph mounts, with BuildKit's defaults filled in.

The graph must be explicit for the engine: a bind mount names its source state and path, a
cache mount its id (the target path unless ``id=`` is given) and sharing mode, a secret its
id and file path (``/run/secrets/ID``) or env var, an ssh mount its agent id and socket path.
Secrets and ssh ids are recorded so ``--call=outline`` can list what a target needs.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.runmount import MountError, parse_mount, secret_id_and_target, ssh_id_and_target
from dockyard.dockerfile.scope import Converter, StageScope
from dockyard.graph.ops import Mount


def mount_flag_text(spec: str) -> str:
    return f"--mount={spec}"


def build_mounts(conv: Converter, scope: StageScope, item: ins.Run, env: Mapping[str, str]) -> tuple[Mount, ...]:
    """One :class:`Mount` per ``--mount`` of ``item``, expanded with ``env``."""
    out: list[Mount] = []
    cwd = scope.workdir
    for spec in item.mounts:
        try:
            m = parse_mount(spec, expand=lambda word: conv.expand(word, env, item.line))
        except MountError as exc:
            raise conv.fail(f"RUN --mount={spec}: {exc}", item.line) from None
        target = m.target if not m.target or m.target.startswith("/") else posixpath.join(cwd, m.target)
        if m.type == "bind":
            source = (conv.context if not m.from_
                      else conv.source_for(m.from_, item.line, scope=scope, mount_target=target)[0])
            out.append(Mount(type="bind", target=target, source=source, selector=m.source or "/", readonly=m.readonly))
        elif m.type == "cache":
            seed = conv.source_for(m.from_, item.line, scope=scope, mount_target=target)[0] if m.from_ else None
            out.append(
                Mount(
                    type="cache",
                    target=target,
                    source=seed,
                    selector=m.source if m.from_ else "",
                    readonly=m.readonly,
                    cache_id=m.id or target,
                    sharing=m.sharing or "shared",
                    mode=m.mode if m.mode is not None else 0o755,
                    uid=m.uid or 0,
                    gid=m.gid or 0,
                )
            )
        elif m.type == "tmpfs":
            out.append(Mount(type="tmpfs", target=target, size=m.size))
        elif m.type == "secret":
            ident, path = secret_id_and_target(m)
            conv.usage.secrets[ident] = conv.usage.secrets.get(ident, False) or m.required
            out.append(
                Mount(
                    type="secret",
                    target=path,
                    secret_id=ident,
                    env=m.env,
                    required=m.required,
                    readonly=True,
                    mode=m.mode if m.mode is not None else 0o400,
                    uid=m.uid or 0,
                    gid=m.gid or 0,
                )
            )
        else:
            ident, path = ssh_id_and_target(m)
            conv.usage.ssh[ident] = conv.usage.ssh.get(ident, False) or m.required
            out.append(
                Mount(
                    type="ssh",
                    target=path,
                    ssh_id=ident,
                    required=m.required,
                    readonly=True,
                    mode=m.mode if m.mode is not None else 0o600,
                    uid=m.uid or 0,
                    gid=m.gid or 0,
                )
            )
    return tuple(out)
