"""Real wheels (PEP 427 zip files with dist-info METADATA, WHEEL and a hashed RECORD), made in the test,
so pip can install a small app with one dependency offline (--no-index --find-links)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(directory: Path, name: str, version: str, *, requires: tuple[str, ...] = (),
               license_: str = "MIT") -> Path:
    """``directory/NAME-VERSION-py3-none-any.whl`` holding one module ``NAME`` that prints its version."""
    dist = f"{name}-{version}.dist-info"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"License: {license_}"]
    meta += [f"Requires-Dist: {r}" for r in requires]
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist}/METADATA": ("\n".join(meta) + "\n\n" + f"The {name} test package.\n").encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: dockyard-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    files[f"{dist}/RECORD"] = (record + f"{dist}/RECORD,,\n").encode()
    out = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(zipfile.ZipInfo(path, date_time=(2023, 11, 14, 22, 13, 20)), data)
    return out
