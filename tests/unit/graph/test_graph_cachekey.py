"""Cache keys: pinned golden values, stripping of non-semantic fields, context sensitivity."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from dockyard.graph.cachekey import CacheKeys
from dockyard.graph.contenthash import TICK_NS, ContextHasher, SourceNotFoundError, StatCache
from dockyard.graph.ops import ContextSource, Copy, Exec, ImageSource, Merge, Mkdir, Mount, Op
from dockyard.graph.walk import topological
from dockyard.platform import Platform
from dockyard.selector import SourceSpec

AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")


def _context(root: Path) -> Path:
    files = {
        "app/main.py": "print('hi')\n",
        "app/util.py": "X = 1\n",
        "README.md": "# r\n",
        "other.txt": "o\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o644)
    (root / "app").chmod(0o755)
    return root


def _sum(hasher: ContextHasher, *paths: str, ignore: tuple[str, ...] = (), follow_symlinks: bool = True) -> str:
    return hasher.checksum(SourceSpec(paths=paths, follow_symlinks=follow_symlinks), ignore=ignore)


def _graph(context: ContextSource, *, line: int = 3, description: str = "") -> tuple[Exec, Copy]:
    base = ImageSource(ref="alpine:3.19", platform=AMD64, line=1)
    workdir = Mkdir(root=base, path="/app", platform=AMD64, line=2)
    copy = Copy(
        root=workdir,
        source=context,
        paths=("app/",),
        dest="/app/",
        platform=AMD64,
        line=line,
        description=description,
    )
    run = Exec(
        root=copy,
        argv=("/bin/sh", "-c", "python main.py"),
        env=("PATH=/bin",),
        cwd="/app",
        user="",
        platform=AMD64,
        mounts=(Mount(type="cache", target="/root/.cache", cache_id="/root/.cache", sharing="shared"),),
        line=line + 1,
    )
    return run, copy


# v2 keys (KEY_VERSION bumped when contenthash moved onto the one file selector)
GOLDEN = {
    "image": "sha256:89c8893afd6cabfa2e89b96d156c9f65cdfee8e1ce95ca7621e053b4837c0b88",
    "copy": "sha256:62e7ea59a8a25c99d94bac01f8f230d176d283c3f1909d380f1fae2b78bd85c1",
    "run": "sha256:649bc23026c618a8ce19c837c1ad46e8281c977648435f8067cb97ba17160dfe",
}


def test_golden_keys(tmp_path: Path) -> None:
    keys = CacheKeys(ContextHasher(_context(tmp_path)))
    run, copy = _graph(ContextSource(excludes=("*.md",)))
    assert keys.key(ImageSource(ref="alpine:3.19", platform=AMD64)) == GOLDEN["image"]
    assert keys.key(copy) == GOLDEN["copy"]
    assert keys.key(run) == GOLDEN["run"]


def test_canonical_bytes_are_compact_sorted_json() -> None:
    keys = CacheKeys()
    image = ImageSource(ref="alpine:3.19", platform=ARM64, line=7, description="FROM alpine")
    raw = keys.canonical(image)
    assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    assert keys.key(image) == "sha256:" + hashlib.sha256(raw).hexdigest()
    body = json.loads(raw)
    assert body["op"] == "ImageSource"
    assert body["fields"] == {"platform": "linux/arm64", "ref": "alpine:3.19"}


def test_lines_and_descriptions_do_not_change_keys(tmp_path: Path) -> None:
    keys = CacheKeys(ContextHasher(_context(tmp_path)))
    first, _ = _graph(ContextSource(), line=3, description="COPY app/ /app/")
    moved, _ = _graph(ContextSource(), line=30, description="something else")
    assert keys.key(first) == keys.key(moved)


def test_semantic_fields_change_keys(tmp_path: Path) -> None:
    keys = CacheKeys(ContextHasher(_context(tmp_path)))
    base = ImageSource(ref="alpine:3.19", platform=AMD64)
    variants = [
        Exec(root=base, argv=("true",), env=(), cwd="/", user="", platform=AMD64),
        Exec(root=base, argv=("false",), env=(), cwd="/", user="", platform=AMD64),
        Exec(root=base, argv=("true",), env=("A=1",), cwd="/", user="", platform=AMD64),
        Exec(root=base, argv=("true",), env=(), cwd="/tmp", user="", platform=AMD64),
        Exec(root=base, argv=("true",), env=(), cwd="/", user="nobody", platform=AMD64),
        Exec(root=base, argv=("true",), env=(), cwd="/", user="", platform=ARM64),
        Exec(root=base, argv=("true",), env=(), cwd="/", user="", platform=AMD64, network="none"),
        Exec(root=None, argv=("true",), env=(), cwd="/", user="", platform=AMD64),
    ]
    assert len({keys.key(v) for v in variants}) == len(variants)


def test_unrelated_context_file_changes_no_key(tmp_path: Path) -> None:
    root = _context(tmp_path)
    run, copy = _graph(ContextSource(excludes=("app/util.py",)))
    before = (CacheKeys(ContextHasher(root)).key(copy), CacheKeys(ContextHasher(root)).key(run))
    (root / "other.txt").write_text("changed\n")
    (root / "app" / "util.py").write_text("ignored by .dockerignore\n")
    (root / "new.txt").write_text("new\n")
    after = (CacheKeys(ContextHasher(root)).key(copy), CacheKeys(ContextHasher(root)).key(run))
    assert before == after
    (root / "app" / "main.py").write_text("print('changed')\n")
    changed = (CacheKeys(ContextHasher(root)).key(copy), CacheKeys(ContextHasher(root)).key(run))
    assert changed[0] != before[0]
    assert changed[1] != before[1]


def test_permission_change_changes_key(tmp_path: Path) -> None:
    root = _context(tmp_path)
    _, copy = _graph(ContextSource())
    before = CacheKeys(ContextHasher(root)).key(copy)
    (root / "app" / "main.py").chmod(0o755)
    assert CacheKeys(ContextHasher(root)).key(copy) != before


def test_stat_cache_skips_unchanged_files(tmp_path: Path) -> None:
    root = _context(tmp_path)
    time.sleep(TICK_NS / 1e9 + 0.02)  # older than a clock tick, so kept (StatCache._note_racy)
    cache = StatCache()
    hasher = ContextHasher(root, cache=cache)
    first = _sum(hasher, "app")
    assert cache.reads == 2
    assert _sum(hasher, "app") == first
    assert cache.reads == 2
    os.utime(root / "app" / "main.py", ns=(1, 1))
    time.sleep(TICK_NS / 1e9 + 0.02)  # older than a clock tick, so kept (StatCache._note_racy)
    _sum(ContextHasher(root, cache=cache), "app")  # a hasher sees the context of one build; next build
    assert cache.reads == 3
    saved = tmp_path / "stat.json"
    cache.save(saved)
    again = ContextHasher(root, cache=StatCache.load(saved))
    assert _sum(again, "app") == first
    assert again.cache.reads == 0


def test_wildcards_and_missing_sources(tmp_path: Path) -> None:
    root = _context(tmp_path)
    hasher = ContextHasher(root)
    assert _sum(hasher, "app/*.py") != _sum(hasher, "app/main.py")
    # an empty wildcard is no error (BuildKit's checksum of no paths), and keys differently
    assert _sum(hasher, "nothing/*.py") != _sum(hasher, "app/*.py")
    with pytest.raises(SourceNotFoundError):
        _sum(hasher, "missing.txt")


def test_link_merge_key_is_independent_of_base(tmp_path: Path) -> None:
    keys = CacheKeys(ContextHasher(_context(tmp_path)))
    context = ContextSource()
    layer = Copy(root=None, source=context, paths=("app/",), dest="/app/", platform=AMD64)
    on_alpine = Merge(layers=(ImageSource(ref="alpine:3.19", platform=AMD64), layer), platform=AMD64)
    on_debian = Merge(layers=(ImageSource(ref="debian:12", platform=AMD64), layer), platform=AMD64)
    assert keys.key(on_alpine) != keys.key(on_debian)
    assert on_alpine.inputs[1] is on_debian.inputs[1]


def test_topological_order_and_deep_chains() -> None:
    state: Op = ImageSource(ref="busybox", platform=AMD64)
    chain = [state]
    for i in range(3000):
        chain.append(Mkdir(root=chain[-1], path=f"/d{i}", platform=AMD64))
    order = topological([chain[-1]])
    assert order == chain
    assert CacheKeys().key(chain[-1]).startswith("sha256:")


def test_sources_are_rooted_at_the_context(tmp_path: Path) -> None:
    hasher = ContextHasher(_context(tmp_path))
    assert _sum(hasher, "../other.txt") == _sum(hasher, "other.txt") == _sum(hasher, "/other.txt")


def test_ignored_sources_are_not_found(tmp_path: Path) -> None:
    root = _context(tmp_path)
    hasher = ContextHasher(root)
    with pytest.raises(SourceNotFoundError):
        _sum(hasher, "README.md", ignore=("*.md", "!app"))
    assert _sum(hasher, "*.md", ignore=("*.md",)) == _sum(hasher, "nothing*")  # matches nothing
    # a directory with re-included children is still a valid source
    assert _sum(hasher, "app", ignore=("app", "!app/main.py")) != _sum(hasher, "app")


def test_symlinks_are_hashed_as_links_inside_directories(tmp_path: Path) -> None:
    root = _context(tmp_path)
    (root / "app" / "link").symlink_to("main.py")
    hasher = ContextHasher(root)
    first = _sum(hasher, "app")
    (root / "app" / "link").unlink()
    (root / "app" / "link").symlink_to("util.py")
    (root / "top").symlink_to("other.txt")
    hasher = ContextHasher(root)
    assert _sum(hasher, "app") != first
    # a symlink named as the source itself is followed to its target's content
    assert _sum(hasher, "top", follow_symlinks=True) != _sum(hasher, "top", follow_symlinks=False)


def test_owners_count_only_where_the_step_sees_them(tmp_path: Path) -> None:
    """COPY writes context files as root (or --chown, in the op): host owners never matter.
    A read-only bind of an unfiltered context is mounted in place, so the step sees them."""
    root = _context(tmp_path)
    base = ImageSource(ref="alpine:3.19", platform=AMD64)
    context = ContextSource()
    bind = Mount(type="bind", target="/src", source=context, selector="app", readonly=True)
    run = Exec(root=base, argv=("ls",), env=(), cwd="/", user="", platform=AMD64, mounts=(bind,))
    _, copy = _graph(context)
    before = (CacheKeys(ContextHasher(root)).key(copy), CacheKeys(ContextHasher(root)).key(run))
    os.chown(root / "app" / "main.py", 4242, 4242)
    after = (CacheKeys(ContextHasher(root)).key(copy), CacheKeys(ContextHasher(root)).key(run))
    assert after[0] == before[0]
    assert after[1] != before[1]
