"""Our corpus of Dockerfiles: each gives exactly the expected plan, outline, targets, check or error.

A case is ``NAME.Dockerfile`` + ``NAME.opts.json`` (mode, platforms, build args, target,
.dockerignore lines, fake base image configs) + ``NAME.expected``. The context is written
fresh for every case with fixed permissions, so cache keys in the expected plans are stable.
Set DOCKYARD_REGEN=1 to rewrite the expected files after an intended change, then review
the diff: the expected files are the specification.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from dockyard.dockerfile.request import BuildRequest, answer
from dockyard.dockerfile.resolver import StaticResolver
from dockyard.errors import DockyardError
from dockyard.platform import Platform

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name.removesuffix(".Dockerfile") for p in CORPUS.glob("*.Dockerfile"))
CONTEXT = {
    "app/main.py": "print('hello')\n",
    "app/util.py": "VALUE = 1\n",
    "app/README.md": "# app\n",
    "app/static/logo.txt": "logo\n",
    "cmd/server/main.go": "package main\n\nfunc main() {}\n",
    "go.mod": "module example.com/app\n\ngo 1.22\n",
    "go.sum": "",
    "README.md": "# project\n",
    "docs/guide.md": "guide\n",
    "docs/keep.md": "keep\n",
    "scripts/build.sh": "#!/bin/sh\necho build\n",
}
MODES = {
    "plan": ("build", "text", True),
    "planjson": ("build", "json", True),
    "outline": ("outline", "text", False),
    "outlinejson": ("outline", "json", False),
    "targets": ("targets", "text", False),
    "check": ("check", "text", False),
    "checkjson": ("check", "json", False),
    "error": ("build", "text", True),
}


def _write_context(root: Path, dockerfile: str, opts: dict[str, Any]) -> None:
    for rel, text in CONTEXT.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o755 if rel.endswith(".sh") else 0o644)
    for directory in {p for p in root.rglob("*") if p.is_dir()}:
        directory.chmod(0o755)
    (root / "Dockerfile").write_text(dockerfile)
    (root / "Dockerfile").chmod(0o644)
    if "dockerignore" in opts:
        (root / ".dockerignore").write_text("\n".join(opts["dockerignore"]) + "\n")
        (root / ".dockerignore").chmod(0o644)


def _run(name: str, root: Path) -> tuple[str, int]:
    text = (CORPUS / f"{name}.Dockerfile").read_text()
    opts = json.loads((CORPUS / f"{name}.opts.json").read_text())
    _write_context(root, text, opts)
    call, fmt, dry_run = MODES[opts["mode"]]
    request = BuildRequest(
        context=Path("."),
        dockerfile=Path("Dockerfile"),
        platforms=tuple(Platform.parse(p) for p in opts.get("platforms", ["linux/amd64"])),
        build_args=opts.get("build_args", {}),
        target=opts.get("target"),
        call=call,
        fmt=fmt,
        dry_run=dry_run,
        build_platform=Platform.parse("linux/amd64"),
    )
    resolver = StaticResolver(opts.get("images", {}))
    try:
        result = answer(request, resolver=resolver)
    except DockyardError as exc:
        return f"error: {exc.message}\n", -1
    return result.output, result.exit_code


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 60
    modes = {json.loads((CORPUS / f"{c}.opts.json").read_text())["mode"] for c in CASES}
    assert modes == set(MODES)


@pytest.mark.parametrize("name", CASES)
def test_case(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    output, code = _run(name, tmp_path)
    mode = json.loads((CORPUS / f"{name}.opts.json").read_text())["mode"]
    expected_path = CORPUS / f"{name}.expected"
    if os.environ.get("DOCKYARD_REGEN") == "1":
        expected_path.write_text(output)
    assert output == expected_path.read_text()
    if mode == "error":
        assert code == -1, "an error case must fail"
        assert output.count("\n") == 1
        assert output.startswith("error: Dockerfile")
    elif mode.startswith("check"):
        assert code == (1 if 'warnings": [\n' in output or "been found!" in output else 0)
    else:
        assert code == 0
