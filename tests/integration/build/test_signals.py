"""SIGTERM and SIGHUP during a RUN stop the build as Ctrl-C does, and no secret is left anywhere
(issue 18, item 3).

What CI cancellation, ``timeout`` and Kubernetes send used to end dockyard on the spot, leaving
the step's container running, its overlay mounted, the secret file in /dev/shm and the value of
an ``env=`` secret in plain text in the bundle's config.json. After the signal these tests look
for the secret's value in every file of the data root, every file in /dev/shm and every process's
environment and command line, and for containers, mounts and bundles; then build again.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard
from tests.integration.build.leaks import files_holding, processes_holding, secret_step, step_containers

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signal_during_run_cleans_up_everything(busybox_base: str, tmp_path: Path, dockyard_root: Path,
                                                signum: int) -> None:
    step = secret_step(tmp_path, busybox_base, before="RUN echo a > /a\n")
    proc = step.start("-o", f"type=local,dest={tmp_path / 'out'}")
    try:
        # while the step runs, the value is in the container's environment and on tmpfs mounts, on no disk
        assert files_holding(step.marker, dockyard_root, skip_mounts=True) == []
        assert processes_holding(step.marker) != []
    finally:
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert f"terminated ({signal.Signals(signum).name})" in err
    assert "Traceback" not in err and step.marker not in err
    assert step_containers(proc.pid) == []
    assert str(dockyard_root) not in Path("/proc/mounts").read_text()
    assert list((dockyard_root / "run").iterdir()) == []
    assert files_holding(step.marker, dockyard_root) == []
    assert files_holding(step.marker, Path("/dev/shm")) == []
    assert processes_holding(step.marker) == []
    # the next build is correct: the interrupted step runs, nothing half-made is reused
    (step.ctx / "Dockerfile").write_text(
        f"FROM {busybox_base}\nRUN echo a > /a\n"
        "RUN --mount=type=secret,id=tok,env=TOKEN --mount=type=secret,id=tok "
        "test \"$TOKEN\" = \"$(cat /run/secrets/tok)\" && echo ok > /b\n")
    dockyard("build", "--progress", "quiet", "--secret", f"id=tok,src={step.secret_file}",
             "-o", f"type=local,dest={tmp_path / 'out2'}", str(step.ctx))
    assert (tmp_path / "out2" / "a").read_text() == "a\n"
    assert (tmp_path / "out2" / "b").read_text() == "ok\n"
    assert files_holding(step.marker, dockyard_root) == []
