"""A pip wheelhouse made on this machine, without PyPI: dockyard's wheel made from the checkout, and
each of its runtime dependencies repacked from the test venv's installed files.

A repacked wheel holds exactly what the distribution's RECORD lists under site-packages (its
package files and ``.dist-info``, with a RECORD rewritten for the repacked files), named with
the first tag of its WHEEL file, so it installs only where the venv's own wheels would: the
same CPU architecture and Python (3.11 here and in Debian 12). Scripts outside site-packages
(``../../bin``) are left out; pip writes console scripts again from ``entry_points.txt``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parents[2]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure(root: str = "dockyard") -> list[metadata.Distribution]:
    """The installed distributions ``root`` needs at run time (no extras), each once."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = _normal(todo.pop())
        if name in seen:
            continue
        dist = metadata.distribution(name)
        seen[name] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return [d for n, d in seen.items() if n != _normal(root)]


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def repack(dist: metadata.Distribution, dest: Path) -> Path:
    """One wheel in ``dest`` from ``dist``'s installed files."""
    info = next(f for f in dist.files or [] if f.name == "WHEEL" and f.parent.name.endswith(".dist-info"))
    tag = next(line.split(":", 1)[1].strip() for line in (dist.read_text("WHEEL") or "").splitlines()
               if line.startswith("Tag:"))
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    wheel = dest / f"{name}-{dist.version}-{tag}.whl"
    record_name = f"{info.parent.as_posix()}/RECORD"
    lines = []
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for entry in dist.files or []:
            arcname = entry.as_posix()
            if arcname.startswith("..") or arcname == record_name or "__pycache__" in arcname:
                continue
            path = Path(str(dist.locate_file(entry)))
            if not path.is_file():
                continue
            data = path.read_bytes()
            zf.writestr(arcname, data)
            lines.append(_record_line(arcname, data))
        lines.append(f"{record_name},,")
        zf.writestr(record_name, "\n".join(lines) + "\n")
    return wheel


def dockyard_wheel(dest: Path) -> Path:
    """dockyard's own wheel: the checkout's ``src/dockyard`` (pure Python) with the metadata of the venv's
    editable install (METADATA with its Requires-Dist, entry_points.txt), so no build backend runs."""
    dist = metadata.distribution("dockyard")
    info = f"dockyard-{dist.version}.dist-info"
    wheel = dest / f"dockyard-{dist.version}-py3-none-any.whl"
    files: dict[str, bytes] = {}
    package = REPO_ROOT / "src" / "dockyard"
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[f"dockyard/{path.relative_to(package).as_posix()}"] = path.read_bytes()
    files[f"{info}/METADATA"] = (dist.read_text("METADATA") or "").encode()
    files[f"{info}/entry_points.txt"] = (dist.read_text("entry_points.txt") or "").encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: tests/rig/wheelhouse.py\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n")
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in files.items():
            zf.writestr(arcname, data)
        record = [_record_line(a, d) for a, d in files.items()] + [f"{info}/RECORD,,"]
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


def make(dest: Path) -> list[Path]:
    """dockyard's wheel and its runtime dependencies' wheels, in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    return [dockyard_wheel(dest), *(repack(d, dest) for d in runtime_closure())]
