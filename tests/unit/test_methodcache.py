"""The CLI's cache of dataclass methods: same classes as stock ``dataclasses``, none compiled twice."""

from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.cli import methodcache

_METHODS = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__", "__lt__", "__ge__")


def _shapes() -> list[type]:
    """Class shapes that make dataclasses generate every kind of method it has."""

    @dataclasses.dataclass(frozen=True)
    class Frozen:
        a: int
        b: str = "x"
        c: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(order=True, slots=True)
    class Ordered:
        a: int
        b: float = 1.5

    @dataclasses.dataclass(kw_only=True, unsafe_hash=True)
    class KeywordOnly:
        a: int
        b: tuple[str, ...] = ()

    @dataclasses.dataclass
    class WithPost:
        a: int
        b: int = dataclasses.field(init=False, default=0)

        def __post_init__(self) -> None:
            self.b = self.a * 2

    return [Frozen, Ordered, KeywordOnly, WithPost]


@pytest.fixture
def stock_exec() -> Iterator[None]:
    """Whatever this test process installed (a CLI test imports dockyard.cli) is put back after."""
    saved = dataclasses.__dict__.get("exec")
    dataclasses.__dict__.pop("exec", None)
    yield
    if saved is None:
        dataclasses.__dict__.pop("exec", None)
    else:
        dataclasses.exec = saved  # type: ignore[attr-defined]


def _with(cache: methodcache.MethodCache | None, make: Callable[[], list[type]]) -> list[type]:
    if cache is None:
        dataclasses.__dict__.pop("exec", None)
    else:
        dataclasses.exec = cache.exec  # type: ignore[attr-defined]
    try:
        return make()
    finally:
        dataclasses.__dict__.pop("exec", None)


def _code(cls: type, name: str) -> Any:
    fn = cls.__dict__.get(name)
    return None if fn is None else (fn.__code__, fn.__annotations__, fn.__defaults__, fn.__kwdefaults__)


@pytest.mark.usefixtures("stock_exec")
def test_cached_methods_equal_stock_ones_and_are_reused(tmp_path: Path) -> None:
    path = tmp_path / "methods.marshal"
    stock = _with(None, _shapes)
    first = methodcache.MethodCache(path)
    made = _with(first, _shapes)
    assert first.added > 10
    for want, got in zip(stock, made, strict=True):
        for name in _METHODS:
            assert _code(got, name) == _code(want, name), (want.__name__, name)
    # the field's own annotation, not the generated local's name: methodcache's __future__ import
    # (annotations as strings) did not leak into the compiled text
    assert made[0].__init__.__annotations__["a"] == "int"  # type: ignore[misc]
    first.save()
    second = methodcache.MethodCache(path)
    again = _with(second, _shapes)
    assert second.added == 0 and len(second.codes) == first.added
    frozen = again[0](1)
    assert frozen == again[0](1) and frozen != again[0](2) and hash(again[2](a=1)) == hash(stock[2](a=1))
    assert repr(frozen).endswith("Frozen(a=1, b='x', c=[])")
    with pytest.raises(dataclasses.FrozenInstanceError):
        frozen.a = 2
    assert again[1](1) < again[1](2) and again[3](3).b == 6
    mtime = path.stat().st_mtime_ns
    second.save()  # nothing new: the file is not rewritten
    assert path.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("damage", [
    lambda data: data[: len(data) // 2],  # cut short by a crash
    lambda data: data[:4] + bytes([data[4] ^ 1]) + data[5:],  # one bit flipped
    lambda data: b"",
    lambda data: (0).to_bytes(4, "big") + marshal.dumps(["not", "a", "dict"]),
])
@pytest.mark.usefixtures("stock_exec")
def test_a_damaged_file_is_ignored_and_replaced(tmp_path: Path, damage: Callable[[bytes], bytes]) -> None:
    path = tmp_path / "methods.marshal"
    good = methodcache.MethodCache(path)
    _with(good, _shapes)
    good.save()
    path.write_bytes(damage(path.read_bytes()))
    cache = methodcache.MethodCache(path)
    assert cache.codes == {}
    _with(cache, _shapes)
    cache.save()
    assert methodcache.MethodCache(path).codes.keys() == good.codes.keys()


def test_the_cli_fills_it_once(tmp_path: Path) -> None:
    """Two runs of a verb: the first writes the cache, the second compiles nothing (leaves it alone)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    argv = [sys.executable, "-m", "dockyard", "ls"]
    subprocess.run(argv, env=env, check=True, capture_output=True)
    [path] = (tmp_path / "cache" / "dockyard").iterdir()
    assert path.name == methodcache.cache_path().name
    assert len(methodcache.MethodCache(path).codes) > 20
    mtime = path.stat().st_mtime_ns
    subprocess.run(argv, env=env, check=True, capture_output=True)
    assert path.stat().st_mtime_ns == mtime


def test_the_library_alone_leaves_dataclasses_alone() -> None:
    code = "import dockyard, dockyard.api.build, dataclasses; print('exec' in vars(dataclasses))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


@pytest.mark.usefixtures("stock_exec")
def test_a_damaged_entry_is_compiled_again(tmp_path: Path) -> None:
    path = tmp_path / "methods.marshal"
    good = methodcache.MethodCache(path)
    stock = _with(good, _shapes)
    good.codes = {text: b"\x00junk" for text in good.codes}
    good.added = 0
    again = _with(good, _shapes)
    assert good.added == len(good.codes)
    for want, got in zip(stock, again, strict=True):
        assert _code(got, "__init__") == _code(want, "__init__")


@pytest.mark.parametrize("exposure", ["file writable by others", "directory writable by others", "another owner"])
@pytest.mark.usefixtures("stock_exec")
def test_a_cache_someone_else_could_write_is_not_run(tmp_path: Path, exposure: str) -> None:
    """The entries are code the process runs: root started with another user's HOME (sudo) must
    not run what that user wrote. Only a file and directory of our own, writable by no one else."""
    path = tmp_path / "cache" / "methods.marshal"
    good = methodcache.MethodCache(path)
    _with(good, _shapes)
    good.save()
    assert methodcache.MethodCache(path).codes  # ours: read
    if exposure == "file writable by others":
        path.chmod(0o666)
    elif exposure == "directory writable by others":
        path.parent.chmod(0o777)
    else:
        if os.geteuid() != 0:
            pytest.skip("changing a file's owner needs root (CI runs as root)")
        os.chown(path, 65534, 65534)
    assert methodcache.MethodCache(path).codes == {}
