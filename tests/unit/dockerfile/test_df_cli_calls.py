"""``dockyard build --call=... / --check / --dry-run`` through click, output formats and exit codes.

Base images are named on 127.0.0.1:9, where nothing listens: --call=check reads base configs, and
tests send traffic only to loopback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockyard.cli.main import cli

DOCKERFILE = """\
# VERSION which release
ARG VERSION=1.0
# build the compiler stage
FROM 127.0.0.1:9/alpine:3.19 AS build
ARG VERSION
RUN --mount=type=secret,id=token,required=true make VERSION=$VERSION
FROM scratch AS final
COPY --from=build /out /out
CMD /out
"""


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "other.Dockerfile").write_text('FROM 127.0.0.1:9/alpine\nCMD ["x"]\n')
    return tmp_path


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["build", *args], standalone_mode=False)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return (result.return_value if isinstance(result.return_value, int) else 0), result.output


def test_outline_json(context: Path) -> None:
    # frontend/subrequests/outline: Outline/Arg/Secret JSON (omitempty), processed values, locations
    code, out = _invoke("--call=outline,format=json", "--build-arg", "VERSION=2.0", str(context))
    assert code == 0
    data = json.loads(out)
    assert data["name"] == "final"
    assert data["args"] == [{"name": "VERSION", "description": "which release", "value": "2.0",
                             "location": {"ranges": [{"start": {"line": 2}, "end": {"line": 2}}]}}]
    assert data["secrets"] == [{"name": "token", "required": True}]


def test_targets_json(context: Path) -> None:
    _, out = _invoke("--call=targets", "--format=json", str(context))
    data = json.loads(out)
    # frontend/subrequests/targets Target: name, default, description, base, platform, location (omitempty)
    assert [(t["name"], t.get("description"), t.get("default"), t["base"]) for t in data["targets"]] == [
        ("build", "the compiler stage", None, "127.0.0.1:9/alpine:3.19"),
        ("final", None, True, "scratch"),
    ]


def test_check_exit_codes(context: Path) -> None:
    code, out = _invoke("--check", str(context))
    assert code == 1
    assert out.startswith("Check complete, 1 warning has been found!\n\nWARNING: JSONArgsRecommended - "
                          "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\n")
    assert f"{context}/Dockerfile:9\n" in out and "   9 | >>> CMD /out\n" in out
    code, out = _invoke("--call=check,format=json", str(context))
    assert code == 1 and json.loads(out)["warnings"][0]["ruleName"] == "JSONArgsRecommended"
    code, out = _invoke("--call=check", "-f", str(context / "other.Dockerfile"), str(context))
    assert (code, out) == (0, "Check complete, no warnings found.\n")


def test_dry_run_json_lists_platforms_and_keys(context: Path) -> None:
    code, out = _invoke("--dry-run", "--format", "json", "--platform", "linux/amd64,linux/arm64", str(context))
    assert code == 0
    data = json.loads(out)
    assert [p["platform"] for p in data["platforms"]] == ["linux/amd64", "linux/arm64"]
    for plat in data["platforms"]:
        run = next(s for s in plat["steps"] if s["step"].startswith("RUN"))
        assert run["key"].startswith("sha256:")
        assert run["op"]["type"] == "Exec"
        assert run["op"]["env"][-1] == "VERSION=1.0"
        assert run["op"]["mounts"][0]["secret_id"] == "token"
    amd, arm = data["platforms"]
    assert amd["result"] != arm["result"]


def test_build_arg_from_environment(context: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERSION", "2.5")
    _, out = _invoke("--dry-run", "--format=json", "--build-arg", "VERSION", str(context))
    run = next(s for s in json.loads(out)["platforms"][0]["steps"] if s["step"].startswith("RUN"))
    assert "VERSION=2.5" in run["op"]["env"]


def test_usage_errors(context: Path) -> None:
    from dockyard.errors import UsageError

    with pytest.raises(UsageError, match="unknown --call"):
        _invoke("--call=nope", str(context))
    with pytest.raises(UsageError, match="not a directory"):
        _invoke("--dry-run", str(context / "missing"))
    with pytest.raises(UsageError, match="unknown key"):
        _invoke("--secret", "id=x,path=/y", "--dry-run", str(context))


@pytest.mark.parametrize(("name", "flagged"), [
    ("DB_PASSWORD", True), ("API_KEY_FILE", False), ("TOKEN_VERSION", False), ("PUBLIC_KEY", False),
    ("auth", True), ("MONKEY", False),
])
def test_secrets_rule_exemptions_follow_buildkit(tmp_path: Path, name: str, flagged: bool) -> None:
    # dockerfile2llb/validations.go getSecretsRegex: deny tokens, allow public|file|version
    (tmp_path / "Dockerfile").write_text(f'FROM 127.0.0.1:9/alpine\nARG {name}\nCMD ["x"]\n')
    code, out = _invoke("--call=check", str(tmp_path))
    assert ("SecretsUsedInArgOrEnv" in out) is flagged and code == (1 if flagged else 0)


@pytest.mark.parametrize(("dockerfile", "rules"), [
    # instructions/parse.go doesFromCaseMatchAsCase: mixed-case FROM is left to ConsistentInstructionCasing
    ('FROM 127.0.0.1:9/alpine As a\nCMD ["x"]\n', {"FromAsCasing"}),
    ('From 127.0.0.1:9/alpine as a\nCMD ["x"]\n', {"ConsistentInstructionCasing"}),
    # dispatchCmd: no JSONArgsRecommended once SHELL set the config's Shell
    ('FROM 127.0.0.1:9/alpine\nSHELL ["/bin/bash", "-c"]\nCMD echo hi\n', set()),
    # dispatchWorkdir: only the first WORKDIR of a chain of stages is checked (workdirSet inherited)
    ('FROM 127.0.0.1:9/alpine AS a\nWORKDIR /w\nFROM a\nWORKDIR rel\nCMD ["x"]\n', set()),
    ('FROM 127.0.0.1:9/alpine\nWORKDIR rel\nWORKDIR more\nCMD ["x"]\n', {"WorkdirRelativePath"}),
    # EXPOSE words are not checked for undefined variables
    ('FROM 127.0.0.1:9/alpine\nEXPOSE $PORT\nCMD ["x"]\n', set()),
])
def test_check_rules_follow_buildkit_specifics(tmp_path: Path, dockerfile: str, rules: set[str]) -> None:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    code, out = _invoke("--call=check,format=json", str(tmp_path))
    found = [w["ruleName"] for w in json.loads(out)["warnings"]]
    assert set(found) == rules and len(found) == len(rules) and code == (1 if rules else 0)


@pytest.mark.parametrize(("comments", "description"), [
    ("# build compiles it\n", "compiles it"),
    ("# Build compiles it\n", None),  # getComment compares the (lowercased) stage name case-sensitively
    ("# build compiles it\n#\n", None),  # an empty comment line drops the comments before it (parser.go)
])
def test_stage_descriptions_as_buildkit_reads_them(tmp_path: Path, comments: str, description: str | None) -> None:
    (tmp_path / "Dockerfile").write_text(f"{comments}FROM 127.0.0.1:9/alpine AS build\n")
    _, out = _invoke("--call=targets,format=json", str(tmp_path))
    assert json.loads(out)["targets"][0].get("description") == description


def test_no_empty_continuation_once_per_instruction_at_its_last_line(tmp_path: Path) -> None:
    # parser/parser.go Parse: hasEmptyContinuationLine, Location = the instruction's last line
    (tmp_path / "Dockerfile").write_text('FROM 127.0.0.1:9/alpine\nRUN echo a \\\n\n  b \\\n\n  c\nCMD ["x"]\n')
    _, out = _invoke("--call=check,format=json", str(tmp_path))
    found = [(w["ruleName"], w["location"]["ranges"][0]["start"]["line"]) for w in json.loads(out)["warnings"]]
    assert found == [("NoEmptyContinuation", 6)]


@pytest.mark.parametrize(("ignore", "flagged"), [
    ("secret.txt\n", ["secret.txt"]),  # validations.go validateCopySourcePath
    ("secret.txt\n!keep\n", []),  # not checked when the .dockerignore has exclusions
    ("*\n", [".", "secret.txt"]),  # the context root only when * / ** / **/* ignore everything
])
def test_copy_ignored_file(tmp_path: Path, ignore: str, flagged: list[str]) -> None:
    (tmp_path / ".dockerignore").write_text(ignore)
    (tmp_path / "Dockerfile").write_text('FROM scratch\nCOPY ./secret.txt /s\nCOPY . /all\nCMD ["x"]\n')
    _, out = _invoke("--call=check,format=json", str(tmp_path))
    details = [w["detail"] for w in json.loads(out)["warnings"] if w["ruleName"] == "CopyIgnoredFile"]
    assert details == [f'Attempting to Copy file "{f}" that is excluded by .dockerignore' for f in
                       sorted(flagged, key=lambda f: f == ".")]


def test_check_reports_a_conversion_error_and_fails(tmp_path: Path) -> None:
    # lint.go LintResults.Error ("buildError"): the check converts the whole file, as BuildKit's does
    (tmp_path / "Dockerfile").write_text('FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\nCMD ["x"]\n')
    code, out = _invoke("--call=check,format=json", str(tmp_path))
    error = json.loads(out)["buildError"]
    assert code == 1 and error["message"].startswith("cannot copy from stage 'b'")
    assert error["location"]["ranges"][0]["start"]["line"] == 2
    code, text = _invoke("--call=check", str(tmp_path))
    assert code == 1 and "ERROR: cannot copy from stage 'b'" in text and "   2 | >>> COPY --from=b /x /x" in text


def test_undefined_var_in_unquoted_copy_heredocs_only(tmp_path: Path) -> None:
    # dispatch(): ExpandRaw reports unmatched variables of unquoted COPY heredoc bodies; quoted ones stay raw
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY <<EOF /a\necho '$NOPE1'\nEOF\n"
                                         "COPY <<'EOF' /b\necho $NOPE2\nEOF\nCMD [\"x\"]\n")
    _, out = _invoke("--call=check,format=json", str(tmp_path))
    assert [w["detail"] for w in json.loads(out)["warnings"]] == ["Usage of undefined variable '$NOPE1'"]


def test_outline_lists_args_a_used_default_refers_to(tmp_path: Path) -> None:
    # outline.go markAllUsed over buildMetaArgs' deps (the names matched when the default was expanded)
    (tmp_path / "Dockerfile").write_text("ARG MINOR=2\nARG VERSION=1.${MINOR}\nARG LATER=${NOTYET}\nARG NOTYET=x\n"
                                         "ARG UNUSED=0\nFROM scratch\nARG VERSION\nARG LATER\n")
    _, out = _invoke("--call=outline,format=json", str(tmp_path))
    assert [(a["name"], a.get("value")) for a in json.loads(out)["args"]] == [
        ("MINOR", "2"), ("VERSION", "1.2"), ("LATER", None)]
    _, text = _invoke("--call=outline", str(tmp_path))
    assert text.splitlines()[:4] == ["BUILD ARG   VALUE   DESCRIPTION", "MINOR       2       ",
                                     "VERSION     1.2     ", "LATER               "]


def test_dry_run_reuses_the_context_digests_a_build_took(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dry run stats the context instead of reading it again when a build left its stat cache
    (graph.contenthash.StatCache, by path, size, times and inode): an entry planted in that cache
    shows in the COPY's key. Without a store, the dry run reads the files and creates no store."""
    from dockyard.graph.contenthash import TICK_NS, StatCache

    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    (context / "a").write_text("a\n")
    time.sleep(TICK_NS / 1e9 + 0.02)  # older than a clock tick, so a build keeps its digest (StatCache._note_racy)
    root = tmp_path / "root"
    monkeypatch.setenv("DOCKYARD_ROOT", str(root))
    args = ("--dry-run", "--format", "json", "--platform", "linux/amd64", str(context))

    def copy_key() -> str:
        code, out = _invoke(*args)
        assert code == 0
        steps = json.loads(out)["platforms"][0]["steps"]
        return str(next(s["key"] for s in steps if s["step"].startswith("COPY")))

    fresh = copy_key()
    assert not root.exists()  # a dry run only reads the store
    planted = StatCache()
    planted.digest("a", str(context / "a").encode(), (context / "a").stat())  # what a build records...
    (key,) = planted._digests  # ...with another digest under the same stat key
    planted._digests[key] = "0" * 64
    planted.save(StatCache.path_for(root, context))
    assert copy_key() != fresh
