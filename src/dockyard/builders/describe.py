"""What ``ls`` and ``inspect`` print: buildx's table and key/value shapes, plus JSON.

Kept apart from the CLI so the shapes can be tested directly and reused (e.g. by a
future ``--format`` on inspect). Platforms are shown as users write them
in containerd's normal form (``linux/arm64``, not ``linux/arm64/v8``); a ``*`` marks the ones ``--platform`` asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dockyard.builders.config import GCPolicy
from dockyard.builders.local import LocalNode
from dockyard.builders.summary import BuilderInfo, node_info, platform_label
from dockyard.rootless import mode

if TYPE_CHECKING:
    from dockyard.builders.builder import AnyNode, Builder

__all__ = ["gc_lines", "human_bytes", "inspect_text", "ls_json", "ls_table", "platforms_text"]


def platforms_text(node: AnyNode) -> str:
    """The comma-separated platforms of a node, ``*`` on configured ones."""
    configured = set(node.record.platforms)
    return ", ".join(platform_label(s.platform) + ("*" if s.platform in configured else "")
                     for s in node.platforms())


def ls_table(builders: Sequence[BuilderInfo]) -> str:
    """The NAME/NODE, DRIVER/ENDPOINT, STATUS, PLATFORMS table (``*`` after the builder in use)."""
    rows = [("NAME/NODE", "DRIVER/ENDPOINT", "STATUS", "PLATFORMS")]
    for b in builders:
        rows.append((b.name + (" *" if b.current else ""), b.driver, "", ""))
        for node in b.nodes:
            shown = ", ".join(p + ("*" if p in node.configured else "") for p in node.platforms)
            rows.append(("  " + node.name, "  " + node.endpoint, node.status, shown))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["   ".join([*(r[i].ljust(widths[i]) for i in range(3)), r[3]]).rstrip() for r in rows]
    return "\n".join(lines)


def ls_json(builder: BuilderInfo) -> dict[str, Any]:
    """One builder as ``ls --format json`` prints it (one object per line)."""
    return {
        "Name": builder.name,
        "Driver": builder.driver,
        "Current": builder.current,
        "LastActivity": builder.last_activity.isoformat() if builder.last_activity else None,
        "Nodes": [{
            "Name": n.name,
            "Endpoint": n.endpoint,
            "Status": n.status,
            "Platforms": list(n.platforms),
            "Emulated": list(n.emulated),
            "Verified": list(n.verified),
            "Configured": list(n.configured),
            "Version": n.version,
        } for n in builder.nodes],
    }


def inspect_text(builder: Builder) -> str:
    """``dockyard inspect``: the builder, then each node with platforms, versions and GC policy."""
    rec = builder.record
    out = [f"Name:          {rec.name}", f"Driver:        {rec.driver}", f"Placement:     {rec.placement}"]
    out.append(f"Last Activity: {_when(rec.last_used) if rec.last_used else '-'}")
    path = builder.store.config_path(rec)
    if path:
        out.append(f"Config:        {path}")
    out += ["", "Nodes:"]
    for i, node in enumerate(builder.nodes()):
        if i:
            out.append("")
        out += [
            f"Name:             {node.name}",
            f"Endpoint:         {node.endpoint}",
            f"Status:           {node.status()}",
        ]
        version = node_info(node).version
        if version:
            out.append(f"BuildKit version: {version}")
        out.append(f"Platforms:        {platforms_text(node)}")
        out.append(f"Store:            {node.store_root() if isinstance(node, LocalNode) else 'on the node'}")
        out.append(f"Max parallelism:  {builder.jobs()}"
                   + ("" if builder.config.max_parallelism else " (CPUs; no max-parallelism configured)"))
        supports = node.platforms()
        if supports:
            out.append("Platform checks:")
            width = max(len(platform_label(s.platform)) for s in supports)
            for s in supports:
                kind = "emulated" if s.emulated else "native"
                state = "verified" if s.verified else "unverified"
                out.append(f"  {platform_label(s.platform).ljust(width)}  {kind:<8}  {state:<10}  {s.detail}")
        boot = node.record.boot
        out.append(f"Mode:             {mode.describe()}")
        if boot and boot.snapshotter:
            out.append(f"Snapshotter:      {boot.snapshotter}")
        if boot and boot.network:
            out.append(f"RUN network:      {boot.network}")
        if boot and boot.sandbox:
            out.append(f"Step sandbox:     {boot.sandbox}")
        if boot:
            out.append(f"Bootstrapped:     {_when(boot.at)} in {boot.seconds:.2f}s")
        for host, reg in sorted(builder.config.registries.items()):
            bits = [f"mirrors={','.join(reg.mirrors)}"] if reg.mirrors else []
            bits += [name for name, on in (("http", reg.http), ("insecure", reg.insecure)) if on]
            bits += [f"ca={','.join(str(c) for c in reg.ca)}"] if reg.ca else []
            out.append(f"Registry {host}: {' '.join(bits) or 'defaults'}")
        out += gc_lines(builder.config.gc)
    return "\n".join(out)


def gc_lines(policy: GCPolicy) -> list[str]:
    """The GC policy in buildx's ``GC Policy rule#N`` shape."""
    if not policy.enabled:
        return ["GC Policy:        disabled (gc = false)"]
    out: list[str] = []
    for i, rule in enumerate(policy.rules):
        out.append(f"GC Policy rule#{i}:" + ("  (default)" if policy.default else ""))
        out.append(f"  All:            {str(rule.all).lower()}")
        if rule.filters:
            out.append(f"  Filters:        {','.join(rule.filters)}")
        if rule.keep_duration is not None:
            out.append(f"  Keep Duration:  {_duration(rule.keep_duration)}")
        if rule.keep_bytes is not None:
            out.append(f"  Keep Bytes:     {human_bytes(rule.keep_bytes)}")
        if rule.keep_percent is not None:
            out.append(f"  Keep Bytes:     {rule.keep_percent:g}% of the store's filesystem")
    return out


def human_bytes(n: int) -> str:
    """Binary units as buildx prints them: ``488.3MiB``, ``9GiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n}B" if unit == "B" else f"{value:.1f}".removesuffix(".0") + unit
        value /= 1024
    return f"{n}B"


def _duration(seconds: float) -> str:
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m}m{s}s"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
