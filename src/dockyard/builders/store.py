"""The builder store: one directory per builder under $XDG_CONFIG_HOME/dockyard/builders.

Layout::

    builders/.lock            fcntl lock held for every read-modify-write
    builders/current          the name ``dockyard use`` chose
    builders/NAME/builder.json
    builders/NAME/config.toml a copy of ``--config FILE``, so later edits to FILE change nothing
    builders/NAME/last-used   empty; its mtime is the builder's Last Activity

Every file is replaced atomically (temporary file + ``os.replace``), so a reader never
sees half a record, and writers serialise on the lock, so two processes creating or
changing builders at once both succeed. ``default`` always exists: it is synthesised
until something (a bootstrap, a use) is stored about it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from dockyard.builders.records import DEFAULT_NAME, BuilderRecord, default_record, from_json, to_json
from dockyard.errors import ConfigError, UsageError
from dockyard.paths import config_root

RECORD = "builder.json"
CONFIG = "config.toml"
LAST_USED = "last-used"
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")


def validate_name(name: str, *, what: str = "builder") -> str:
    """Names become directory names: letters, digits, ``_.-``, not starting with a symbol."""
    if not _NAME_RE.match(name):
        raise UsageError(f"invalid {what} name {name!r}",
                         hint="use letters, digits, '_', '.', '-' (starting with a letter or digit)")
    return name


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a mix."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class BuilderStore:
    """Reads and changes builder records; ``root`` defaults to the user's config directory."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or config_root() / "builders"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's exclusive lock (for read-modify-write sequences)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def dir(self, name: str) -> Path:
        """The directory holding builder ``name``'s files."""
        return self.root / validate_name(name)

    def exists(self, name: str) -> bool:
        """True for ``default`` and for every stored builder."""
        return name == DEFAULT_NAME or (self.dir(name) / RECORD).is_file()

    def get(self, name: str) -> BuilderRecord:
        """The record of ``name``; an unknown name is a one-line UsageError."""
        path = self.dir(name) / RECORD
        try:
            text = path.read_text()
        except FileNotFoundError:
            if name == DEFAULT_NAME:
                return self._with_last_use(default_record())
            raise UsageError(f"no builder {name!r} found",
                             hint=f"see 'dockyard ls', or create it: dockyard create --name {name}") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: damaged builder record ({exc})",
                              hint=f"remove it with 'dockyard rm {name}'") from exc
        return self._with_last_use(from_json(doc, where=str(path)))

    def _with_last_use(self, record: BuilderRecord) -> BuilderRecord:
        """The record with the later of its stored ``last_used`` and the stamp :meth:`mark_used` left."""
        try:
            stamp = datetime.fromtimestamp(int((self.dir(record.name) / LAST_USED).stat().st_mtime), UTC)
        except FileNotFoundError:
            return record
        if record.last_used is not None and record.last_used >= stamp:
            return record
        return dataclasses.replace(record, last_used=stamp)

    def mark_used(self, name: str) -> None:
        """Record that builder ``name`` is used now: a stamp file's mtime, not the record.

        Every build does this, and rewriting the record (lock, temporary file, fsync, rename) cost
        10-20 ms of a cached build's ~0.2 s (issue 17). The stamp needs no lock and no fsync:
        a crash can lose only the newest Last Activity, never a record.
        """
        stamp = self.dir(name) / LAST_USED
        try:
            os.utime(stamp)
        except FileNotFoundError:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.touch()

    def names(self) -> list[str]:
        """``default`` first, then the stored builders by name."""
        stored = sorted(p.parent.name for p in self.root.glob(f"*/{RECORD}")) if self.root.is_dir() else []
        return [DEFAULT_NAME, *(n for n in stored if n != DEFAULT_NAME)]

    def put(self, record: BuilderRecord) -> None:
        """Store ``record`` (callers changing an existing one hold :meth:`locked`)."""
        d = self.dir(record.name)
        d.mkdir(parents=True, exist_ok=True)
        write_atomic(d / RECORD, (json.dumps(to_json(record), indent=2) + "\n").encode())

    def update(self, name: str, change: Callable[[BuilderRecord], BuilderRecord]) -> BuilderRecord:
        """Apply ``change`` to the current record under the lock, store and return the result."""
        with self.locked():
            new = change(self.get(name))
            self.put(new)
            return new

    def install_config(self, name: str, source: Path) -> str:
        """Copy ``source`` beside the record; returns the file name to put in the record."""
        d = self.dir(name)
        d.mkdir(parents=True, exist_ok=True)
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read builder config {source}: {exc.strerror}") from exc
        write_atomic(d / CONFIG, data)
        return CONFIG

    def config_path(self, record: BuilderRecord) -> Path | None:
        """The stored copy of the builder's config file, if it has one."""
        return self.dir(record.name) / record.config_file if record.config_file else None

    def remove(self, name: str) -> None:
        """Delete a builder's files (the caller holds the lock). ``default`` is only reset."""
        d = self.dir(name)
        if not d.exists():
            return
        trash = Path(tempfile.mkdtemp(dir=self.root, prefix=".removing-"))
        os.replace(d, trash / name)
        shutil.rmtree(trash, ignore_errors=True)

    def current(self) -> str:
        """The builder chosen by ``use``; ``default`` when none is, or it no longer exists."""
        try:
            name = (self.root / "current").read_text().strip()
        except OSError:
            return DEFAULT_NAME
        return name if name and _NAME_RE.match(name) and self.exists(name) else DEFAULT_NAME

    def set_current(self, name: str) -> None:
        """Make ``name`` the builder used when no ``--builder`` or environment variable says otherwise."""
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.root / "current", (name + "\n").encode())
