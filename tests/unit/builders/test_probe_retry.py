"""Bootstrap probes survive ETXTBSY: a binary just written in one thread, exec'd while another forks."""

from __future__ import annotations

import errno
import subprocess
import time
from typing import Any

import pytest

from dockyard.builders import probe


def test_probe_run_retries_text_file_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        if len(calls) < 3:
            raise OSError(errno.ETXTBSY, "Text file busy")
        return subprocess.CompletedProcess(argv, 0, "x86_64\n", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(time, "sleep", lambda _: None)
    assert probe._run(["busybox", "uname", "-m"]).stdout == "x86_64\n"
    assert len(calls) == 3


def test_probe_run_other_errors_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0

    def fake_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        nonlocal calls
        calls += 1
        raise OSError(errno.ENOEXEC, "Exec format error")

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(OSError, match="Exec format"):
        probe._run(["busybox"])
    assert calls == 1
