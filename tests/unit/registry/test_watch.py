"""The registry watch (issue 18, item 6): what a push waits for, said after a few seconds, and the
push deadline's error naming the registry and the request (a fake clock; no network)."""

from __future__ import annotations

import threading

import pytest

from dockyard.registry.watch import DeadlineExceededError, Watch, reporting


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_deadline_names_the_registry_and_the_request_still_waiting() -> None:
    clock = _Clock()
    watch = Watch(clock=clock)
    with watch.deadline(30, "push to 127.0.0.1:5000/app"), watch.waiting("127.0.0.1:5000", "ping (GET /v2/)"):
        assert watch.cap(60) == 30
        clock.now += 29
        assert watch.cap(60) == pytest.approx(1)
        clock.now += 2
        with pytest.raises(DeadlineExceededError) as failed:
            watch.remaining()
    assert failed.value.message == ("push to 127.0.0.1:5000/app did not finish within 30s: "
                                    "no answer from 127.0.0.1:5000 to ping (GET /v2/)")
    assert failed.value.registry == "127.0.0.1:5000"
    assert watch.remaining() is None  # the deadline ended with its block


def test_without_a_deadline_nothing_is_capped() -> None:
    watch = Watch(clock=_Clock())
    assert watch.cap(60) == 60 and watch.remaining() is None


def test_a_long_wait_is_reported_once_it_passes_a_few_seconds() -> None:
    clock = _Clock()
    watch = Watch(clock=clock)
    said: list[str] = []
    heard = threading.Event()

    def report(line: str) -> None:
        said.append(line)
        heard.set()

    with reporting(watch, report, after=5.0), watch.waiting("reg.example", "check blob sha256:abc"):
        clock.now += 4  # not yet worth saying
        assert not heard.wait(1.5)
        clock.now += 8
        assert heard.wait(10)
    assert said == ["waiting 12s for reg.example: check blob sha256:abc"]
