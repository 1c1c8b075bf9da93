"""Foreign platforms: the executor asks qemu for an emulator first and names the package when it is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import HostError
from dockyard.executor import qemu
from dockyard.executor.base import Executor, KillsRunning, RunRequest
from dockyard.executor.runc import RuncExecutor
from dockyard.platform import Platform


def test_missing_emulator_is_a_host_error_naming_the_package(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    binfmt = tmp_path / "binfmt_misc"
    binfmt.mkdir()
    (binfmt / "register").write_text("")
    monkeypatch.setattr(qemu, "BINFMT", binfmt)
    monkeypatch.setattr(qemu, "DEFINITIONS", tmp_path / "no-definitions")
    executor = RuncExecutor(runtime="/bin/false", state_dir=tmp_path / "run")
    request = RunRequest(rootfs=tmp_path, args=["true"], platform=Platform.parse("linux/s390x"))
    with pytest.raises(HostError) as info:
        executor.run(request)
    assert "s390x" in str(info.value)
    assert info.value.hint is not None and "qemu-user-static" in info.value.hint
    assert not (tmp_path / "run").exists() or list((tmp_path / "run").iterdir()) == []


def test_runc_can_kill_its_running_steps(tmp_path: Path) -> None:
    """A failed solve stops runc's containers through the optional ``KillsRunning`` capability (engine/worker.py)."""
    executor: Executor = RuncExecutor(runtime="/bin/false", state_dir=tmp_path / "run")
    assert isinstance(executor, KillsRunning)
    executor.kill_running()  # nothing running: nothing to kill, no error
