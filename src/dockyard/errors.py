"""The one exception tree of dockyard.

Every failure a user can cause or meet is a :class:`DockyardError` carrying a one-line
message and, where it helps, a hint. Library code raises these (converting other
libraries' exceptions at the boundary, with context such as ``Dockerfile:12`` or the
registry and its error code); only ``dockyard.cli.main`` turns them into exit codes.

The tree is kept small on purpose, so callers can catch a meaningful branch::

    DockyardError
     ├── UsageError            bad command-line input or option values           (exit 2)
     │    ├── ArgumentError    a library call's argument has the wrong type or shape
     │    ├── SigningKeyError  a signing key that cannot be used (wrong password, format or curve)
     │    └── NotBuiltError    a verb or option that exists in the CLI but not yet (exit 2)
     ├── ConfigError           unreadable or invalid configuration files
     ├── HostError             the machine lacks something: a tool, a privilege, a kernel feature
     ├── DockerfileError       the build definition is wrong (carries file:line)
     ├── RegistryError         a registry refused or failed (carries registry and code)
     ├── BuildError            a build step failed (carries the step)
     ├── GateError             a quality gate failed; nothing was pushed            (exit 3)
     ├── VerificationError     a signature or attestation is missing, altered or by another key
     ├── NodeError             a remote node cannot be reached, refused, or died (rotation skips it)
     └── StoreError            the local content store or cache is unusable
"""

from __future__ import annotations

import errno
import os


class DockyardError(Exception):
    """Root of every error dockyard reports to a user.

    ``message`` is one line that names what failed; ``hint`` says what to do about it.
    Neither may ever contain a secret.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(DockyardError):
    """The command line asks for something invalid; nothing was attempted."""

    exit_code = 2


class ArgumentError(UsageError):
    """A library call got an argument of the wrong type or shape (the API's UsageError); nothing ran."""


class SigningKeyError(UsageError):
    """A key file that cannot be used: wrong password, wrong format, wrong curve (``dockyard.signing.keys``)."""


class NotBuiltError(UsageError):
    """The verb or option is part of dockyard's interface but is not implemented yet."""


class ConfigError(DockyardError):
    """A configuration file (registries.toml, config.json, builder records) is invalid."""


class HostError(DockyardError):
    """This machine lacks a tool, a privilege or a kernel feature dockyard needs."""


class DockerfileError(DockyardError):
    """The Dockerfile is invalid; the message starts with ``FILE:LINE``."""

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, hint: str | None = None
    ) -> None:
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}", hint=hint)
        self.file = file
        self.line = line


class RegistryError(DockyardError):
    """A registry answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        registry: str | None = None,
        code: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.registry = registry
        self.code = code
        self.status = status


class BuildError(DockyardError):
    """A build step failed; the message names the step and its Dockerfile line."""


class GateError(DockyardError):
    """A quality gate failed in enforce mode: nothing was pushed and no tag moved."""

    exit_code = 3


class VerificationError(DockyardError):
    """A signature or attestation is missing, does not verify, or is about something else
    (``dockyard.verify``; here, not in ``signing/``, so catching it loads no cryptography)."""


class NodeError(DockyardError):
    """A build node could not be used: unreachable, another protocol version, failed bootstrap, or
    its connection died mid-build. Unlike a BuildError (a step failed, which any node would repeat)
    the platform's work may be retried on another node."""


class StoreError(DockyardError):
    """The local store (content, snapshots, cache records) cannot be used."""


_FULL = (errno.ENOSPC, errno.EDQUOT)
_REFUSED = (errno.EACCES, errno.EPERM, errno.EROFS)


def disk_full(exc: OSError) -> bool:
    """Whether ``exc`` says the filesystem (or the user's quota) is full: callers that describe
    errors in a container's terms let these through, so the boundary can name the host's directory."""
    return exc.errno in _FULL


def filesystem_error(exc: OSError, *, doing: str, where: str | os.PathLike[str] | None = None,
                     fallback: str | os.PathLike[str] | None = None) -> HostError:
    """``exc`` (from reading or writing files) as one line naming what was done and where, with a hint.

    ``where`` is the path the user named (an output; shown instead of our temporary files beside
    it), ``fallback`` the directory being written when the error names no file (a failed write(2)
    on an open file). A full disk names the mount point of the filesystem that is full, the one
    thing a user needs to know to free space or move the store or the output elsewhere.
    """
    named = exc.filename if isinstance(exc.filename, str) else None
    chosen = where if where is not None else named if named is not None else fallback
    path = os.fspath(chosen) if chosen is not None else None
    reason = exc.strerror or str(exc)
    if exc.errno in _FULL:
        place = "" if path is None else f": the filesystem mounted at {_mount_point(path)} is full (writing {path})"
        return HostError(f"{doing}: no space left on device{place}",
                         hint="free space there, or put the store (DOCKYARD_ROOT) or the output on a bigger disk")
    if exc.errno in _REFUSED:
        return HostError(f"{doing}: {path or 'the store'}: {reason}",
                         hint="check that this user may read and write there (not a read-only or immutable path)")
    return HostError(f"{doing}: {path}: {reason}" if path is not None else f"{doing}: {reason}")


def _mount_point(path: str) -> str:
    current = os.path.abspath(path)
    while not os.path.exists(current) or not os.path.ismount(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current
