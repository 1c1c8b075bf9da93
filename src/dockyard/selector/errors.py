"""What selecting files can fail with; callers turn these into Dockerfile or build errors.

They are plain exceptions (not :class:`~dockyard.errors.DockyardError`) because the selector
does not know the Dockerfile line or the step: the cache-key pass wraps them with ``FILE:LINE``
(:class:`~dockyard.errors.DockerfileError`), the copy with its step (``BuildError``).
"""

from __future__ import annotations


class SelectionError(Exception):
    """Base: the source, pattern or link named cannot be selected."""


class BadPatternError(SelectionError, ValueError):
    """A malformed wildcard or pattern (Go's ``ErrBadPattern``: "syntax error in pattern")."""


class SourceNotFoundError(SelectionError, FileNotFoundError):
    """A COPY/ADD source selects nothing; ``args[0]`` is the source as written."""


class LinkLoopError(SelectionError):
    """Resolving a symlink inside the root took more than 255 links."""


def explain(exc: SelectionError) -> str:
    """One line for a user: what could not be selected, and why."""
    if isinstance(exc, SourceNotFoundError):
        return f"{exc.args[0]!r} not found in build context (or excluded by .dockerignore)"
    return str(exc)
