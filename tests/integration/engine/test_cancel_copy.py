"""Ctrl-C stops a COPY (its copy and its layer compression) at the next chunk, and the step shows
CANCELED as buildx shows an interrupted vertex (the vertex status BuildKit's solver reports).

Not a timing test: the assertion is that the step never completed (no DONE line, no layer
left in the store) although the signal came after it had started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_sigint_cancels_a_running_copy(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    block = os.urandom(1 << 20)  # incompressible, and repeated beyond gzip's window: slow to compress
    with open(ctx / "big.bin", "wb") as out:
        for _ in range(1536):
            out.write(block)
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY big.bin /big.bin\n")
    root = tmp_path / "root"
    proc = subprocess.Popen([sys.executable, "-m", "dockyard", "build", "--progress", "plain", "-o",
                             f"type=oci,dest={tmp_path / 'out.tar'}", str(ctx)],
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "DOCKYARD_ROOT": str(root)})
    assert proc.stderr is not None
    lines: list[str] = []
    for line in proc.stderr:
        lines.append(line)
        if "COPY big.bin" in line:
            break
    time.sleep(0.3)  # inside the copy or the compression of its layer
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=120)
    text = "".join(lines) + rest
    assert proc.returncode == 130, text
    copy_step = next(line.split()[0] for line in lines if "COPY big.bin" in line)
    assert f"{copy_step} CANCELED" in text
    assert f"{copy_step} DONE" not in text
    assert "Traceback" not in text
    assert not (tmp_path / "out.tar").exists()
    blobs = root / "content" / "blobs" / "sha256"
    big = [p for p in blobs.iterdir() if p.stat().st_size > (1 << 29)] if blobs.is_dir() else []
    assert big == []  # no layer of the cancelled step was stored
