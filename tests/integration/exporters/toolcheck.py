"""Independent views of exported trees and images (os.walk of a directory, tools' output)."""

from __future__ import annotations

import subprocess


def run(*argv: str) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=240)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout
