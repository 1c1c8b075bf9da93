"""--chmod parsing and application, checked against coreutils chmod(1) run with umask 0."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from dockyard.engine.chmod import parse_chmod
from dockyard.errors import DockerfileError

# BuildKit's own client test cases (testFileOpCopyChmodText) plus a few more.
_MODES = ["go-w", "o-rwx,g+x", "u=rwx,g=,o=", "u+rw,g+r,o-x,o+w", "a+X", "g+rw,o+rw", "u=rwX,go=rX",
          "+x", "-x", "a=rX", "go=u-w", "g=u", "u+s", "+t", "a+t", "=r,u+w", "u-X", "ug=rw,o=", "a-w,u+X"]
_STARTS = [0o500, 0o644, 0o755, 0o600, 0o711, 0o000, 0o750]


def _gnu_chmod(tmp: Path, mode_text: str, start: int, *, is_dir: bool) -> int:
    path = tmp / ("d" if is_dir else "f")
    if is_dir:
        path.mkdir()
    else:
        path.touch()
    os.chmod(path, start)
    subprocess.run(["sh", "-c", f'umask 0; chmod -- "{mode_text}" "{path}"'], check=True)
    mode = stat.S_IMODE(os.lstat(path).st_mode)
    os.chmod(path, 0o700)
    if is_dir:
        path.rmdir()
    else:
        path.unlink()
    return mode


@pytest.mark.parametrize("mode_text", _MODES)
def test_symbolic_modes_match_coreutils_chmod(tmp_path: Path, mode_text: str) -> None:
    change = parse_chmod(mode_text)
    for start in _STARTS:
        for is_dir in (False, True):
            kind = stat.S_IFDIR if is_dir else stat.S_IFREG
            expected = _gnu_chmod(tmp_path, mode_text, start, is_dir=is_dir)
            assert change.apply(kind | start) == expected, (mode_text, oct(start), is_dir)


def test_sticky_for_others_only_is_ignored_as_in_buildkit() -> None:
    # BuildKit's mode library follows BSD setmode(3): "o+t" does nothing (coreutils would set it)
    assert parse_chmod("o+t").apply(stat.S_IFDIR | 0o755) == 0o755
    assert parse_chmod("o+s").apply(stat.S_IFREG | 0o755) == 0o755


def test_octal_modes_replace_all_bits() -> None:
    assert parse_chmod("755").apply(stat.S_IFREG | 0o4600) == 0o755
    assert parse_chmod("2750").apply(stat.S_IFDIR | 0o700) == 0o2750
    assert parse_chmod("0").apply(stat.S_IFREG | 0o777) == 0


@pytest.mark.parametrize("bad", ["", "8", "17777", "u+q", "z=r", "u", "755x"])
def test_invalid_modes_are_dockerfile_errors(bad: str) -> None:
    with pytest.raises(DockerfileError, match="invalid chmod parameter"):
        parse_chmod(bad)
