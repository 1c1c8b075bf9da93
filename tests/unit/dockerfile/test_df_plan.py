"""plan(): argument scoping, platforms, stage pruning, ONBUILD, image config and history, context keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.dockerfile.plan import Plan, plan
from dockyard.dockerfile.resolver import StaticResolver
from dockyard.graph.ops import Copy, Exec, GitSource, HttpSource, ImageSource, Merge, Mkfile
from dockyard.graph.walk import topological
from dockyard.platform import Platform

AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")


def _plan(text: str, context: Path | None = None, **kwargs: object) -> Plan:
    kwargs.setdefault("build_platform", AMD64)
    kwargs.setdefault("platforms", [AMD64])
    return plan(text, context, **kwargs)  # type: ignore[arg-type]


def _execs(p: Plan, index: int = 0) -> list[Exec]:
    return [op for op in topological([p.platforms[index].state]) if isinstance(op, Exec)]


def test_run_env_has_image_env_then_args_not_shadowed() -> None:
    p = _plan("FROM alpine\nARG A=1\nARG B\nENV A=env C=3\nRUN true\n")
    (run,) = _execs(p)
    assert run.env == (
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "A=env",
        "C=3",
    )
    assert run.argv == ("/bin/sh", "-c", "true")


def test_build_args_override_defaults_and_unused_are_reported() -> None:
    p = _plan("ARG V=1\nFROM alpine:$V\nARG W=2\nRUN true\n", build_args={"V": "3.19", "W": "9", "X": "1"})
    first = p.platforms[0].steps[0].op
    assert isinstance(first, ImageSource)
    assert first.ref == "alpine:3.19"
    assert "W=9" in _execs(p)[0].env
    assert p.unused_build_args == ("X",)


def test_meta_arg_needs_redeclaration_inside_stage() -> None:
    p = _plan("ARG V=1\nFROM alpine\nWORKDIR /a${V}\nARG V\nWORKDIR /b${V}\n")
    assert p.platforms[0].config.config.working_dir == "/b1"
    assert [s.text for s in p.platforms[0].steps][1] == "WORKDIR /a"


def test_arg_scope_ends_with_the_stage() -> None:
    # an unrelated stage does not see the ARG; a child stage does (BuildKit dispatchState.init)
    p = _plan("FROM alpine AS one\nARG X=1\nFROM alpine\nWORKDIR /x$X\n")
    assert p.platforms[0].config.config.working_dir == "/x"
    p = _plan("FROM alpine AS one\nARG X=1\nFROM one\nWORKDIR /x$X\n")
    assert p.platforms[0].config.config.working_dir == "/x1"


def test_platform_args_per_target_platform() -> None:
    text = "FROM --platform=$BUILDPLATFORM alpine AS b\nARG TARGETARCH BUILDARCH\nRUN echo\n"
    p = _plan(text, platforms=[AMD64, ARM64])
    amd, arm = _execs(p, 0)[0], _execs(p, 1)[0]
    assert "TARGETARCH=amd64" in amd.env
    assert "TARGETARCH=arm64" in arm.env
    assert "BUILDARCH=amd64" in arm.env
    assert amd.platform == arm.platform == AMD64
    keys = p.cache_keys()
    assert keys.key(p.platforms[0].steps[0].op) == keys.key(p.platforms[1].steps[0].op)  # type: ignore[arg-type]
    assert keys.key(amd) != keys.key(arm)


def test_default_platform_is_the_build_platform() -> None:
    p = plan("FROM alpine\n", None, build_platform=ARM64)
    assert [pp.platform for pp in p.platforms] == [ARM64]


def test_only_needed_stages_are_planned() -> None:
    text = "FROM a AS x\nRUN x\nFROM b AS y\nRUN y\nFROM c AS z\nCOPY --from=x /o /o\n"
    p = _plan(text)
    assert p.platforms[0].stages == ("x", "z")
    refs = {op.ref for op in topological([p.platforms[0].state]) if isinstance(op, ImageSource)}
    assert refs == {"a", "c"}
    assert _plan(text, target="y").platforms[0].stages == ("y",)


def test_mount_from_stage_pulls_the_stage_in() -> None:
    p = _plan("FROM a AS tools\nRUN make\nFROM b\nRUN --mount=from=tools,target=/t,source=/bin ls\n")
    assert p.platforms[0].stages == ("tools", "stage-1")
    run = _execs(p)[-1]
    (mount,) = run.mounts
    assert (mount.type, mount.target, mount.selector, mount.readonly) == ("bind", "/t", "/bin", True)
    assert isinstance(mount.source, Exec)


def test_onbuild_triggers_run_after_from_and_are_not_inherited() -> None:
    resolver = StaticResolver({"base": {"config": {"OnBuild": ["RUN echo trig", "ENV T=1"], "Env": ["P=1"]}}})
    p = _plan("FROM base\nRUN echo mine\n", resolver=resolver)
    texts = [s.text for s in p.platforms[0].steps]
    assert texts == [
        "FROM base",
        "ONBUILD RUN /bin/sh -c echo trig",
        "ONBUILD ENV T=1",
        "RUN /bin/sh -c echo mine",
    ]
    config = p.platforms[0].config
    assert config.config.on_build == ()
    assert "T=1" in config.config.env
    assert resolver.calls == [("base", "linux/amd64")]


def test_history_created_by_matches_buildkit_style() -> None:
    text = (
        "FROM alpine\nARG V=1\nRUN echo hi\nCOPY src/ /app/\nENV A=b\nWORKDIR /app\n"
        'CMD ["run"]\nUSER app\nLABEL k=v\nEXPOSE 80\n'
    )
    history = [(h.created_by, h.empty_layer) for h in _plan(text).platforms[0].config.history]
    assert history == [
        ("ARG V=1", True),
        ("RUN |1 V=1 /bin/sh -c echo hi # buildkit", False),
        ("COPY src/ /app/ # buildkit", False),
        ("ENV A=b", True),
        ("WORKDIR /app", False),
        ('CMD ["run"]', True),
        ("USER app", True),
        ("LABEL k=v", True),
        ("EXPOSE [80/tcp]", True),
    ]


def test_copy_link_is_a_merge_over_an_independent_copy() -> None:
    p = _plan("FROM alpine\nRUN x\nCOPY --link a /a\n")
    state = p.platforms[0].state
    assert isinstance(state, Merge)
    base, layer = state.layers
    assert isinstance(base, Exec)
    assert isinstance(layer, Copy)
    assert layer.root is None


def test_heredoc_copy_makes_a_file() -> None:
    p = _plan("FROM alpine\nARG N=x\nCOPY <<EOF <<'RAW' /etc/\nhi $N\nEOF\nraw $N\nRAW\n")
    copies = [op for op in topological([p.platforms[0].state]) if isinstance(op, Mkfile)]
    assert [(m.path, m.data) for m in copies] == [("/EOF", "hi x\n"), ("/RAW", "raw $N\n")]


def test_secret_and_ssh_defaults() -> None:
    p = _plan("FROM a\nRUN --mount=type=secret,id=s --mount=type=ssh,required=true true\n")
    secret, ssh = _execs(p)[0].mounts
    assert (secret.type, secret.target, secret.secret_id, secret.mode) == (
        "secret",
        "/run/secrets/s",
        "s",
        0o400,
    )
    assert (ssh.ssh_id, ssh.required) == ("default", True)
    assert dict(p.secrets) == {"s": False}
    assert dict(p.ssh) == {"default": True}


def _context(root: Path) -> Path:
    for rel in ("app/main.py", "docs/guide.md", "docs/keep.md", "app/static/x.txt", "other.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    (root / ".dockerignore").write_text("docs\n!docs/keep.md\n**/static\n")
    return root


@pytest.mark.parametrize(
    ("changed", "key_changes"),
    [("docs/guide.md", False), ("app/static/x.txt", False), ("docs/keep.md", True), ("app/main.py", True)],
)
def test_copy_dot_respects_dockerignore(tmp_path: Path, changed: str, key_changes: bool) -> None:
    root = _context(tmp_path)
    before = _plan("FROM a\nCOPY . /ctx/\n", root)
    key = before.cache_keys().key(before.platforms[0].state)  # type: ignore[arg-type]
    (root / changed).write_text("changed")
    after = _plan("FROM a\nCOPY . /ctx/\n", root)
    assert (after.cache_keys().key(after.platforms[0].state) != key) is key_changes  # type: ignore[arg-type]


def test_unrelated_file_keeps_copy_key(tmp_path: Path) -> None:
    root = _context(tmp_path)
    text = "FROM a\nCOPY app/main.py /m\nRUN x\n"
    first = _plan(text, root)
    key = first.cache_keys().key(first.platforms[0].state)  # type: ignore[arg-type]
    (root / "other.txt").write_text("different")
    second = _plan(text, root)
    assert second.cache_keys().key(second.platforms[0].state) == key  # type: ignore[arg-type]


def test_path_source_reads_the_file(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    p = plan(tmp_path / "Dockerfile", tmp_path, build_platform=AMD64)
    assert p.dockerfile.filename == str(tmp_path / "Dockerfile")


def test_add_sources_by_kind() -> None:
    text = (
        "FROM a\nADD --keep-git-dir https://github.com/x/repo.git#v1:sub /src\n"
        f"ADD --checksum=sha256:{'0' * 64} https://x.org/f.tgz /f\nADD local.tgz /l/\n"
    )
    ops = topological([_plan(text).platforms[0].state])
    git = next(op for op in ops if isinstance(op, GitSource))
    http = next(op for op in ops if isinstance(op, HttpSource))
    assert (git.remote, git.ref, git.subdir, git.keep_git_dir) == (
        "https://github.com/x/repo.git",
        "v1",
        "sub",
        True,
    )
    assert (http.url, http.checksum, http.filename) == ("https://x.org/f.tgz", "sha256:" + "0" * 64, "f.tgz")
    copies = [op for op in ops if isinstance(op, Copy)]
    assert [(c.paths, c.dest, c.unpack) for c in copies] == [
        (("/",), "/src", False),
        (("f.tgz",), "/f", False),
        (("local.tgz",), "/l/", True),
    ]


def test_heredoc_script_with_shebang_runs_as_a_file() -> None:
    p = _plan("FROM python\nRUN <<EOF\n#!/usr/bin/env python3\nprint('hi')\nEOF\n")
    (run,) = _execs(p)
    assert run.argv == ("/dev/pipes/EOF",)
    (mount,) = run.mounts
    assert (mount.type, mount.target, mount.selector, mount.readonly) == ("bind", "/dev/pipes/EOF", "/EOF", True)
    assert isinstance(mount.source, Mkfile)
    assert (mount.source.data, mount.source.mode) == ("#!/usr/bin/env python3\nprint('hi')\n", 0o755)


def test_heredoc_without_shebang_goes_to_the_shell() -> None:
    (run,) = _execs(_plan("FROM a\nRUN <<EOF\necho $HOME\nEOF\n"))
    assert run.argv == ("/bin/sh", "-c", "echo $HOME\n")


def test_mount_flags_are_shown_expanded() -> None:
    p = _plan("FROM a\nARG DIR=/cache\nRUN --mount=type=cache,target=$DIR make\n")
    assert p.platforms[0].steps[-1].text == "RUN --mount=type=cache,target=/cache /bin/sh -c make"
    (run,) = _execs(p)
    assert run.mounts[0].target == run.mounts[0].cache_id == "/cache"
