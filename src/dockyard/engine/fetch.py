"""ADD of an ``http(s)://`` URL: download one file into a directory, as BuildKit's HTTP source does.

The body is streamed to a temporary file in the target directory (memory stays flat with
the size) and hashed on the way; with ``--checksum`` a mismatch is an error and nothing is
left behind; the file is renamed into place only when complete. BuildKit's choices are kept:
mode 0600 (``--chmod`` is the copy's business), mtime from ``Last-Modified``, and the file
name from the explicit ``filename``, else ``Content-Disposition``, else the URL path's last
segment, else ``download``. Messages name the URL without any ``user:password@`` part.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import tempfile
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard import cancel
from dockyard.errors import BuildError

if TYPE_CHECKING:  # httpx and email load on a download, not with every build (test_startup_imports.py)
    import httpx

_CHUNK = 1 << 20
_ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}


def redact(url: str) -> str:
    """``url`` without credentials, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=host))


def _safe_name(name: str) -> str:
    base = posixpath.basename(name.replace("\\", "/"))
    return base if base not in ("", ".", "..") else "download"


def file_name(url: str, response: httpx.Response | None = None, filename: str = "") -> str:
    """The name BuildKit gives a downloaded file (see the module docstring)."""
    if filename:
        return _safe_name(filename)
    if response is not None and (disposition := response.headers.get("content-disposition")):
        import email.utils
        from email.message import Message

        message = Message()
        message["content-disposition"] = disposition
        param = message.get_param("filename", header="content-disposition")
        value = email.utils.collapse_rfc2231_value(param) if param else ""
        if value and not value.endswith("/"):
            return _safe_name(value)
    base = posixpath.basename(urllib.parse.urlsplit(url).path)
    return _safe_name(base) if base else "download"


def _parse_checksum(checksum: str) -> tuple[str, str]:
    algorithm, _, hexdigest = checksum.partition(":")
    if _ALGORITHMS.get(algorithm) != len(hexdigest) or any(c not in "0123456789abcdef" for c in hexdigest):
        raise BuildError(f"invalid checksum {checksum!r}", hint="write it as sha256:<64 hex digits>")
    return algorithm, hexdigest


def fetch_url(url: str, dest_dir: Path, *, checksum: str = "", filename: str = "",
              client: httpx.Client | None = None) -> Path:
    """Download ``url`` into ``dest_dir``; return the file's path (see the module docstring).

    ``client`` lets tests and callers supply transports, proxies and CA settings.
    """
    import email.utils

    import httpx

    shown = redact(url)
    expected = _parse_checksum(checksum) if checksum else None
    digest = hashlib.new(expected[0] if expected else "sha256")
    own = client is None
    http = client if client is not None else httpx.Client(follow_redirects=True, timeout=httpx.Timeout(30.0))
    try:
        with http.stream("GET", url) as response:
            if response.status_code >= 400:
                raise BuildError(f"failed to download {shown}: HTTP status {response.status_code}",
                                 hint="check the URL; ADD does not send registry credentials")
            name = file_name(url, response, filename)
            fd, tmp = tempfile.mkstemp(prefix=".download-", dir=dest_dir)
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in response.iter_bytes(_CHUNK):
                        cancel.check()
                        digest.update(chunk)
                        out.write(chunk)
                if expected is not None and digest.hexdigest() != expected[1]:
                    raise BuildError(f"digest mismatch for {shown}: expected {checksum}, "
                                     f"got {expected[0]}:{digest.hexdigest()}")
                os.chmod(tmp, 0o600)
                modified = response.headers.get("last-modified")
                if modified:
                    with contextlib.suppress(TypeError, ValueError):
                        when = email.utils.parsedate_to_datetime(modified).timestamp()
                        os.utime(tmp, (when, when))
                final = dest_dir / name
                os.replace(tmp, final)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
    except httpx.HTTPError as exc:
        detail = str(exc).replace(url, shown)
        secret = urllib.parse.urlsplit(url).password
        if secret:
            detail = detail.replace(secret, "***")
        raise BuildError(f"failed to download {shown}: {type(exc).__name__}: {detail}") from None
    finally:
        if own:
            http.close()
    return final
