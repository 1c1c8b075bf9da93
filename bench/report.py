"""Turn bench results into the markdown table (README) and PNG plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _fmt(side: dict[str, Any] | None) -> str:
    if not side:
        return "-"
    return f"{side['median']:.2f} s ({side['min']:.2f}-{side['max']:.2f}), {side['peak_rss_mb']:.0f} MB"


def write_markdown(doc: dict[str, Any], path: Path) -> None:
    m = doc["machine"]
    lines = [
        f"Measured {doc['date']} on {m['cores']} cores, kernel {m['kernel']}; dockyard {m['dockyard']}, "
        f"{m['buildah']}, {m['skopeo']}, runc {m['runc'].split()[-1]}; {doc['runs']} counted runs per side"
        f"{' (QUICK)' if doc['quick'] else ''}.",
        "",
        "| scenario | dockyard median (min-max), peak RSS | peer | peer median (min-max), peak RSS "
        "| dockyard/peer (median of ratios) | floor median |",
        "|---|---|---|---|---|---|",
    ]
    for r in doc["scenarios"]:
        sides = {k: v for k, v in r.items() if isinstance(v, dict)}
        ours = sides.pop("dockyard", None)
        floor = next((v for k, v in sides.items() if k not in ("buildah", "pigz", "skopeo")), None)
        peer_name, peer = next(((k, v) for k, v in sides.items() if k in ("buildah", "pigz", "skopeo")), ("-", None))
        if r.get("status") == "missing":
            ratio = f"missing: {r.get('missing')}"
        elif r.get("status") == "failed":
            ratio = f"failed: {r.get('error', '')[:80]}"
        else:
            ratio = f"{r.get('ratio_median', '-')}"
        floor_text = f"{floor['median']:.2f} s" if floor else "-"
        lines.append(f"| {r['title']} | {_fmt(ours)} | {peer_name} | {_fmt(peer)} | {ratio} | {floor_text} |")
    path.write_text("\n".join(lines) + "\n")


def write_plots(doc: dict[str, Any], outdir: Path) -> None:
    """A bar chart of median times per scenario (dockyard, peer, floor); needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = [r for r in doc["scenarios"] if any(isinstance(v, dict) for v in r.values())]
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(rows) + 1.5))
    labels = [r["key"] for r in rows]
    kinds = ("dockyard", "peer", "floor")
    width = 0.27
    for i, kind in enumerate(kinds):
        values = []
        for r in rows:
            sides = {k: v for k, v in r.items() if isinstance(v, dict)}
            if kind == "dockyard":
                side = sides.get("dockyard")
            elif kind == "peer":
                side = next((v for k, v in sides.items() if k in ("buildah", "pigz", "skopeo")), None)
            else:
                side = next((v for k, v in sides.items() if k not in ("dockyard", "buildah", "pigz", "skopeo")),
                            None)
            values.append(side["median"] if side else 0.0)
        ax.barh([y + (i - 1) * width for y in range(len(rows))], values, height=width, label=kind)
    ax.set_yticks(range(len(rows)), labels)
    ax.set_xlabel("median seconds (lower is better)")
    ax.legend()
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(outdir / "latest.png", dpi=110)
    plt.close(fig)
