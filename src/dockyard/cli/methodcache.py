"""A per-user cache of the methods ``@dataclass`` generates, so a CLI start compiles none of them.

Why: ``dataclasses`` writes each class's ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` and
frozen ``__setattr__``/``__delattr__`` as source text and compiles it with ``exec`` when the class
is created. A fully cached build creates about 200 classes, and compiling their ~1,200 methods
was a third of its CPU time (issue 17: ~60 of ~220 ms). Python caches the bytecode of modules in
``__pycache__`` but not of this generated text, so every start paid it again.

How: the ``dataclasses`` module gets its own ``exec`` (a module global shadows the builtin for
that module only) that looks the source text up in a dictionary of marshalled code objects
loaded from ``$XDG_CACHE_HOME/dockyard``, compiles only text it has not seen, and runs the code
object exactly as ``exec`` would have run the text. Each entry is unmarshalled only when its class
is made: the file holds every command's classes, and a dry run makes a fifth of them. The text
is the key, so a changed class simply misses; the file name carries the interpreter's bytecode
magic, so another Python version never reads it. The dictionary is written back (atomically, by
the process that loaded it) at exit when something new was compiled; a damaged or foreign file is
ignored and replaced, and so is a damaged entry. A file or directory another user could write is
never read: its entries would be code this process runs (root with a user's HOME, under sudo).

Only the CLI installs it (``dockyard.cli`` is never imported by the library), so an application
that imports dockyard keeps its interpreter untouched.
"""

from __future__ import annotations

import atexit
import builtins
import dataclasses
import importlib.util
import marshal
import os
import zlib
from pathlib import Path
from types import CodeType
from typing import Any

_LIMIT = 8000  # entries; past it the file starts afresh (old dockyard versions' classes pile up)


class MethodCache:
    """The marshalled code objects of generated methods, keyed by their source text, and where they live."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.codes: dict[str, bytes] = _load(path)
        self.added = 0
        self.pid = os.getpid()

    def exec(self, source: Any, globals_: dict[str, Any] | None = None,
             locals_: dict[str, Any] | None = None) -> None:
        """``exec`` for ``dataclasses``: the same effect, with the compiled text remembered."""
        if isinstance(source, str):
            source = self._code(source)
        builtins.exec(source, globals_, locals_)

    def _code(self, text: str) -> CodeType:
        blob = self.codes.get(text)
        if blob is not None:
            try:
                code = marshal.loads(blob)
            except (EOFError, ValueError, TypeError):
                code = None
            if isinstance(code, CodeType):
                return code
        # dont_inherit: the text is compiled as dataclasses would, without this module's
        # ``from __future__ import annotations`` (which would turn annotations into strings)
        code = compile(text, "<string>", "exec", dont_inherit=True)
        self.codes[text] = marshal.dumps(code)
        self.added += 1
        return code

    def save(self) -> None:
        """Write the dictionary back when this process compiled something new; never fails a run."""
        if not self.added or os.getpid() != self.pid:  # a forked child exits with our atexit hooks
            return
        codes = self.codes if len(self.codes) <= _LIMIT else {}
        payload = marshal.dumps(codes)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(zlib.crc32(payload).to_bytes(4, "big") + payload)
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)


def _load(path: Path) -> dict[str, bytes]:
    """The cached entries, or none when the file is missing, damaged or not ours.

    Not ours includes a file or directory someone else could have written: the entries are code this
    process runs, and root started with another user's ``HOME`` (sudo) must not run that user's code.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return {}
    with os.fdopen(fd, "rb") as handle:
        if not (_private(os.fstat(handle.fileno())) and _private(os.stat(path.parent))):
            return {}
        data = handle.read()
    payload = data[4:]
    if len(data) < 4 or zlib.crc32(payload) != int.from_bytes(data[:4], "big"):
        return {}
    try:
        codes = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(codes, dict):
        return {}
    return {k: v for k, v in codes.items() if isinstance(k, str) and isinstance(v, bytes)}


def _private(info: os.stat_result) -> bool:
    """Owned by this user and writable by no one else."""
    return info.st_uid == os.geteuid() and not info.st_mode & 0o022


def cache_path() -> Path:
    """``$XDG_CACHE_HOME/dockyard/dataclass-methods-<format>-<magic>.marshal`` (``~/.cache`` by default)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    # format 2: each entry marshalled on its own (format 1, one marshalled dictionary, is not read)
    return Path(root) / "dockyard" / f"dataclass-methods-2-{importlib.util.MAGIC_NUMBER.hex()}.marshal"


def install(path: Path | None = None) -> MethodCache:
    """Give ``dataclasses`` the caching ``exec`` and save the cache at exit; returns the cache."""
    cache = MethodCache(cache_path() if path is None else path)
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]
    atexit.register(cache.save)
    return cache
