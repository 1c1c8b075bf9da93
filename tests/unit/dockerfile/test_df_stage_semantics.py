"""Stage and ARG semantics pinned to BuildKit's frontend (moby/buildkit
frontend/dockerfile/dockerfile2llb/convert.go and platform.go; the function each case follows is
named in it). The real-build counterpart is tests/integration/build/test_stage_semantics.py."""

from __future__ import annotations

import pytest

from dockyard.dockerfile.plan import Plan, plan
from dockyard.errors import DockerfileError
from dockyard.graph.ops import Copy, Exec, ImageSource, Mkdir, Mkfile
from dockyard.graph.walk import topological
from dockyard.platform import Platform

AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")


def _plan(text: str, **kwargs: object) -> Plan:
    kwargs.setdefault("build_platform", AMD64)
    kwargs.setdefault("platforms", [AMD64])
    return plan(text, None, **kwargs)  # type: ignore[arg-type]


def _execs(p: Plan, index: int = 0) -> list[Exec]:
    return [op for op in topological([p.platforms[index].state]) if isinstance(op, Exec)]


def _history(p: Plan) -> list[str]:
    return [h.created_by or "" for h in p.platforms[0].config.history]


def test_child_stage_inherits_the_parents_arg_values() -> None:
    # dispatchState.init: d.state = d.base.state (its env holds ARG values) and buildArgs are appended
    text = ("FROM alpine AS tools\nARG TARGETPLATFORM\nFROM tools\n"
            "RUN --mount=type=cache,id=lint-$TARGETPLATFORM,target=/c echo \"$TARGETPLATFORM\"\n")
    p = _plan(text, platforms=[AMD64, ARM64])
    ids = [[m.cache_id for m in _execs(p, i)[0].mounts] for i in (0, 1)]
    assert ids == [["lint-linux/amd64"], ["lint-linux/arm64"]]
    assert "TARGETPLATFORM=linux/arm64" in _execs(p, 1)[0].env
    assert _history(p)[-1].startswith(
        "RUN --mount=type=cache,id=lint-linux/amd64,target=/c |1 TARGETPLATFORM=linux/amd64 ")


def test_arg_after_env_of_the_same_name_wins_in_run_but_not_in_the_config() -> None:
    # dispatchArg adds the value to the state env (llb EnvList.AddOrReplace); the config keeps ENV (addEnv)
    p = _plan("FROM alpine\nENV V=env\nARG V=arg\nRUN echo $V\nWORKDIR /w-$V\n")
    (run,) = _execs(p)
    assert "V=arg" in run.env and "V=env" not in run.env
    config = p.platforms[0].config
    assert "V=env" in config.config.env and config.config.working_dir == "/w-arg"
    assert _history(p)[-2] == "RUN |1 V=arg /bin/sh -c echo $V # buildkit"


def test_env_after_arg_wins_and_a_child_stage_sees_the_env_again() -> None:
    # resolveBaseImage/dispatchStages re-adds the image config's Env to the child's state env
    text = "FROM alpine AS a\nENV V=env\nARG V=arg\nFROM a\nRUN true\n"
    (run,) = _execs(_plan(text))
    assert "V=env" in run.env


def test_arg_without_value_keeps_an_earlier_value_and_shows_empty_in_history() -> None:
    p = _plan("FROM alpine\nARG X=1\nARG X\nARG Y\nRUN true\n")
    (run,) = _execs(p)
    assert "X=1" in run.env and not any(e.startswith("Y=") for e in run.env)
    assert _history(p)[-1] == "RUN |2 X=1 Y= /bin/sh -c true # buildkit"  # runCommandString


def test_from_resolves_the_most_recent_stage_of_that_name_before_it() -> None:
    # dispatchStates.addState looks up statesByName while stages are added, in file order
    text = ("FROM alpine AS base\nRUN echo one\nFROM base AS mid\nRUN echo mid\n"
            "FROM busybox AS base\nRUN echo two\nFROM mid\n")
    runs = [" ".join(e.argv) for e in _execs(_plan(text))]
    assert runs == ["/bin/sh -c echo one", "/bin/sh -c echo mid"]


def test_copy_from_a_duplicate_name_uses_its_last_definition() -> None:
    # toCommand runs after every stage is added: findStateByName sees the final table
    text = ("FROM alpine AS base\nRUN echo one\nFROM busybox AS base\nRUN echo two\n"
            "FROM scratch\nCOPY --from=BASE /x /x\n")
    p = _plan(text)
    copy = next(op for op in topological([p.platforms[0].state]) if isinstance(op, Copy))
    assert isinstance(copy.source, Exec) and copy.source.argv[-1] == "echo two"


def test_a_later_stage_name_does_not_capture_an_earlier_from() -> None:
    p = _plan("FROM busybox AS base\nRUN echo\nFROM base AS busybox\n")
    first = p.platforms[0].steps[0].op
    assert isinstance(first, ImageSource) and first.ref == "busybox"


def test_stage_references_in_from_are_case_sensitive() -> None:
    with pytest.raises(DockerfileError) as info:
        _plan("FROM alpine AS builder\nFROM Builder\n")
    assert "invalid image reference 'Builder'" in info.value.message and info.value.line == 2


@pytest.mark.parametrize(("line", "message"), [
    ("COPY --from=later /x /x", "cannot copy from stage 'later', it needs to be defined before current stage 'first'"),
    ("COPY --from=1 /x /x", "cannot copy from stage '1', it needs to be defined before current stage 'first'"),
    ("RUN --mount=from=later,target=/m true", "cannot mount from stage 'later' to '/m', stage needs to be "
                                             "defined before current command"),
])
def test_copy_or_mount_from_a_later_stage_is_an_error(line: str, message: str) -> None:
    with pytest.raises(DockerfileError) as info:
        _plan(f"FROM alpine AS first\n{line}\nFROM alpine AS later\nFROM first\n")
    assert info.value.message.endswith(": " + message) and info.value.line == 2


