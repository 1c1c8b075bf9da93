"""Typed instructions: every instruction and flag decodes to the right values; bad ones fail with the line."""

from __future__ import annotations

import pytest

from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.decode import decode
from dockyard.dockerfile.runmount import MountError, parse_mount
from dockyard.dockerfile.syntax import parse_text
from dockyard.errors import DockerfileError
from dockyard.oci.config import Healthcheck as HealthConfig


def _one(text: str) -> ins.Instruction:
    parsed = parse_text("FROM scratch\n" + text)
    return decode(parsed.commands[-1], filename="Dockerfile", comments=parsed.comments)


def test_from_with_platform_and_name() -> None:
    parsed = parse_text("FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\n")
    item = decode(parsed.commands[0], filename="Dockerfile", comments={})
    assert item == ins.From(
        line=1,
        end_line=1,
        original="FROM --platform=$BUILDPLATFORM golang:1.22 AS Build",
        image="golang:1.22",
        name="build",
        platform="$BUILDPLATFORM",
    )


def test_run_flags() -> None:
    item = _one(
        "RUN --mount=type=cache,target=/c --mount=type=tmpfs,target=/t --network=none --security=insecure make\n"
    )
    assert isinstance(item, ins.Run)
    assert item.mounts == ("type=cache,target=/c", "type=tmpfs,target=/t")
    assert (item.network, item.security, item.args, item.json) == ("none", "insecure", ("make",), False)


def test_copy_flags() -> None:
    item = _one("COPY --from=build --chown=1:2 --chmod=u+x --link --parents --exclude=a --exclude=b s1 s2 /d/\n")
    assert isinstance(item, ins.Copy)
    assert (item.from_, item.chown, item.chmod, item.link, item.parents) == (
        "build",
        "1:2",
        "u+x",
        True,
        True,
    )
    assert item.excludes == ("a", "b")
    assert (item.sources, item.dest) == (("s1", "s2"), "/d/")


def test_add_flags() -> None:
    item = _one("ADD --checksum=sha256:ab --keep-git-dir --unpack=false --link=false --chmod=644 u /d\n")
    assert isinstance(item, ins.Add)
    assert (item.checksum, item.keep_git_dir, item.unpack, item.link, item.chmod) == (
        "sha256:ab",
        True,
        False,
        False,
        "644",
    )


def test_healthcheck_flags_in_nanoseconds() -> None:
    item = _one(
        "HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=1.5s --start-interval=2s --retries=4 CMD x\n"
    )
    assert isinstance(item, ins.Healthcheck)
    check = item.check
    assert check.test == ("CMD-SHELL", "x")
    assert (check.interval, check.timeout, check.start_period, check.start_interval, check.retries) == (
        90_000_000_000,
        500_000_000,
        1_500_000_000,
        2_000_000_000,
        4,
    )


@pytest.mark.parametrize(
    ("text", "kind", "fields"),
    [
        ('CMD ["a", "b"]', ins.Cmd, {"args": ("a", "b"), "json": True}),
        ("ENTRYPOINT run it", ins.Entrypoint, {"args": ("run it",), "json": False}),
        ("LABEL a=b c=d", ins.Label, {"pairs": (("a", "b"), ("c", "d")), "legacy": False}),
        ("ENV A 1 2", ins.Env, {"pairs": (("A", "1 2"),), "legacy": True}),
        ("MAINTAINER me", ins.Maintainer, {"name": "me"}),
        ("EXPOSE 80 53/udp", ins.Expose, {"ports": ("80", "53/udp")}),
        ('VOLUME ["/a", "/b"]', ins.Volume, {"paths": ("/a", "/b")}),
        ("USER app:app", ins.User, {"user": "app:app"}),
        ("WORKDIR /w", ins.Workdir, {"path": "/w"}),
        ("STOPSIGNAL 9", ins.StopSignal, {"signal": "9"}),
        ('SHELL ["pwsh", "-c"]', ins.Shell, {"argv": ("pwsh", "-c")}),
        ("ONBUILD COPY --from=x a b", ins.Onbuild, {"trigger": "COPY --from=x a b"}),
        ("HEALTHCHECK NONE", ins.Healthcheck, {"check": HealthConfig(test=("NONE",))}),
    ],
)
def test_simple_instructions(text: str, kind: type[ins.Instruction], fields: dict[str, object]) -> None:
    item = _one(text + "\n")
    assert isinstance(item, kind)
    for name, value in fields.items():
        assert getattr(item, name) == value


