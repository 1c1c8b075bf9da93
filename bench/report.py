"""Turn bench results into the markdown table (README), the PNG plot, and the README update."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _fmt(side: dict[str, Any] | None) -> str:
    if not side:
        return "-"
    t = f"{_secs(side['median'])} ({_secs(side['min'])}-{_secs(side['max'])})"
    return f"{t}, {side['peak_rss_mb']:.0f} MB"


def _secs(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 0.1 else f"{value:.2f} s"


def _sides(r: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [s for s in r.get("sides", []) if s["role"] == role]


def write_markdown(doc: dict[str, Any], path: Path) -> None:
    m = doc["machine"]
    load = doc.get("load_average_before", m.get("load_average", ()))
    load_text = "/".join(f"{x:.1f}" for x in load[:3]) if load else "?"
    after = doc.get("load_average_after")
    if after:
        load_text += " at the start, " + "/".join(f"{x:.1f}" for x in after[:3]) + " at the end"
    lines = [
        f"Measured {doc['date']} on {m['cores']} cores, {m.get('memory_gb', '?')} GB, kernel {m['kernel']}, "
        f"load average (1/5/15 min) {load_text}; dockyard {m['dockyard']} "
        f"(Python {m['python']}), {m['buildah']}, {m['skopeo']}, runc {m['runc'].split()[-1]}, "
        f"{m.get('pigz', 'pigz')}, {m['qemu'].split('(')[0].strip()}. "
        f"{doc['runs']} counted runs per side after {doc.get('warmup', 1)} warm-up, sides alternating"
        f"{' (QUICK: smaller inputs)' if doc['quick'] else ''}. Times: median (min-max), peak RSS. "
        "Ratios are medians of per-round ratios; below 1 means dockyard is faster.",
        "",
        "| scenario | dockyard | peer | peer time | dockyard/peer | floor | dockyard/floor |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in doc["scenarios"]:
        title = r["title"] + (f" (re-run alone at {r['rerun']})" if r.get("rerun") else "")
        if r.get("status") == "missing":
            lines.append(f"| {title} | missing: {r.get('missing', '')} | | | | | |")
            continue
        if r.get("status") == "failed":
            lines.append(f"| {title} | failed: {r.get('error', '')[:160].replace('|', '/')} | | | | | |")
            continue
        ours = next(iter(_sides(r, "dockyard")), None)
        floors = _sides(r, "floor")
        floor_text = f"{floors[0]['label']}: {_secs(floors[0]['median'])}" if floors else "-"
        floor_ratio = f"{r['floor_ratio']:.2f}" if "floor_ratio" in r else "-"
        peers = _sides(r, "peer") or [None]
        for i, peer in enumerate(peers):
            ratio = f"**{r['ratios'][peer['label']]:.2f}**" if peer else "-"
            lines.append(
                f"| {title if i == 0 else ''} | {_fmt(ours) if i == 0 else ''} | {peer['label'] if peer else '-'} "
                f"| {_fmt(peer)} | {ratio} | {floor_text if i == 0 else ''} | {floor_ratio if i == 0 else ''} |")
    notes = [f"- {r['key']}: {r['note']}" for r in doc["scenarios"] if r.get("note")]
    if notes:
        lines += ["", *notes]
    path.write_text("\n".join(lines) + "\n")


def write_plots(doc: dict[str, Any], path: Path) -> None:
    """Left: median seconds of every side (log scale); right: dockyard/peer ratios. Needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = [r for r in doc["scenarios"] if r.get("sides")]
    if not rows:
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 0.55 * len(rows) + 2.2),
                                      gridspec_kw={"width_ratios": [3, 2]})
    colours = {"dockyard": "#2f6fdf", "peer": "#e07b39", "peer2": "#b5651d", "floor": "#8c8c8c"}
    height = 0.8
    for y, r in enumerate(rows):
        sides = r["sides"]
        step = height / len(sides)
        peer_no = 0
        for j, side in enumerate(sides):
            kind = side["role"]
            if kind == "peer":
                kind = "peer" if peer_no == 0 else "peer2"
                peer_no += 1
            yy = y - height / 2 + step * (j + 0.5)
            left.barh(yy, side["median"], height=step * 0.9, color=colours[kind])
            left.text(side["median"], yy, f" {side['label']} {_secs(side['median'])}", va="center", fontsize=7)
    left.set_xscale("log")
    left.set_yticks(range(len(rows)), [r["key"] for r in rows])
    left.invert_yaxis()
    left.set_xlabel("median seconds, log scale (lower is better)")
    left.set_title("dockyard (blue), peers (orange), floor (grey)", fontsize=9)
    labels, ratios = [], []
    for r in rows:
        for peer, ratio in r.get("ratios", {}).items():
            labels.append(f"{r['key']} vs {peer}")
            ratios.append(ratio)
    right.barh(range(len(ratios)), ratios, color=["#3a9a4a" if x < 1 else "#c0392b" for x in ratios])
    for i, x in enumerate(ratios):
        right.text(x, i, f" {x:.2f}", va="center", fontsize=8)
    right.axvline(1.0, color="black", linewidth=0.8)
    right.set_yticks(range(len(labels)), labels, fontsize=8)
    right.invert_yaxis()
    right.set_xlabel("dockyard / peer, median of per-round ratios (< 1: dockyard faster)")
    fig.suptitle(f"dockyard benchmarks {doc['date']}{' (QUICK)' if doc['quick'] else ''}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def update_readme(readme: Path, table: str, *, image: str) -> None:
    """Replace what is between the bench markers of ``readme`` with the table and the plot."""
    text = readme.read_text()
    block = f"{START}\n{table.rstrip()}\n\n![bench]({image})\n{END}"
    if START in text and END in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n## Benchmarks\n\n`make bench` regenerates this section "
        text += "(see [bench/README.md](bench/README.md)).\n\n" + block + "\n"
    readme.write_text(text)
