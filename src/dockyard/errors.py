"""The one exception tree of dockyard.

Every failure a user can cause or meet is a :class:`DockyardError` carrying a one-line
message and, where it helps, a hint. Library code raises these (converting other
libraries' exceptions at the boundary, with context such as ``Dockerfile:12`` or the
registry and its error code); only ``dockyard.cli.main`` turns them into exit codes.

The tree is kept small on purpose, so callers can catch a meaningful branch::

    DockyardError
     ├── UsageError            bad command-line input or option values           (exit 2)
     │    └── NotBuiltError    a verb or option that exists in the CLI but not yet (exit 2)
     ├── ConfigError           unreadable or invalid configuration files
     ├── HostError             the machine lacks something: a tool, a privilege, a kernel feature
     ├── DockerfileError       the build definition is wrong (carries file:line)
     ├── RegistryError         a registry refused or failed (carries registry and code)
     ├── BuildError            a build step failed (carries the step)
     ├── GateError             a quality gate failed; nothing was pushed            (exit 3)
     ├── NodeError             a remote node cannot be reached, refused, or died (rotation skips it)
     └── StoreError            the local content store or cache is unusable
"""

from __future__ import annotations


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


class NodeError(DockyardError):
    """A build node could not be used: unreachable, another protocol version, failed bootstrap, or
    its connection died mid-build. Unlike a BuildError (a step failed, which any node would repeat)
    the platform's work may be retried on another node."""


class StoreError(DockyardError):
    """The local store (content, snapshots, cache records) cannot be used."""