def test_arg_descriptions_come_from_the_comment_block_above() -> None:
    parsed = parse_text("# unrelated\n# A the a value\n# B the b value\nARG A=1 B\n")
    item = decode(parsed.commands[0], filename="Dockerfile", comments=parsed.comments)
    assert isinstance(item, ins.Arg)
    assert item.args == (
        ins.ArgDef(name="A", default="1", description="the a value"),
        ins.ArgDef(name="B", default=None, description="the b value"),
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("FROM a b", "one or three arguments"),
        ("RUN --mount=type=secret echo", "one of source, target required"),
        ("RUN --mount=type=cache,target=/x,sharing=sharred echo", "did you mean shared?"),
        ("RUN --mount=type=tmpfs,target=/x,size=lots echo", "invalid value for size"),
        ("RUN --security=sandboxed x", "did you mean sandbox?"),
        ("COPY --link --link a b", "duplicate flag"),
        ("COPY --from a b", "missing a value"),
        ("EXPOSE", "EXPOSE"),
        ("STOPSIGNAL", "exactly one argument"),
        ("HEALTHCHECK --retries=x CMD y", "not an integer"),
        ("HEALTHCHECK NONE x", "takes no arguments"),
        ("HEALTHCHECK --timeout=1ns CMD y", "1ms"),
        ("LABEL", "LABEL"),
        ("WORKDIR", "WORKDIR"),
        ("WRKDIR /x", "did you mean WORKDIR?"),
    ],
)
def test_errors_carry_file_and_line(text: str, fragment: str) -> None:
    with pytest.raises(DockerfileError, match=r"^Dockerfile:2: ") as info:
        _one(text + "\n")
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("target=/x", {"type": "bind", "readonly": True, "target": "/x"}),
        ("type=cache,target=/x", {"type": "cache", "readonly": False}),
        ("type=bind,target=/x,rw", {"readonly": False}),
        ("type=bind,target=/x,readwrite=true", {"readonly": False}),
        ("type=cache,target=/x,ro", {"readonly": True}),
        (
            "type=cache,dst=/x,mode=0700,uid=5,gid=6,id=c,sharing=private",
            {"mode": 0o700, "uid": 5, "gid": 6, "id": "c", "sharing": "private", "target": "/x"},
        ),
        ("type=tmpfs,destination=/t,size=1g", {"size": 1 << 30}),
        ("type=secret,id=s,env=S,required", {"id": "s", "env": "S", "required": True}),
        ("type=ssh,id=gh,required=false", {"id": "gh", "required": False}),
        ('type=bind,"target=/a b",from=x', {"target": "/a b", "from_": "x"}),
    ],
)
def test_parse_mount(spec: str, expected: dict[str, object]) -> None:
    mount = parse_mount(spec, expand=lambda word: word)
    for name, value in expected.items():
        assert getattr(mount, name) == value


def test_parse_mount_expands_values() -> None:
    mount = parse_mount("type=cache,target=$T,id=${ID}", expand=lambda w: w.replace("$T", "/t").replace("${ID}", "i"))
    assert (mount.target, mount.id) == ("/t", "i")


@pytest.mark.parametrize("spec", ["type=bind,target=/x,size=1", "type=cache,target=/x,required", "bogus"])
def test_parse_mount_rejects(spec: str) -> None:
    with pytest.raises(MountError):
        parse_mount(spec, expand=lambda word: word)
