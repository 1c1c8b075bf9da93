"""--exclude, .dockerignore and --parents: which entries a copy takes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.engine.copy import CopySpec, copy_into
from dockyard.errors import BuildError


def _files(root: Path) -> list[str]:
    out = []
    for base, dirs, files in os.walk(root):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(base, d))]:
            out.append(os.path.relpath(os.path.join(base, name), root))
    return sorted(out)


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    root = tmp_path / "ctx"
    for name in ("dir1/file-101.png", "dir1/file-102.txt", "dir2/file-201.pdf", "dir2/keep/file.txt",
                 "home.txt", "home.md", "x/a.txt", "y/a.txt", "x/y/b.txt", "src/a.txt", "src/x/b.txt",
                 "src/x/y/c.txt", "src/x/y/c.go"):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    return root


@pytest.fixture
def dst(tmp_path: Path) -> Path:
    d = tmp_path / "dst"
    d.mkdir()
    return d


def _copy(ctx: Path, dst: Path, *paths: str, dest: str, **kw: object) -> None:
    copy_into(source_root=ctx, dest_root=dst, spec=CopySpec(paths=paths, dest=dest, **kw))  # type: ignore[arg-type]


def test_exclude_patterns_are_relative_to_the_copied_directory(ctx: Path, dst: Path) -> None:
    _copy(ctx, dst, ".", dest="/1", excludes=("*/*.png", "*/*.pdf", "src", "x", "y", "home.*"))
    assert _files(dst / "1") == ["dir1/file-102.txt", "dir2/keep/file.txt"]


def test_exclude_applies_inside_matched_dirs_not_to_the_matches_themselves(ctx: Path, dst: Path) -> None:
    # BuildKit copies each wildcard match with fsutil copy.Copy, whose copier.copy never
    # tests the source itself (srcComponents == ""): --exclude=*.txt keeps a matched home.txt
    # (solver/llbsolver/file/backend.go docopy; fsutil copy/copy.go copier.copy).
    _copy(ctx, dst, "hom*", "dir*", dest="/2/", excludes=("*.txt",))
    assert _files(dst / "2") == ["file-101.png", "file-201.pdf", "home.md", "home.txt", "keep/file.txt"]


def test_an_exclusion_can_be_reincluded_and_its_parent_is_made_on_demand(ctx: Path, dst: Path) -> None:
    _copy(ctx, dst, "dir2", dest="/3", excludes=("*", "!keep/file.txt"))
    assert _files(dst / "3") == ["keep/file.txt"]
    _copy(ctx, dst, "dir2", dest="/4", excludes=("keep", "*.pdf"))
    assert os.listdir(dst / "4") == []  # nothing left: keep/ itself is not made


def test_dockerignore_hides_context_files_from_sources_and_walks(ctx: Path, dst: Path) -> None:
    ignore = ("**/*.png", "home.md", "dir2", "!dir2/keep")
    _copy(ctx, dst, "dir1", "dir2", "home.*", dest="/5/", context_excludes=ignore)
    assert _files(dst / "5") == ["file-102.txt", "home.txt", "keep/file.txt"]
    with pytest.raises(BuildError, match=r"excluded by \.dockerignore: home\.md"):
        _copy(ctx, dst, "home.md", dest="/6", context_excludes=ignore)


def test_dockerignore_does_not_apply_to_stages(ctx: Path, dst: Path) -> None:
    _copy(ctx, dst, "home.md", dest="/7", context_excludes=("home.md",), from_context=False)
    assert (dst / "7").read_text() == "home.md"


def test_parents_keeps_source_paths(ctx: Path, dst: Path) -> None:
    _copy(ctx, dst, "./x/a.txt", "./y/a.txt", dest="/parents/", parents=True)
    assert _files(dst / "parents") == ["x/a.txt", "y/a.txt"]


def test_parents_pivot_keeps_only_what_follows_it(ctx: Path, dst: Path) -> None:
    _copy(ctx, dst, "./x/./y/*.txt", dest="/pivot/", parents=True)
    assert _files(dst / "pivot") == ["y/b.txt"]


def test_parents_with_double_star(ctx: Path, dst: Path) -> None:
    _copy(ctx, dst, "./src/**/*.txt", dest="/deep/", parents=True)
    assert _files(dst / "deep") == ["src/a.txt", "src/x/b.txt", "src/x/y/c.txt"]


def test_parents_with_a_missing_literal_path_is_an_error(ctx: Path, dst: Path) -> None:
    with pytest.raises(BuildError, match=r"x/nothere\.txt"):
        _copy(ctx, dst, "x/nothere.txt", dest="/p/", parents=True)


def test_parents_with_a_pivot_at_the_end_copies_the_whole_directory(ctx: Path, dst: Path) -> None:
    _copy(ctx, dst, "./src/./", dest="/all/", parents=True)
    assert _files(dst / "all") == ["a.txt", "x/b.txt", "x/y/c.go", "x/y/c.txt"]
