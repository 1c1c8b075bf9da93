"""Evaluating a gate policy against a build result held in the content store.

Image checks run per platform on what would be pushed (the manifests, configs and layer blobs
in the store); report checks read files the pipeline made; a command check gets the image as
an OCI layout in a temporary directory (``$DOCKYARD_GATE_OCI_LAYOUT``, the digest in
``$DOCKYARD_GATE_DIGEST``) and passes when it exits 0. Nothing here touches a registry.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from dockyard.exporters.oci_layout import write_layout_dir
from dockyard.gates.outcome import GateOutcome, GateReport
from dockyard.gates.policy import SEVERITIES, GatePolicy
from dockyard.gates.reports import ReportError, coverage_percent, vulnerability_counts
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import PlatformImage, platform_images
from dockyard.oci.layer import open_uncompressed
from dockyard.store.content import ContentStore
from dockyard.store.gc import human

SECRET_NAMES = frozenset({"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", ".env", ".netrc", ".git-credentials",
                          ".pypirc", "credentials.json", "service-account.json"})
SECRET_PATHS = (".aws/credentials", ".docker/config.json", ".kube/config", ".config/gcloud/credentials.db")
KEY_SUFFIXES = (".pem", ".key", ".p8")
_SNIFF = 64 * 1024


def evaluate(policy: GatePolicy, store: ContentStore, desc: Descriptor) -> GateReport:
    """Every check of ``policy`` on the result ``desc``; the report says which failed and why."""
    outcomes: list[GateOutcome] = []
    images = platform_images(store, desc)
    for image in images:
        outcomes += _image_checks(policy, store, image)
    for cov in policy.coverage:
        try:
            pct, fmt = coverage_percent(cov.report)
            outcomes.append(GateOutcome(f"coverage >= {cov.minimum:g}%", "", pct >= cov.minimum,
                                        f"{pct:.1f}% ({fmt}, {cov.report.name})"))
        except ReportError as exc:
            outcomes.append(GateOutcome(f"coverage >= {cov.minimum:g}%", "", False, str(exc)))
    for vul in policy.vulnerabilities:
        name = "vulnerabilities " + ",".join(f"{k}<={v}" for k, v in vul.limits.items())
        try:
            counts, fmt = vulnerability_counts(vul.report)
        except ReportError as exc:
            outcomes.append(GateOutcome(name, "", False, str(exc)))
            continue
        over = [f"{counts[s]} {s} (max {vul.limits[s]})" for s in SEVERITIES
                if s in vul.limits and counts[s] > vul.limits[s]]
        seen = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s]) or "no findings"
        outcomes.append(GateOutcome(name, "", not over, ("; ".join(over) if over else seen) + f" ({fmt})"))
    for command in policy.commands:
        outcomes.append(_command(command, store, desc, workdir=policy.workdir))
    return GateReport(policy.mode, tuple(outcomes))


def _image_checks(policy: GatePolicy, store: ContentStore, image: PlatformImage) -> list[GateOutcome]:
    out = []
    platform = str(image.platform)
    layers = image.manifest.layers
    if policy.max_size is not None:
        size = sum(layer.size for layer in layers)
        out.append(GateOutcome(f"size <= {human(policy.max_size)}", platform, size <= policy.max_size,
                               f"{human(size)} compressed in {len(layers)} layers"))
    if policy.max_layers is not None:
        out.append(GateOutcome(f"layers <= {policy.max_layers}", platform, len(layers) <= policy.max_layers,
                               f"{len(layers)} layers"))
    if policy.no_root_user:
        user = image.config.config.user or ""
        name = user.partition(":")[0]
        root = name in ("", "root", "0")
        out.append(GateOutcome("no root user", platform, not root,
                               f"USER {user}" if user else "no USER set: runs as root"))
    labels = image.config.config.labels
    for key in policy.required_labels:
        out.append(GateOutcome(f"label {key}", platform, bool(labels.get(key)),
                               f"{key}={labels[key]}" if labels.get(key) else "missing"))
    if policy.no_secrets:
        found = sorted(set(_secret_files(store, layers)))
        out.append(GateOutcome("no secrets in layers", platform, not found,
                               ("found " + ", ".join(found[:5]) + (" ..." if len(found) > 5 else ""))
                               if found else "none found"))
    return out


def _secret_files(store: ContentStore, layers: tuple[Descriptor, ...]) -> Iterator[str]:
    """Paths in any layer that look like credentials (even if a later layer deletes them)."""
    for layer in layers:
        with open_uncompressed(store.path(layer.digest)) as stream, \
                tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                path = PurePosixPath("/" + member.name.lstrip("./"))
                name = path.name
                if name in SECRET_NAMES or (name.startswith(".env.") and name not in (".env.example", ".env.sample")) \
                        or any(str(path).endswith("/" + p) for p in SECRET_PATHS):
                    yield str(path)
                elif (name.endswith(KEY_SUFFIXES) or name.startswith("id_")) and member.size <= _SNIFF:
                    handle = archive.extractfile(member)
                    if handle is not None and b"PRIVATE KEY-----" in handle.read():
                        yield str(path)


def _command(command: str, store: ContentStore, desc: Descriptor, *, workdir: Path) -> GateOutcome:
    name = f"command {command}"
    with tempfile.TemporaryDirectory(prefix="dockyard-gate-") as tmp:
        layout = Path(tmp) / "image"
        write_layout_dir(store, desc, layout)
        env = {**os.environ, "DOCKYARD_GATE_OCI_LAYOUT": str(layout), "DOCKYARD_GATE_DIGEST": str(desc.digest)}
        try:
            proc = subprocess.run(["sh", "-c", command], cwd=workdir, env=env, capture_output=True, text=True,
                                  check=False)
        except OSError as exc:
            return GateOutcome(name, "", False, f"cannot run: {exc}")
    last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or [""]
    detail = f"exit {proc.returncode}" + (f": {last[0][:120]}" if last[0] else "")
    return GateOutcome(name, "", proc.returncode == 0, detail)
