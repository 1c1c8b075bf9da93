"""What running one build step means, independent of the runtime that does it.

The solver hands an :class:`Executor` a :class:`RunRequest` (a rootfs already mounted
by the snapshotter, the command, its environment and sandbox options) and gets a
:class:`RunResult` back. Output reaches the caller line by line while the step runs,
through a callback, so progress can show it live; the result keeps the last lines
for the error message of a failing step. Tests can substitute any object with a
matching ``run`` method (DESIGN rule 8).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from dockyard.errors import BuildError
from dockyard.platform import Platform

TAIL_LINES = 20

# (stream, line): stream is 1 for stdout, 2 for stderr; the line has no trailing newline.
OutputCallback = Callable[[int, bytes], None]


class Network(enum.Enum):
    """RUN --network: NONE is a private namespace with only loopback; HOST shares the host's.

    DEFAULT (no flag) is HOST as root; rootless, it is the build's own namespace when
    slirp4netns can wire one, else NONE (:mod:`dockyard.executor.rootless`).
    """

    NONE = "none"
    HOST = "host"
    DEFAULT = "default"


@dataclass(frozen=True, kw_only=True)
class Mount:
    """An extra mount for a step (RUN --mount): a bind of a host path, or a fresh tmpfs."""

    target: str
    kind: str = "bind"  # "bind" or "tmpfs"
    source: str = ""
    readonly: bool = False
    options: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """One process to run in ``rootfs``; ``user`` is a Dockerfile USER value, resolved in the rootfs."""

    rootfs: Path
    args: Sequence[str]
    env: Sequence[str] = ()
    cwd: str = "/"
    user: str = ""
    network: Network = Network.NONE
    platform: Platform | None = None
    mounts: Sequence[Mount] = ()
    hostname: str = "dockyard"
    no_new_privileges: bool = True


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """How a step ended; ``tail`` holds its last output lines (decoded, replacement for bad bytes)."""

    exit_code: int
    tail: tuple[str, ...] = field(default=())
    duration: float = 0.0

    def check(self, step: str) -> None:
        """Raise a :class:`StepFailedError` naming ``step`` (e.g. ``Dockerfile:7 RUN make``) on failure."""
        if self.exit_code != 0:
            raise StepFailedError(step, self)


class StepFailedError(BuildError):
    """A step exited non-zero; the message carries the exit code and the last lines of output."""

    def __init__(self, step: str, result: RunResult) -> None:
        lines = "\n".join(f"  {line}" for line in result.tail)
        detail = f"\n{lines}" if lines else ""
        super().__init__(f"{step}: process did not complete successfully: exit code {result.exit_code}{detail}")
        self.step = step
        self.result = result


class Executor(Protocol):
    """Runs steps; :class:`dockyard.executor.runc.RuncExecutor` is the real one."""

    def run(self, request: RunRequest, *, on_output: OutputCallback | None = None) -> RunResult: ...


@runtime_checkable
class KillsRunning(Protocol):
    """An :class:`Executor` that can kill the steps it is running (an optional capability; runc's can)."""

    def kill_running(self) -> None:
        """Kill every step this executor is running (a failed or interrupted build)."""
        ...
