"""How much disk a tree takes: allocated blocks, as ``du`` counts them, links not followed."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def tree_size(path: Path) -> int:
    """Bytes allocated to ``path`` and everything under it (0 when it is gone)."""
    try:
        total = os.lstat(path).st_blocks * 512
    except OSError:
        return 0
    for base, dirs, files in os.walk(path):
        for name in files + dirs:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(base, name)).st_blocks * 512
    return total
