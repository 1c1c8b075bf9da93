"""``--call=check`` rule by rule against BuildKit's linter (moby/buildkit frontend/dockerfile).

Each case names the BuildKit function that emits the rule; messages are linter/ruleset.go's
``Format`` functions, lines are where BuildKit puts the warning. Our own cases throughout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockyard.cli.main import cli
from dockyard.dockerfile.calls import lint, render_lint
from dockyard.dockerfile.flags import closest
from dockyard.dockerfile.lint import RULE_DESCRIPTIONS, RULES, Finding, check
from dockyard.dockerfile.stages import load
from dockyard.dockerfile.syntax import parse_text
from dockyard.errors import DockerfileError
from dockyard.oci.config import ImageConfig
from dockyard.platform import Platform


def _found(text: str) -> list[tuple[int, str, str]]:
    return [(f.line, f.rule, f.message) for f in check(load(parse_text(text)))[0]]


def _rules(text: str) -> list[tuple[int, str]]:
    return [(line, rule) for line, rule, _ in _found(text)]


def test_every_buildkit_rule_is_present() -> None:
    # linter/ruleset.go: 22 rules; CopyIgnoredFile and InvalidBaseImagePlatform need the context / the
    # base configs (check's options)
    assert len(RULE_DESCRIPTIONS) == 22
    assert set(RULE_DESCRIPTIONS) - set(RULES) == {"CopyIgnoredFile", "InvalidBaseImagePlatform"}
    assert Finding(1, "InvalidBaseImagePlatform", "").url == ""  # the one rule without a URL
    assert Finding(1, "ExposeProtoCasing", "").url == "https://docs.docker.com/go/dockerfile/rule/expose-proto-casing/"


@pytest.mark.parametrize(("word", "options", "hint"), [
    ("TARGETARC", ["TARGETARCH", "TARGETOS"], "TARGETARCH"),
    ("VERSON", ["VERSION", "VERSIONS"], "VERSION"),  # the closest wins, not the first close one
    ("VERSION", ["VERSIO", "VERSION"], ""),  # an exact option means no hint at all
    ("version", ["VERSION"], ""),  # case-sensitive (UndefinedArgInFrom passes true; Linux UndefinedVar too)
    ("ABCDEF", ["ABCXYZ"], ""),  # 3 edits are too many (mindist 3, as hcl)
])
def test_closest_is_buildkit_suggest_search(word: str, options: list[str], hint: str) -> None:
    # util/suggest/error.go Search: levenshtein distance below 3
    assert closest(word, options) == hint


class TestConsistentInstructionCasing:
    # validations.go validateCommandCasing / validateCaseMatch

    def test_global_args_are_neither_counted_nor_flagged(self) -> None:
        # the ARGs before the first FROM are not in stages[].Commands
        assert _found("arg A=1\narg B=2\nFROM scratch\nCOPY a /\n") == []
        assert _rules("ARG A=1\nfrom scratch\ncopy a /\nCOPY b /\n") == [(4, "ConsistentInstructionCasing")]

    def test_tie_is_an_uppercase_majority_and_mixed_case_is_flagged(self) -> None:
        assert _found("from scratch\nCOPY a /\nWorkDir /x\n") == [
            (1, "ConsistentInstructionCasing", "Command 'from' should match the case of the command majority "
                                               "(uppercase)"),
            (3, "ConsistentInstructionCasing", "Command 'WorkDir' should match the case of the command majority "
                                               "(uppercase)"),
        ]

    def test_cannot_be_skipped_by_a_comment_above(self) -> None:
        # validateCommandCasing runs with the file's linter, not one merged with the command's comments
        assert _rules("FROM scratch\n# check=skip=ConsistentInstructionCasing\ncopy a /\nCOPY b /\n") == [
            (3, "ConsistentInstructionCasing")]


class TestMultipleInstructionsDisallowed:
    # validations.go validateUsedOnce: reported at the previous one, named as the later one is written

    def test_each_overridden_instruction_is_reported_at_its_own_line(self) -> None:
        text = 'FROM scratch\nCMD ["a"]\nENTRYPOINT ["e"]\ncmd ["b"]\nCMD ["c"]\nHEALTHCHECK NONE\n'
        found = [(line, message) for line, rule, message in _found(text) if rule == "MultipleInstructionsDisallowed"]
        assert found == [
            (2, "Multiple cmd instructions should not be used in the same stage because only the last one will "
                "be used"),
            (4, "Multiple CMD instructions should not be used in the same stage because only the last one will "
                "be used"),
        ]

    def test_a_child_stage_starts_afresh(self) -> None:
        # dispatchState.cmd is not copied from the base stage (only workdirSet is)
        assert _found('FROM scratch AS a\nCMD ["a"]\nFROM a\nCMD ["b"]\n') == []

    def test_the_later_instructions_comment_skips_it(self) -> None:
        # dispatch() merges the comments of the instruction being dispatched (the later one)
        assert _found('FROM scratch\nCMD ["a"]\n# check=skip=MultipleInstructionsDisallowed\nCMD ["b"]\n') == []
        assert _rules('FROM scratch\n# check=skip=MultipleInstructionsDisallowed\nCMD ["a"]\nCMD ["b"]\n') == [
            (3, "MultipleInstructionsDisallowed")]


class TestLegacyKeyValueFormat:
    # convert.go dispatchEnv / dispatchLabel: KeyValuePair.NoDelim, named by Command.Name()

    def test_message_names_the_instruction_as_written(self) -> None:
        assert _found("from scratch\nenv A 1\nlabel b 2\nenv C=3 D=4\n") == [
            (2, "LegacyKeyValueFormat", '"env key=value" should be used instead of legacy "env key value" format'),
            (3, "LegacyKeyValueFormat", '"label key=value" should be used instead of legacy "label key value" '
                                        'format'),
        ]

    def test_skipped_by_a_comment_above_even_across_a_blank_line(self) -> None:
        # parser.go Parse keeps the gathered comments over blank lines; an empty "#" drops them
        assert _found("FROM scratch\n# check=skip=LegacyKeyValueFormat\n\nENV A 1\n") == []
        assert _rules("FROM scratch\n# check=skip=LegacyKeyValueFormat\n#\nENV A 1\n") == [
            (4, "LegacyKeyValueFormat")]
        # the text after a space is a remark; the first check comment counts; a bad one is ignored
        assert _found("FROM scratch\n# check=skip=all // fine here\nENV A 1\n") == []
        assert _rules("FROM scratch\n# check=skip=MaintainerDeprecated\n# check=skip=all\nENV A 1\n") == [
            (4, "LegacyKeyValueFormat")]
        assert _rules("FROM scratch\n# check=bogus=1;skip=all\nENV A 1\n") == [(3, "LegacyKeyValueFormat")]


class TestRedundantTargetPlatform:
    # validations.go reportRedundantTargetPlatform: only TARGETPLATFORM matched, nothing unmatched,
    # and the result is its value; the message quotes the flag as written

    @pytest.mark.parametrize("word", ["$TARGETPLATFORM", "${TARGETPLATFORM}", "${TARGETPLATFORM:-linux/amd64}"])
    def test_flagged_with_the_word_as_written(self, word: str) -> None:
        assert _found(f"FROM --platform={word} scratch\n") == [
            (1, "RedundantTargetPlatform", f"Setting platform to predefined {word} in FROM is redundant as this is "
                                           "the default behavior")]

    @pytest.mark.parametrize("word", ["$TARGETOS/$TARGETARCH", "${TARGETPLATFORM}$SUFFIX", "$BUILDPLATFORM"])
    def test_not_flagged_when_anything_else_is_substituted(self, word: str) -> None:
        text = f"ARG SUFFIX\nFROM --platform={word} scratch\n"
        assert [r for _, r in _rules(text)] == []

    def test_skipped_by_a_comment_above_from(self) -> None:
        assert _found("# check=skip=RedundantTargetPlatform\nFROM --platform=$TARGETPLATFORM scratch\n") == []


class TestFromPlatformFlagConstDisallowed:
    # validations.go reportConstPlatformDisallowed: no substitution, parsed with containerd's rules,
    # allowed when the stage name contains the OS or the architecture (not the variant)

    def test_message_has_the_processed_value(self) -> None:
        assert _found('FROM --platform="linux/arm64" scratch AS app\n') == [
            (1, "FromPlatformFlagConstDisallowed", 'FROM --platform flag should not use constant value '
                                                   '"linux/arm64"')]

    @pytest.mark.parametrize(("platform", "name", "flagged"), [
        ("linux/arm64", "build-arm64", False),
        ("linux/arm64", "linux-tools", False),  # the OS in the name is enough
        ("linux/arm64/v8", "v8", True),  # the variant is not compared
        ("linux/aarch64", "arm64-base", False),  # normalised before comparing
        ("linux/amd64", "", True),  # an unnamed stage
        ("not/a/valid/platform", "app", False),  # fails the conversion later instead
    ])
    def test_stage_name_exemption(self, platform: str, name: str, flagged: bool) -> None:
        text = f"FROM --platform={platform} scratch" + (f" AS {name}\n" if name else "\n")
        assert ("FromPlatformFlagConstDisallowed" in {r for _, r in _rules(text)}) is flagged

    def test_a_variable_makes_it_not_constant(self) -> None:
        assert _found("ARG P=linux/amd64\nFROM --platform=$P scratch AS app\n") == []


class TestUndefinedArgInFrom:
    # validations.go reportUnusedFromArgs with suggest.Search over the global ARGs and the automatic ones

    def test_hint_searches_global_and_automatic_args(self) -> None:
        host = Platform.host()
        assert host.os == "linux"
        text = "ARG VERSION=1\nFROM alpine:$VERSON\nFROM --platform=linux/$TARGETARC alpine:$NOTHINGCLOSE AS x\n"
        assert [f for f in _found(text) if f[1] == "UndefinedArgInFrom"] == [
            (2, "UndefinedArgInFrom", "FROM argument 'VERSON' is not declared (did you mean VERSION?)"),
            (3, "UndefinedArgInFrom", "FROM argument 'NOTHINGCLOSE' is not declared"),
            (3, "UndefinedArgInFrom", "FROM argument 'TARGETARC' is not declared (did you mean TARGETARCH?)"),
        ]

    def test_declared_without_value_and_automatic_args_are_fine(self) -> None:
        assert _found("ARG TAG\nFROM alpine${TAG:+:$TAG}\nFROM --platform=$BUILDPLATFORM alpine:$TARGETSTAGE AS b\n"
                      ) == []

    def test_hint_is_case_sensitive(self) -> None:
        assert [f for f in _found("ARG version=1\nFROM alpine:$VERSION\n") if f[1] == "UndefinedArgInFrom"] == [
            (2, "UndefinedArgInFrom", "FROM argument 'VERSION' is not declared")]


@pytest.mark.parametrize(("text", "flagged"), [
    ("FROM alpine:$TAG\n", True),  # "alpine:" (and UndefinedArgInFrom as well: both are reported)
    ("ARG TAG=\nFROM alpine${TAG:+:$TAG}\n", False),
    ("ARG IMAGE\nFROM $IMAGE\n", True),  # empty
    ("ARG REPO=Alpine\nFROM $REPO\n", True),  # not a valid repository name
    ("FROM Alpine\n", True),  # no variable at all: still parsed
    ("ARG B=build\nFROM scratch AS build\nFROM $B\n", False),
    ("ARG P=linux\nARG REPO=tools-${TARGETOS}\nFROM $REPO\n", False),  # defaults see the automatic ARGs
])
def test_invalid_default_arg_in_from(text: str, flagged: bool) -> None:
    # validations.go validateBaseImagesWithDefaultArgs: reference.ParseNormalizedNamed of every FROM
    assert ("InvalidDefaultArgInFrom" in {r for _, r in _rules(text)}) is flagged


class TestMaintainerDeprecated:
    # instructions/parse.go ParseInstructionWithLinter: command.Maintainer, with the node's PrevComment

    def test_message_and_line(self) -> None:
        assert _found("FROM scratch\nLABEL a=b\nMAINTAINER someone\n") == [
            (3, "MaintainerDeprecated", "Maintainer instruction is deprecated in favor of using label")]

    def test_skipped_by_a_comment_above(self) -> None:
        assert _found("FROM scratch\n# check=skip=MaintainerDeprecated\nMAINTAINER someone\n") == []


class TestExpose:
    # convert_expose.go parsePort: splitParts, splitProtoPort; ExposeProtoCasing before ExposeInvalidFormat

    @pytest.mark.parametrize(("word", "rules"), [
        ("80/TCP", ["ExposeProtoCasing"]),
        ("80/Udp", ["ExposeProtoCasing"]),
        ("80/udp", []),
        ("8080:80", ["ExposeInvalidFormat"]),
        ("127.0.0.1:8080:80/SCTP", ["ExposeInvalidFormat", "ExposeProtoCasing"]),
        ("[::1]:8080:80", ["ExposeInvalidFormat"]),  # an IPv6 address keeps its colons (the last two split)
        (":80", []),  # an empty host part: neither an IP nor a host port
        ("80/quic", []),  # an unknown protocol fails the dispatch, before any warning
        ("/tcp", []),  # no port: likewise
    ])
    def test_each_word(self, word: str, rules: list[str]) -> None:
        assert sorted(r for _, r in _rules(f"FROM scratch\nEXPOSE 22 {word}\n")) == rules

    def test_words_are_expanded_with_the_stage_environment_first(self) -> None:
        # dispatchExpose: ProcessWords with the state's env (ENV, ARG values, the global ARG for a bare
        # ARG, inherited from a parent stage), so the message quotes the expanded word
        text = ("ARG PROTO=UDP\nFROM scratch AS a\nARG PROTO\nENV HOSTPORT=8080\nFROM a\nARG P=80\n"
                "EXPOSE $HOSTPORT:$P ${P}/${PROTO}\n")
        assert _found(text) == [
            (7, "ExposeInvalidFormat", "EXPOSE instruction should not define an IP address or host-port mapping, "
                                       "found '8080:80'"),
            (7, "ExposeProtoCasing", "Defined protocol '80/UDP' in EXPOSE instruction should be lowercase"),
        ]

    def test_messages_quote_the_word(self) -> None:
        assert _found("FROM scratch\nEXPOSE 1.2.3.4:53:53/UDP\n") == [
            (2, "ExposeInvalidFormat", "EXPOSE instruction should not define an IP address or host-port mapping, "
                                       "found '1.2.3.4:53:53/UDP'"),
            (2, "ExposeProtoCasing", "Defined protocol '1.2.3.4:53:53/UDP' in EXPOSE instruction should be "
                                     "lowercase"),
        ]


def test_undefined_var_hint_has_a_dollar() -> None:
    # linter/ruleset.go RuleUndefinedVar: "(did you mean $%s?)"
    assert _found("FROM scratch\nENV HOME_DIR=/h\nWORKDIR $HOME_DIRR\n") == [
        (3, "UndefinedVar", "Usage of undefined variable '$HOME_DIRR' (did you mean $HOME_DIR?)")]


def test_file_level_rules_ignore_comments_above() -> None:
    # DuplicateStageName/ReservedStageName (validateStageNames) use the file's linter only
    text = "FROM scratch AS a\n# check=skip=DuplicateStageName,ReservedStageName\nFROM scratch AS a\n"
    assert _rules(text) == [(3, "DuplicateStageName")]


def test_invalid_base_image_platform_has_no_url() -> None:
    # linter/ruleset.go RuleInvalidBaseImagePlatform has no URL: subrequests/lint Warning.URL is omitempty
    # and PrintTo writes " - URL" only when set. The config is handed in as ImageResolver.image_config
    # would return it (the registry path is tests/integration/build/test_check_bases.py).
    df = load(parse_text('FROM base:1\nCMD ["x"]\n'))
    data = lint(df, base_config=lambda ref, platform: ImageConfig(architecture="s390x", os="linux"))
    assert [w["ruleName"] for w in data["warnings"]] == ["InvalidBaseImagePlatform"]
    assert "url" not in data["warnings"][0]
    assert "\nWARNING: InvalidBaseImagePlatform\nBase image base:1 was pulled with platform" in render_lint(data)


class TestInvalidDefinitionDescription:
    # instructions/parse.go validateDefinitionDescription; Experimental in linter/ruleset.go, so linter.go
    # Run reports it only when enabled (experimental=), and skip lists do not touch it

    TEXT = ("# check=experimental=InvalidDefinitionDescription\n"
            "# release the release to pin\nARG release=1\n"  # fine
            "# Tools image with the compilers\nFROM scratch AS tools\n"  # case-sensitive: 'tools' wanted
            "# a note\n\nARG one two\n"  # a blank line keeps the comment (PrevComment)
            "#\nARG three\n"  # an empty "#" drops it
            "# two of them\nARG one=1 two=2\n"
            "# whatever\nFROM scratch\n")  # an unnamed stage has nothing to describe

    def test_enabled_by_the_directive(self) -> None:
        assert _found(self.TEXT) == [
            (5, "InvalidDefinitionDescription", "Comment for FROM should follow the format: `# tools <description>`"),
            (8, "InvalidDefinitionDescription", "Comment for ARG should follow the format: `# <arg_key> "
                                                "<description>`"),
        ]

    def test_off_unless_enabled_and_skip_all_does_not_stop_it(self) -> None:
        body = self.TEXT.split("\n", 1)[1]
        assert _found(body) == []
        assert _rules("# check=skip=all;experimental=all\n" + body) == [
            (5, "InvalidDefinitionDescription"), (8, "InvalidDefinitionDescription")]

    def test_enabled_by_a_comment_above_the_instruction(self) -> None:
        # WithMergedConfigFromComments merges experimental rules too; that comment is then the last one
        text = "FROM scratch\n# check=experimental=InvalidDefinitionDescription\nARG tag=1\n"
        assert _found(text) == [
            (3, "InvalidDefinitionDescription", "Comment for ARG should follow the format: `# tag <description>`")]


class TestCheckBuildArg:
    # frontend/dockerui/config.go: build-arg:BUILDKIT_DOCKERFILE_CHECK, parsed by ParseLintOptions,
    # becomes the LinterConfig and replaces the file's check directive (convert.go newRuleLinter)

    TEXT = "# check=skip=JSONArgsRecommended\nFROM scratch\nMAINTAINER me\nCMD run\n"

    def test_replaces_the_directive(self) -> None:
        df = load(parse_text(self.TEXT))
        assert [f.rule for f in check(df)[0]] == ["MaintainerDeprecated"]
        findings, config = check(df, build_args={"BUILDKIT_DOCKERFILE_CHECK": "skip=MaintainerDeprecated;error=true"})
        assert [f.rule for f in findings] == ["JSONArgsRecommended"] and config.error
        assert check(df, build_args={"BUILDKIT_DOCKERFILE_CHECK": "skip=all"})[0] == []

    def test_a_bad_value_fails_the_call(self, tmp_path: Path) -> None:
        (tmp_path / "Dockerfile").write_text(self.TEXT)
        proc = subprocess.run([sys.executable, "-m", "dockyard", "build", "--call=check", "--build-arg",
                               "BUILDKIT_DOCKERFILE_CHECK=skip", str(tmp_path)],
                              capture_output=True, text=True, check=False, timeout=120)
        assert proc.returncode == 2
        assert proc.stderr.splitlines()[0] == ("error: failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK: "
                                               "invalid check options 'skip'")
        assert "Traceback" not in proc.stderr

    def test_a_good_value_reaches_the_cli_call(self, tmp_path: Path) -> None:
        (tmp_path / "Dockerfile").write_text(self.TEXT)
        result = CliRunner().invoke(cli, ["build", "--call=check,format=json", "--build-arg",
                                          "BUILDKIT_DOCKERFILE_CHECK=skip=MaintainerDeprecated", str(tmp_path)])
        assert [w["ruleName"] for w in json.loads(result.output)["warnings"]] == ["JSONArgsRecommended"]


@pytest.mark.parametrize("directive", ["skip", "error=maybe", "skip=A;severity=high"])
def test_a_check_directive_that_does_not_parse_is_an_error(directive: str) -> None:
    # convert.go newRuleLinter: ParseLintOptions fails, so does the conversion ("failed to parse check options")
    df = load(parse_text(f"# check={directive}\nFROM scratch\n"))
    with pytest.raises(DockerfileError) as caught:
        check(df)
    assert caught.value.line == 1 and "Dockerfile:1: failed to parse check options: " in caught.value.message
