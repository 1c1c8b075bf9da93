"""Parser adapter: directives, comments, heredoc details, error locations; image config JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockyard.dockerfile.lint import CheckConfig, check
from dockyard.dockerfile.scope import HISTORY_COMMENT, base_config
from dockyard.dockerfile.stages import load
from dockyard.dockerfile.syntax import parse_text, parse_trigger
from dockyard.errors import DockerfileError
from dockyard.oci.config import DEFAULT_PATH, ContainerConfig, Healthcheck, History, ImageConfig
from dockyard.platform import Platform


def test_directives_only_at_the_top() -> None:
    parsed = parse_text("# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\nFROM a\n# escape=\\\n")
    assert dict(parsed.directives) == {"syntax": "docker/dockerfile:1", "check": "skip=all", "escape": "`"}
    assert parsed.escape == "`"
    late = parse_text("# a comment\n# escape=`\nFROM a\n")
    assert dict(late.directives) == {}


def test_bad_escape_directive() -> None:
    with pytest.raises(DockerfileError, match="escape"):
        parse_text("# escape=x\nFROM a\n")


def test_heredoc_quoting_and_chomp() -> None:
    parsed = parse_text("FROM a\nRUN <<-'EOT'\n\techo $X\n\tEOT\nCOPY <<A <<\"B\" /d/\na\nA\nb\nB\n")
    run, copy = parsed.commands[1], parsed.commands[2]
    (doc,) = run.heredocs
    assert (doc.name, doc.content, doc.expand, doc.chomp) == ("EOT", "echo $X\n", False, True)
    assert [(h.name, h.expand) for h in copy.heredocs] == [("A", True), ("B", False)]
    assert (run.line, run.end_line) == (2, 4)


def test_error_line_skips_a_valid_heredoc_before_it() -> None:
    text = "FROM a\nRUN <<EOF\nok\nEOF\nRUN x\nCOPY <<END /f\nnever closed\n"
    with pytest.raises(DockerfileError) as info:
        parse_text(text, filename="build/Dockerfile")
    assert str(info.value) == "build/Dockerfile:6: unterminated heredoc: COPY <<END /f"


def test_parse_error_line_for_bad_env() -> None:
    with pytest.raises(DockerfileError, match=r"^Dockerfile:3: .*can't find ="):
        parse_text("FROM a\nENV A=1\nENV B=2 C\n")


def test_casing_is_kept_for_lint() -> None:
    parsed = parse_text("from a AS b\nRun x\n")
    assert [(c.keyword, c.written) for c in parsed.commands] == [("FROM", "from"), ("RUN", "Run")]


def test_trigger_parsing_keeps_flags() -> None:
    cmd = parse_trigger("COPY --from=build /a /b", filename="Dockerfile", line=7)
    assert (cmd.keyword, cmd.flags, cmd.args, cmd.line) == ("COPY", ("--from=build",), ("/a", "/b"), 7)


def test_check_directive() -> None:
    assert CheckConfig.parse("skip=A,B;error=true") == CheckConfig(frozenset({"A", "B"}), True)
    df = load(parse_text("# check=skip=all\nFROM a\nMAINTAINER x\nCMD y\n"))
    assert check(df)[0] == []
    df = load(parse_text("# check=error=true\nFROM a\nCMD y\n"))
    findings, config = check(df)
    assert config.error
    assert [(f.line, f.rule) for f in findings] == [(3, "JSONArgsRecommended")]
    assert findings[0].url == "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/"


def test_consistent_casing_majority_lowercase() -> None:
    df = load(parse_text("from a\nrun x\nRUN y\n"))
    assert [(f.line, f.rule) for f in check(df)[0]] == [(3, "ConsistentInstructionCasing")]


SCHEMA_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "conformance" / "oci-image-spec"


def test_image_config_round_trip_and_schema() -> None:
    container = ContainerConfig(
        env=("PATH=/bin", "A=1"),
        cmd=("run",),
        entrypoint=("/init",),
        working_dir="/w",
        user="app",
        exposed_ports=("80/tcp",),
        volumes=("/data",),
        labels={"k": "v"},
        stop_signal="SIGINT",
        healthcheck=Healthcheck(test=("CMD", "true"), interval=10**9, retries=2),
        shell=("/bin/bash", "-c"),
        on_build=("RUN x",),
    )
    config = ImageConfig.for_platform(Platform.parse("linux/arm64"), config=container, author="me",
                                      history=(History(created_by="RUN x # buildkit", comment=HISTORY_COMMENT),))
    data = config.to_json()
    assert ImageConfig.from_json(data) == config
    assert base_config(ImageConfig.from_json(data), config.platform) == config
    if not SCHEMA_DIR.is_dir():
        if os.environ.get("DOCKYARD_NO_SHARED") == "1":
            return
        pytest.fail(f"OCI schemas missing at {SCHEMA_DIR}")
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    base = "https://opencontainers.org/schema/image/"
    registry: Registry[object] = Registry().with_resources(
        (base + path.name, Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT4))
        for path in SCHEMA_DIR.glob("*.json")
    )
    schema = json.loads((SCHEMA_DIR / "config-schema.json").read_text())
    validator = jsonschema.Draft4Validator(schema, registry=registry)
    validator.validate({**data, "rootfs": {"type": "layers", "diff_ids": []}})
    assert not validator.is_valid({**data, "rootfs": {"type": "layers", "diff_ids": []}, "os": 1})


def test_base_without_path_gets_the_default() -> None:
    base = ImageConfig.from_json({"architecture": "amd64", "os": "linux", "config": {"Env": ["A=1"]}})
    config = base_config(base, Platform.parse("linux/amd64"))
    assert config.config.env == ("A=1", f"PATH={DEFAULT_PATH}")
