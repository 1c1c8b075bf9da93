"""Layer tars made in memory for catalog tests: files, symlinks and OCI whiteouts."""

from __future__ import annotations

import contextlib
import io
import tarfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import IO


def layer(*entries: tuple[str, bytes | str | None] | tuple[str, bytes | str | None, int],
          symlinks: dict[str, str] | None = None) -> Callable[[], AbstractContextManager[IO[bytes]]]:
    """An opener of an uncompressed layer tar holding ``entries`` (``None`` content: a directory)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for item in entries:
            name, content = item[0], item[1]
            mode = item[2] if len(item) > 2 else 0o644
            info = tarfile.TarInfo(name)
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            data = content.encode() if isinstance(content, str) else content
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    data = buf.getvalue()

    @contextlib.contextmanager
    def opener() -> Iterator[IO[bytes]]:
        yield io.BytesIO(data)

    return opener
