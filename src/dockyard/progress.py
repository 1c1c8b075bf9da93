"""Build progress: typed events, and the renderers that show them (tty, plain, rawjson, quiet).

The solver emits events; it never prints. Renderers decide how a person (a terminal), a CI
log (plain: every line of a failing step is kept) or a program (rawjson) sees them. The mode
comes from ``--progress`` or the BUILDKIT_PROGRESS variable, as with buildx.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import IO, TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from rich.text import Text

from dockyard.errors import UsageError


@dataclass(frozen=True)
class Event:
    """Base of all events; ``vertex`` identifies a step (its cache key digest), ``at`` is wall time."""

    vertex: str
    at: float = field(default_factory=time.time, compare=False)


@dataclass(frozen=True)
class Started(Event):
    """A vertex began running."""

    name: str = ""


@dataclass(frozen=True)
class Cached(Event):
    """A vertex's result came from the cache; it will not run."""

    name: str = ""


@dataclass(frozen=True)
class Log(Event):
    """One line a running step wrote."""

    line: str = ""
    stream: Literal["stdout", "stderr"] = "stdout"


@dataclass(frozen=True)
class Done(Event):
    """A vertex finished; ``duration`` in seconds."""

    duration: float = 0.0


@dataclass(frozen=True)
class Failed(Event):
    """A vertex failed; ``message`` is the one-line reason."""

    message: str = ""


@dataclass(frozen=True)
class Notice(Event):
    """A line about the build as a whole (a push, a warning, GC); ``vertex`` is empty."""

    message: str = ""


@dataclass(frozen=True)
class Canceled(Event):
    """The build was interrupted while this step ran (BuildKit's ``CANCELED``)."""

    duration: float = 0.0


Listener = Callable[[Event], None]
Mode = Literal["auto", "tty", "plain", "rawjson", "quiet"]
MODES: tuple[Mode, ...] = ("auto", "tty", "plain", "rawjson", "quiet")


class Renderer(Protocol):
    """Receives every event of a build; ``close`` prints the summary."""

    def __call__(self, event: Event) -> None: ...

    def close(self, *, ok: bool) -> None: ...


class _Step:
    __slots__ = ("cached", "canceled", "done", "duration", "failed", "index", "logs", "name", "started")

    def __init__(self, index: int, name: str, started: float) -> None:
        self.index = index
        self.name = name
        self.started = started
        self.cached = False
        self.done = False
        self.failed = False
        self.canceled = False
        self.duration = 0.0
        self.logs: deque[str] = deque(maxlen=6)


class PlainRenderer:
    """BuildKit's plain format: ``#N [step] ...``, ``#N 0.12 output``, ``#N DONE 0.3s``. Nothing clipped."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._steps: dict[str, _Step] = {}
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def _step(self, event: Event, name: str) -> _Step:
        step = self._steps.get(event.vertex)
        if step is None:
            step = _Step(len(self._steps) + 1, name, time.monotonic())
            self._steps[event.vertex] = step
        return step

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, Started):
                step = self._step(event, event.name)
                self._write(f"#{step.index} {step.name}")
            elif isinstance(event, Cached):
                step = self._step(event, event.name)
                self._write(f"#{step.index} {step.name}\n#{step.index} CACHED")
            elif isinstance(event, Log):
                step = self._step(event, "")
                self._write(f"#{step.index} {time.monotonic() - step.started:.3f} {event.line}")
            elif isinstance(event, Done):
                step = self._step(event, "")
                self._write(f"#{step.index} DONE {event.duration:.1f}s")
            elif isinstance(event, Failed):
                step = self._step(event, "")
                self._write(f"#{step.index} ERROR: {event.message}")
            elif isinstance(event, Canceled):
                step = self._step(event, "")
                self._write(f"#{step.index} CANCELED")

    def _write(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    def close(self, *, ok: bool) -> None:
        return


class RawJSONRenderer:
    """One JSON object per event and line, for programs."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        record = {"type": type(event).__name__.lower(), **asdict(event)}
        with self._lock:
            self._out.write(json.dumps(record) + "\n")
            self._out.flush()

    def close(self, *, ok: bool) -> None:
        return


