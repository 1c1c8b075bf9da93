"""Running ``dockyard build`` as a user would (a subprocess per build, its own DOCKYARD_ROOT),
and reading back what it did from the rawjson progress stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EPOCH = "1700000000"


@dataclass(frozen=True)
class Built:
    """One finished build: its result digest, progress events and wall time."""

    digest: str
    events: list[dict[str, Any]]
    stderr: str

    def started(self) -> list[str]:
        """Names of the steps that executed (a cache hit emits ``cached``, never ``started``)."""
        return [e["name"] for e in self.events if e["type"] == "started"]

    def ran_steps(self, word: str = "RUN") -> list[str]:
        return [name for name in self.started() if f"] {word} " in name]

    def cached(self) -> list[str]:
        return [e["name"] for e in self.events if e["type"] == "cached"]

    def logs(self) -> list[str]:
        return [e["line"] for e in self.events if e["type"] == "log"]


def build(context: Path, root: Path, *args: str, env: dict[str, str] | None = None) -> Built:
    """``dockyard build --progress rawjson ARGS CONTEXT`` with DOCKYARD_ROOT=root; fails loudly."""
    full_env = {**os.environ, "DOCKYARD_ROOT": str(root), "SOURCE_DATE_EPOCH": EPOCH, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "dockyard", "build", "--progress", "rawjson", *args, str(context)],
                          env=full_env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    return Built(digest=proc.stdout.strip().splitlines()[-1], events=events, stderr=proc.stderr)


def skopeo_raw(ref: str) -> dict[str, Any]:
    out = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def skopeo_config(ref: str) -> dict[str, Any]:
    out = subprocess.run(["skopeo", "inspect", "--config", "--raw", "--tls-verify=false", f"docker://{ref}"],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    data: dict[str, Any] = json.loads(out)
    return data
