"""Progress renderers: plain keeps every line in BuildKit's shape, rawjson is machine-readable."""

from __future__ import annotations

import io
import json

import pytest

from dockyard import progress
from dockyard.errors import UsageError


def _events() -> list[progress.Event]:
    return [
        progress.Cached("k1", name="[1/3] FROM busybox"),
        progress.Started("k2", name="[2/3] RUN make"),
        *[progress.Log("k2", line=f"line {i}") for i in range(50)],
        progress.Failed("k2", message="exit code 2"),
    ]


def test_plain_keeps_every_output_line() -> None:
    out = io.StringIO()
    render = progress.renderer("plain", out)
    for event in _events():
        render(event)
    render.close(ok=False)
    text = out.getvalue().splitlines()
    assert text[:3] == ["#1 [1/3] FROM busybox", "#1 CACHED", "#2 [2/3] RUN make"]
    assert sum(1 for line in text if line.startswith("#2 ") and " line " in line) == 50
    assert text[-1] == "#2 ERROR: exit code 2"


def test_rawjson_is_one_object_per_event() -> None:
    out = io.StringIO()
    render = progress.renderer("rawjson", out)
    for event in _events():
        render(event)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["type"] for r in records[:2]] == ["cached", "started"]
    assert records[-1] == {**records[-1], "type": "failed", "vertex": "k2", "message": "exit code 2"}


def test_tty_renderer_shows_summary() -> None:
    out = io.StringIO()
    render = progress.renderer("tty", out)
    for event in _events()[:3]:
        render(event)
    render(progress.Done("k2", duration=1.25))
    render.close(ok=True)
    assert "[+] Building" in out.getvalue()
    assert "(2/2) FINISHED" in out.getvalue()
    assert "CACHED" in out.getvalue()


def test_mode_from_flag_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUILDKIT_PROGRESS", "rawjson")
    assert progress.resolve_mode(None) == "rawjson"
    assert progress.resolve_mode("plain") == "plain"
    with pytest.raises(UsageError):
        progress.resolve_mode("fancy")


def test_a_cancelled_step_prints_canceled_as_buildx_does() -> None:
    out = io.StringIO()
    render = progress.renderer("plain", out)
    render(progress.Started("k", name="[2/2] COPY big /big"))
    render(progress.Canceled("k", duration=0.4))
    assert out.getvalue().splitlines() == ["#1 [2/2] COPY big /big", "#1 CANCELED"]