class QuietRenderer:
    """Shows nothing while building; a failing step's output is still reported by its error."""

    def __call__(self, event: Event) -> None:
        return

    def close(self, *, ok: bool) -> None:
        return


class TtyRenderer:
    """A live view like buildx's: ``[+] Building 3.2s (12/12) FINISHED`` and one line per step."""

    def __init__(self, out: IO[str]) -> None:
        from rich.console import Console
        from rich.live import Live

        self._console = Console(file=out, highlight=False)
        self._steps: dict[str, _Step] = {}
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._finished = ""
        self._live = Live(console=self._console, refresh_per_second=8, transient=False,
                          get_renderable=self._render)
        self._live.start()

    def __call__(self, event: Event) -> None:
        with self._lock:
            step = self._steps.get(event.vertex)
            if step is None:
                name = event.name if isinstance(event, Started | Cached) else ""
                step = _Step(len(self._steps) + 1, name, time.monotonic())
                self._steps[event.vertex] = step
            if isinstance(event, Cached):
                step.cached = step.done = True
            elif isinstance(event, Log):
                step.logs.append(event.line)
            elif isinstance(event, Done):
                step.done, step.duration = True, event.duration
                step.logs.clear()
            elif isinstance(event, Failed):
                step.failed = step.done = True
                step.duration = time.monotonic() - step.started
            elif isinstance(event, Canceled):
                step.canceled = step.done = True
                step.duration = event.duration

    def _render(self) -> Text:
        from rich.text import Text

        finished = self._finished
        with self._lock:
            steps = list(self._steps.values())
        total = len(steps)
        done = sum(1 for s in steps if s.done)
        head = f"[+] Building {time.monotonic() - self._t0:.1f}s ({done}/{total}) {finished}".rstrip()
        text = Text(head + "\n", style="bold blue" if not finished else "bold")
        for s in steps:
            if s.cached:
                tail, style = "CACHED", "blue"
            elif s.failed:
                tail, style = f"ERROR {s.duration:.1f}s", "red"
            elif s.canceled:
                tail, style = f"CANCELED {s.duration:.1f}s", "yellow"
            elif s.done:
                tail, style = f"{s.duration:.1f}s", "blue"
            else:
                tail, style = f"{time.monotonic() - s.started:.1f}s", "default"
            text.append(f" => {s.name}".ljust(70)[:70] + f" {tail:>8}\n", style=style)
            if not s.done:
                for line in s.logs:
                    text.append(f" => => # {line}"[:110] + "\n", style="dim")
        return text

    def close(self, *, ok: bool) -> None:
        self._finished = "FINISHED" if ok else "ERROR"
        self._live.stop()


def resolve_mode(flag: str | None) -> Mode:
    """``--progress`` wins, then BUILDKIT_PROGRESS, then auto (tty when stderr is a terminal)."""
    value = (flag or os.environ.get("BUILDKIT_PROGRESS") or "auto").lower()
    for mode in MODES:
        if mode == value:
            return mode
    raise UsageError(f"invalid progress mode {value!r}", hint="use one of: " + ", ".join(MODES))


def renderer(mode: Mode, out: IO[str] | None = None) -> Renderer:
    """The renderer for ``mode``; auto picks tty on a terminal, plain otherwise."""
    stream = out if out is not None else sys.stderr
    if mode == "auto":
        mode = "tty" if stream.isatty() else "plain"
    if mode == "tty":
        return TtyRenderer(stream)
    if mode == "rawjson":
        return RawJSONRenderer(stream)
    if mode == "quiet":
        return QuietRenderer()
    return PlainRenderer(stream)