@pytest.mark.parametrize(("target", "stage"), [(None, "final"), ("first", "first")])
def test_automatic_targetstage_and_os_version_args(target: str | None, stage: str) -> None:
    # platform.go defaultArgs: TARGETSTAGE is --target, else the last stage's name, else "default"
    text = "FROM alpine AS first\nARG TARGETSTAGE TARGETOSVERSION BUILDOSVERSION\nRUN true\nFROM first AS final\n"
    (run,) = _execs(_plan(text, target=target))
    assert run.env[-3:] == (f"TARGETSTAGE={stage}", "TARGETOSVERSION=", "BUILDOSVERSION=")
    (unnamed,) = _execs(_plan("FROM alpine\nARG TARGETSTAGE\nRUN true\n"))
    assert "TARGETSTAGE=default" in unnamed.env


def test_workdir_root_adds_no_file_operation_and_an_empty_layer_row() -> None:
    # dispatchWorkdir: no llb.Mkdir when wd == "/", commitToHistory(withLayer=false)
    p = _plan("FROM alpine\nWORKDIR /\nWORKDIR /app\n")
    mkdirs = [op.path for op in topological([p.platforms[0].state]) if isinstance(op, Mkdir)]
    assert mkdirs == ["/app"]
    rows = [(h.created_by, h.empty_layer) for h in p.platforms[0].config.history]
    assert rows == [("WORKDIR /", True), ("WORKDIR /app", False)]


def test_unquoted_copy_heredoc_expands_but_keeps_quotes() -> None:
    # dispatch(): SupportsSingleWordExpansionRaw -> NewLex('\\') with SkipProcessQuotes
    text = ("FROM alpine\nARG V=val\nCOPY <<EOF /etc/cmd\nnginx -g 'daemon off;' \"$V\" \\$HOME a\\\\b\nEOF\n"
            "COPY <<'RAW' /etc/raw\n'$V'\nRAW\n")
    files = {op.path: op.data for op in topological([_plan(text).platforms[0].state]) if isinstance(op, Mkfile)}
    assert files == {"/EOF": "nginx -g 'daemon off;' \"val\" $HOME a\\b\n", "/RAW": "'$V'\n"}


def test_onbuild_of_a_base_stage_does_not_run_in_its_child() -> None:
    p = _plan("FROM alpine AS a\nONBUILD RUN echo trigger\nFROM a\nRUN echo own\n")
    assert [e.argv[-1] for e in _execs(p)] == ["echo own"]
    assert p.platforms[0].config.config.on_build == ()


def test_a_self_doubling_arg_chain_is_refused_with_a_clear_error() -> None:
    text = "FROM alpine\nARG a=aaaaaaaaaaaaaaaa\n" + "ARG a=${a}${a}\n" * 40
    with pytest.raises(DockerfileError) as info:
        _plan(text)
    assert "more than the 1048576 a word may have" in info.value.message
    assert info.value.line is not None and info.value.line > 2


@pytest.mark.parametrize(("line", "message"), [
    # dockerfile2llb/convert_expose.go parsePort / parsePortNumber / splitProtoPort
    ("EXPOSE 99999999", "invalid containerPort: 99999999"),
    ("EXPOSE abc/tcp", "invalid containerPort: abc"),
    ("EXPOSE 80/xyz", 'invalid port: "80/xyz": invalid proto: xyz'),
    ("EXPOSE 90-80", "invalid containerPort: 90-80"),
    # dispatchStopSignal -> moby/sys/signal ParseSignal
    ("STOPSIGNAL SIGBANANA", "invalid signal: SIGBANANA"),
    ("STOPSIGNAL 0", "invalid signal: 0"),
    # convert_copy.go dispatchCopy, then digest.Parse for HTTP sources
    ("ADD --checksum=sha256:abc Dockerfile /x", "checksum requires HTTP(S) or Git sources"),
    ("ADD --checksum=sha256:abc https://e.x/a https://e.x/b /x/", "checksum can't be specified for multiple sources"),
    ("ADD --checksum=sha256:abc https://e.x/f /f", "invalid checksum digest length"),
    ("ADD --checksum=md5:abc https://e.x/f /f", "unsupported digest algorithm"),
    ("ADD --checksum=nonsense https://e.x/f /f", "invalid checksum digest format"),
])
def test_config_values_are_validated_as_buildkit_does(line: str, message: str) -> None:
    with pytest.raises(DockerfileError) as info:
        _plan(f"FROM alpine\n{line}\n")
    assert message in info.value.message and info.value.line == 2


def test_valid_expose_and_stopsignal_forms() -> None:
    p = _plan("FROM alpine\nARG P=8080\nEXPOSE 80 53/UDP 127.0.0.1:90:9000/tcp $P 7000-7002/sctp\n"
              "STOPSIGNAL sigrtmin+3\nSTOPSIGNAL 9\nSTOPSIGNAL SIGTERM\n")
    config = p.platforms[0].config
    assert set(config.config.exposed_ports) == {"80/tcp", "53/udp", "9000/tcp", "8080/tcp", "7000/sctp", "7001/sctp",
                                         "7002/sctp"}
    assert config.config.stop_signal == "SIGTERM"
    assert "EXPOSE [80/tcp 53/udp 9000/tcp 8080/tcp 7000/sctp 7001/sctp 7002/sctp]" in _history(p)
