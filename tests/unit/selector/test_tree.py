"""The context as a step sees it: .dockerignore as fsutil's walker applies it, links inside.

Rules pinned: tonistiigi/fsutil filter.go filterFS.Walk (lazy parent directories, prefix
pruning, MatchesUsingParentResults), moby/patternmatcher patternmatcher.go.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.selector import PatternMatcher, SourceTree
from dockyard.selector.errors import BadPatternError, LinkLoopError


def _tree(root: Path, files: list[str], ignore: list[str]) -> SourceTree:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            path.mkdir(exist_ok=True)
        else:
            path.write_text(name)
    return SourceTree(root, ignore=PatternMatcher(ignore))


def _all(tree: SourceTree) -> list[str]:
    out: list[str] = []
    stack = [tree.node(".")]
    while stack:
        node = stack.pop()
        assert node is not None
        for child in tree.children(node):
            out.append(child.rel)
            if child.is_dir:
                stack.append(child)
    return sorted(out)


def test_excluded_directories_are_sent_only_for_what_is_inside(tmp_path: Path) -> None:
    tree = _tree(tmp_path, ["a/keep.txt", "a/drop.go", "b/x.go", "b/empty/", "c/d/e.go"],
                 ["a", "b", "c", "!a/keep.txt", "!c/**/*.txt"])
    # b/ holds nothing re-included: no empty b/ (fsutil sends parents lazily); c/ is walked, empty
    assert _all(tree) == ["a", "a/keep.txt"]
    assert tree.lookup("b") is None and tree.lookup("c") is None


def test_walk_results_differ_from_path_lookups_as_in_patternmatcher(tmp_path: Path) -> None:
    # "a/b" then "!a": MatchesOrParentMatches re-includes a/b (the parent matches "!a"), but
    # during a walk "!a" was skipped at "a" and a/b only tests its own path: it stays excluded.
    matcher = PatternMatcher(["a/b", "!a"])
    assert matcher.matches("a/b") is False
    tree = _tree(tmp_path, ["a/b", "a/c"], ["a/b", "!a"])
    assert _all(tree) == ["a", "a/c"]


def test_symlinks_resolve_inside_the_filtered_tree(tmp_path: Path) -> None:
    tree_root = tmp_path / "ctx"
    tree_root.mkdir()
    (tree_root / "secret.key").write_text("k")
    (tree_root / "data").mkdir()
    (tree_root / "data/f").write_text("f")
    os.symlink("/etc", tree_root / "hostetc")
    os.symlink("../../../../data", tree_root / "up")
    os.symlink("secret.key", tree_root / "key")
    os.symlink("loop", tree_root / "loop")
    tree = SourceTree(tree_root, ignore=PatternMatcher(["*.key"]))
    assert tree.lookup("hostetc/passwd") is None  # /etc of the context (absent), not the host's
    node = tree.lookup("up/f")
    assert node is not None and node.rel == "data/f"  # ".." stops at the root
    assert tree.lookup("key") is None  # points at an excluded file
    with pytest.raises(LinkLoopError):
        tree.lookup("loop")


def test_malformed_patterns_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BadPatternError):
        PatternMatcher(["ok", "bad["])


SHAPES = ["a/b/c/d.txt", "a/b/e.go", "a/x/y/z.txt", "a/x/ab", "b/a/b/c", "b/q.txt", "c/d/e/f/g", "top.txt"]


@pytest.mark.parametrize("patterns", [
    ["top.txt"], ["a/b"], ["a/b/**"], ["a/*"], ["a/x/*"], ["c/d/e"], ["**/ab"], ["*/a"], ["a", "!a/x/y"],
    ["b/a/b/c", "!b/a"], ["a/b/c/d.txt", "!a/b"], ["b/**", "!b/a/**"], ["c/d/e/f/*"], ["a/[bx]/*.txt"],
    ["a\\/b/c"], ["a/b", "!a/b/c"],
])
def test_directories_no_pattern_reaches_skip_the_matching_not_its_answer(tmp_path: Path, patterns: list[str],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a directory no pattern matched and none names a path below, children are not
    matched one by one; the tree must be the one matching each child gives (and each node's
    results the same, as they are handed down)."""
    _tree(tmp_path, SHAPES, patterns)

    def listing(tree: SourceTree) -> list[tuple[str, tuple[bool, ...]]]:
        nodes = [tree.node(rel) for rel in _all(tree)]
        return [(node.rel, tuple(node.info)) for node in nodes if node is not None]

    fast = listing(SourceTree(tmp_path, ignore=PatternMatcher(patterns)))
    monkeypatch.setattr(SourceTree, "_clear_below", lambda self, parent: False)
    assert fast == listing(SourceTree(tmp_path, ignore=PatternMatcher(patterns)))
    assert fast  # something is listed
