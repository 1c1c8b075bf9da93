"""gcpause: the collector is off inside pauses, back on after the last, and what a pause made
inside a hold is frozen only until the hold ends (a build's cyclic garbage is never kept)."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import weakref

from dockyard import gcpause


class _Cyclic:
    def __init__(self) -> None:
        self.me = self


def test_pauses_overlap_and_the_last_one_turns_the_collector_back_on() -> None:
    assert gc.isenabled()
    first = gcpause.paused()
    first.__enter__()
    assert not gc.isenabled()
    with gcpause.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the first pause is still open
    first.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off() -> None:
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_pauses_from_threads_keep_the_collector_off_until_both_end() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with gcpause.paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(10)
    with gcpause.paused():
        pass
    assert not gc.isenabled()  # the other thread's pause is open
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_hold_freezes_what_its_pauses_made_and_returns_it_at_its_end() -> None:
    gc.collect()
    assert gc.get_freeze_count() == 0
    with gcpause.held():
        with gcpause.paused():
            garbage = _Cyclic()
        assert gc.get_freeze_count() > 0
        gone = weakref.ref(garbage)
        del garbage
        gc.collect()
        assert gone() is not None  # frozen: no collection inside the hold sees it
        with gcpause.held():  # nested (a solve inside a build): the outer hold decides
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gone() is None  # the build's cyclic garbage is collected after it


def test_a_pause_outside_any_hold_freezes_nothing() -> None:
    with gcpause.paused():
        garbage = _Cyclic()
    assert gc.get_freeze_count() == 0
    gone = weakref.ref(garbage)
    del garbage
    gc.collect()
    assert gone() is None


def test_objects_the_process_froze_itself_stay_frozen() -> None:
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with gcpause.held():
            with gcpause.paused():
                pass
            assert gc.get_freeze_count() == before
        assert gc.get_freeze_count() == before
    finally:
        gc.unfreeze()


def test_the_command_line_starts_with_a_larger_young_generation_and_the_library_does_not() -> None:
    """The CLI package raises the young threshold for its process; ``import dockyard`` (a program
    using the library) leaves the process's settings alone. Fresh interpreters: this one's is shared."""
    def young_threshold(module: str) -> int:
        probe = f"import gc; import {module}; print(gc.get_threshold()[0])"
        return int(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)

    assert young_threshold("dockyard") == young_threshold("sys") != gcpause.COMMAND_LINE_THRESHOLD
    assert young_threshold("dockyard.cli.main") == gcpause.COMMAND_LINE_THRESHOLD
