"""The public face of the package: a curated, sorted ``__all__`` that is complete, and typed errors
(never AttributeError) for arguments of the wrong type."""

from __future__ import annotations

import ast
import inspect
import types
from pathlib import Path
from typing import Any

import pytest

import dockyard
from dockyard import imagetools


def test_all_is_sorted_complete_and_every_name_resolves() -> None:
    assert dockyard.__all__ == sorted(dockyard.__all__)
    for name in dockyard.__all__:
        assert getattr(dockyard, name) is not None
    # every public name bound in the package (submodules aside) is in __all__
    public = {n for n, v in vars(dockyard).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType) and n not in ("TYPE_CHECKING", "Any")
              and getattr(v, "__module__", "dockyard").startswith("dockyard")}
    assert public <= set(dockyard.__all__)
    assert imagetools.__all__ == sorted(imagetools.__all__)


def test_the_api_is_documented() -> None:
    for func in (dockyard.build, dockyard.login, dockyard.imagetools.inspect, dockyard.imagetools.create,
                 dockyard.imagetools.import_, dockyard.meta, dockyard.sign, dockyard.verify,
                 dockyard.generate_key_pair):
        assert func.__doc__ and len(func.__doc__) > 200
    params = inspect.signature(dockyard.build).parameters
    # buildx's flag names (python spelling): what `dockyard build --help` offers the API offers
    for flag in ("platforms", "tags", "push", "outputs", "build_args", "target", "labels", "secrets", "ssh",
                 "no_cache", "no_cache_filter", "cache_from", "cache_to", "metadata_file", "iidfile", "builder",
                 "file", "progress", "load", "annotations", "push_timeout", "push_retry", "placement", "attest",
                 "provenance", "sbom", "attest_storage", "sign", "gates", "gate_mode", "gate_policy",
                 "tags_from_git", "tag_specs", "flavor", "no_default_labels"):
        assert flag in params
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for n, p in params.items() if n != "context")


# `dockyard build` options the API leaves out, and why (docs/api.md says the same)
CLI_ONLY = {
    "call", "check", "dry_run", "fmt",  # answers other than a build (outline, targets, check, a plan): not a build
    "pull",  # dockyard always resolves base tags in their registry: nothing to ask for
}
# click's parameter name -> the API's (buildx's flag in python spelling, plural where it repeats)
RENAMED = {"dockerfile": "file", "tag": "tags", "output": "outputs", "secret": "secrets", "label": "labels",
           "tag_spec": "tag_specs"}


def test_every_cli_build_option_is_an_api_argument_or_listed_as_cli_only() -> None:
    from dockyard.cli.build import build

    cli = {RENAMED.get(p.name, p.name) for p in build.params if p.name is not None}
    api = set(inspect.signature(dockyard.build).parameters)
    assert cli - CLI_ONLY <= api
    assert not CLI_ONLY & api
    # the CLI's --builder and --registry-ca are the group's options (dockyard --builder NAME build)
    assert api - cli == {"builder", "registry_ca"}


def _cli_command(path: str) -> Any:
    import importlib

    module, _, name = path.partition(":")
    return getattr(importlib.import_module(f"dockyard.cli.{module}"), name)


# each verb of issues 13 and 15 beside `build`: its click command, the API function, click's
# parameter names -> the API's, and the options that only shape the CLI's printing
VERBS = [
    ("meta:meta", lambda: dockyard.meta, {"tag_spec": "tag_specs"}, {"fmt"}),
    ("sign:sign", lambda: dockyard.sign, {"key_path": "key", "form": "format"}, set()),
    ("verify:verify", lambda: dockyard.verify, {"key_path": "key", "types": "attestation_type"}, set()),
    ("keypair:generate_key_pair", lambda: dockyard.generate_key_pair, {}, set()),
    ("imagetools:create", lambda: dockyard.imagetools.create, {"from_ref": "from_"}, set()),
    ("imagetools:import_", lambda: dockyard.imagetools.import_, {"pairs": "platforms"}, set()),
    ("imagetools:inspect", lambda: dockyard.imagetools.inspect, {}, {"raw", "fmt"}),
]


@pytest.mark.parametrize(("command", "api", "renamed", "printing"), VERBS, ids=[v[0] for v in VERBS])
def test_every_option_of_the_release_and_signing_verbs_is_an_api_argument(
        command: str, api: Any, renamed: dict[str, str], printing: set[str]) -> None:
    """`dockyard meta/sign/verify/generate-key-pair/imagetools ...`: every flag has its argument of
    the same name (``--from`` is ``from_``; ``--raw``/``--format`` only choose what is printed of
    the result, which carries ``raw`` and every field the JSON shows); the group's
    ``--insecure-registry`` and the global ``--registry-ca`` are ``insecure`` and ``registry_ca``."""
    cli = {renamed.get(p.name, p.name) for p in _cli_command(command).params if p.name is not None}
    params = inspect.signature(api()).parameters
    assert cli - printing <= set(params)
    if command.startswith(("sign", "verify", "imagetools")):
        assert {"insecure", "registry_ca"} <= set(params)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for i, p in enumerate(params.values()) if i > 0)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: dockyard.build(42), "context must be a path"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", platforms=3), "platforms must be a string or a list"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", build_args=["A=1"]), "build_args must be a dict"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", push="yes"), "push must be True or False"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", tags=[b"x"]), "tags must be a string or a list"),  # type: ignore[list-item]
    (lambda: dockyard.build(".", progress=5), "progress must be a callable"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", load=1), "load must be True or False"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", push_retry=11), "push_retry must be a whole number from 0 to 10"),
    (lambda: dockyard.build(".", push_timeout=[1]), "push_timeout must be seconds"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", provenance=2), "provenance must be True, False or a string"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", annotations={"k": "v"}), "annotations must be a string or a list"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", placement=1), "placement must be a string"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", sign=True), "sign must be a string"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", gates=5), "gates must be a string or a list"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", gate_policy=5), "gate_policy must be a path"),  # type: ignore[arg-type]
    (lambda: dockyard.login(5, username="u", password="p"), "server must be a string"),  # type: ignore[arg-type]
    (lambda: dockyard.login("r.example", username="u", password=""), "empty password"),
    (lambda: dockyard.imagetools.create(["a/b:1"], tags=[]), "at least one tag"),
    (lambda: dockyard.imagetools.inspect(None), "ref must be a string"),  # type: ignore[arg-type]
    (lambda: dockyard.imagetools.inspect("a/b:1", registry_ca=["ca.pem"]), "registry_ca must be a dict"),  # type: ignore[arg-type]
    (lambda: dockyard.imagetools.inspect("a/b:1", details="no"), "details must be True or False"),  # type: ignore[arg-type]
    (lambda: dockyard.imagetools.create(tags="a/b:1", from_=3), "from_ must be a string"),  # type: ignore[arg-type]
    (lambda: dockyard.imagetools.create(tags="a/b:1", from_="a/c:1", push_retry=-1), "push_retry must be"),
    (lambda: dockyard.imagetools.create(tags="a/b:1", progress="x"), "progress must be a callable"),  # type: ignore[arg-type]
    (lambda: dockyard.imagetools.import_({"linux/amd64": 5}, tags="a/b:1"), "platforms must map"),  # type: ignore[dict-item]
    (lambda: dockyard.imagetools.import_([], tags=[]), "at least one tag"),
    (lambda: dockyard.build(".", tags_from_git="yes"), "tags_from_git must be True or False"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", tag_specs=5), "tag_specs must be a string or a list"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", flavor={"latest": "false"}), "flavor must be a string or a list"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", no_default_labels=None), "no_default_labels must be True or False"),  # type: ignore[arg-type]
    (lambda: dockyard.build(".", registry_ca={"reg": [5]}), "registry_ca must be a dict"),  # type: ignore[list-item]
    (lambda: dockyard.meta(3), "repo must be a path"),  # type: ignore[arg-type]
    (lambda: dockyard.meta(".", images=7), "images must be a string or a list"),  # type: ignore[arg-type]
    (lambda: dockyard.meta(".", labels={"k": 1}), "labels must be a dict of strings"),  # type: ignore[dict-item]
    (lambda: dockyard.sign(None, key="cosign.key"), "ref must be a string"),  # type: ignore[arg-type]
    (lambda: dockyard.sign("a/b:1", key=5), "key must be a path"),  # type: ignore[arg-type]
    (lambda: dockyard.sign("a/b:1", key="k", format="pgp"), "format must be one of classic, bundle"),
    (lambda: dockyard.sign("a/b:1", key="k", password=5), "password must be a string or bytes"),  # type: ignore[arg-type]
    (lambda: dockyard.verify("a/b:1", key="k", attestation_type="vuln"), "unknown attestation type 'vuln'"),
    (lambda: dockyard.verify("a/b:1", key=["k"]), "key must be a path"),  # type: ignore[arg-type]
    (lambda: dockyard.generate_key_pair(output_key_prefix=1), "output_key_prefix must be a path"),  # type: ignore[arg-type]
])
def test_a_bad_argument_is_an_argument_error_with_a_hint(call: Any, match: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(dockyard.ArgumentError, match=match) as info:
        call()
    assert isinstance(info.value, dockyard.DockyardError) and isinstance(info.value, dockyard.UsageError)


def test_a_key_pair_needs_a_password_and_is_never_overwritten(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    with pytest.raises(dockyard.ArgumentError, match="no password for the private key"):
        dockyard.generate_key_pair(output_key_prefix=tmp_path / "k")
    made = dockyard.generate_key_pair(output_key_prefix=tmp_path / "k", password="pw")
    assert made.private_key == tmp_path / "k.key" and made.public_key == tmp_path / "k.pub"
    assert made.private_key.stat().st_mode & 0o077 == 0
    with pytest.raises(dockyard.UsageError, match=r"k\.key already exists"):
        dockyard.generate_key_pair(output_key_prefix=tmp_path / "k", password="pw")
    monkeypatch.setenv("COSIGN_PASSWORD", "not-it")  # the argument wins over the environment
    with pytest.raises(dockyard.SigningKeyError, match="wrong password"):
        dockyard.sign("127.0.0.1:1/none:1", key=made.private_key)


def test_signing_without_a_push_is_refused_before_the_key_is_read(tmp_path: Path) -> None:
    with pytest.raises(dockyard.UsageError, match="no registry output") as info:
        dockyard.build(tmp_path, sign="key=no-such.key", outputs=f"type=oci,dest={tmp_path / 'out'}")
    assert info.value.hint == "add --push"


def test_a_missing_context_names_it(tmp_path: Path) -> None:
    with pytest.raises(dockyard.ArgumentError, match="is not a directory") as info:
        dockyard.build(tmp_path / "nope")
    assert info.value.hint


def test_importing_dockyard_stays_cheap() -> None:
    import subprocess
    import sys

    code = "import sys, dockyard; print(sorted(m for m in sys.modules if m.startswith(('dockyard.', 'httpx'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "httpx" not in out and "dockyard.api" not in out and "dockyard.phases" not in out
    assert "dockyard.signing" not in out and "dockyard.release" not in out


# builder verbs: click's parameter name -> the API's, and the CLI-only flags (display, prompts, no-ops)
BUILDER_VERBS = {
    "create": ({}, set()),
    "ls": ({}, {"fmt"}),  # --format: how the CLI prints the records ls() returns
    "inspect": ({}, set()),
    "rm": ({}, {"force"}),  # answers the CLI's prompt; the library never prompts
    "use": ({}, {"as_default", "as_global"}),  # accepted for buildx compatibility, change nothing
    "stop": ({}, set()),
    "du": ({}, {"verbose"}),  # how the CLI prints the records du() returns
    "prune": ({"everything": "all"}, {"force"}),
}


@pytest.mark.parametrize("verb", sorted(BUILDER_VERBS))
def test_every_builder_verb_flag_is_an_api_argument_or_listed_as_cli_only(verb: str) -> None:
    import importlib

    command = getattr(importlib.import_module(f"dockyard.cli.{verb}"), verb)
    renamed, cli_only = BUILDER_VERBS[verb]
    cli = {renamed.get(p.name, p.name) for p in command.params if p.name is not None}
    api = set(inspect.signature(getattr(dockyard.builders, verb)).parameters)
    assert cli - cli_only == api - {"builder"}  # --builder is the group's option (dockyard --builder NAME du)
    assert not cli_only & api


def test_the_builders_namespace_is_curated_and_documented() -> None:
    from dockyard import builders

    assert builders.__all__ == sorted(builders.__all__)
    public = {n for n, v in vars(builders).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)
              and getattr(v, "__module__", "").startswith("dockyard")}
    assert public == set(builders.__all__)
    for name in ("create", "ls", "inspect", "rm", "use", "stop", "du", "prune"):
        assert (getattr(builders, name).__doc__ or "").count(" ") > 10
    assert dockyard.logout.__doc__


@pytest.mark.parametrize(("call", "match"), [
    (lambda: dockyard.builders.create(5), "endpoint must be a string"),  # type: ignore[arg-type]
    (lambda: dockyard.builders.create(name=["a"]), "name must be a string"),  # type: ignore[arg-type]
    (lambda: dockyard.builders.create(name="a", platforms=7), "platforms must be a string or a list"),  # type: ignore[arg-type]
    (lambda: dockyard.builders.create(name="a", use="yes"), "use must be True or False"),  # type: ignore[arg-type]
    (lambda: dockyard.builders.create(name="a", config=3), "config must be a path"),  # type: ignore[arg-type]
    (lambda: dockyard.builders.create(name="a", driver_opts={"a": "b"}), "driver_opts must be a string or a list"),  # type: ignore[arg-type]
    (lambda: dockyard.builders.inspect(3), "name must be a string"),  # type: ignore[arg-type]
    (lambda: dockyard.builders.use(None), "name must be a string"),  # type: ignore[arg-type]
    (lambda: dockyard.builders.rm(3), "names must be a string or a list"),  # type: ignore[arg-type]
    (lambda: dockyard.builders.rm("a", all_inactive=True), "--all-inactive takes no builder names"),
    (lambda: dockyard.builders.du(builder=1), "builder must be a string"),  # type: ignore[arg-type]
    (lambda: dockyard.builders.prune(keep_storage=1.5), "keep_storage must be a size string or bytes"),  # type: ignore[arg-type]
    (lambda: dockyard.builders.prune(filters=[3]), "filters must be a string or a list"),  # type: ignore[list-item]
    (lambda: dockyard.builders.prune(all="yes"), "all must be True or False"),  # type: ignore[arg-type]
    (lambda: dockyard.logout(None), "server must be a string"),  # type: ignore[arg-type]
])
def test_a_bad_builder_argument_is_a_usage_error_never_a_type_error(call: Any, match: str) -> None:
    with pytest.raises(dockyard.UsageError, match=match):
        call()


def test_bad_builder_values_are_one_line_errors_with_hints() -> None:
    with pytest.raises(dockyard.UsageError, match="invalid --filter 'older=1h'") as info:
        dockyard.builders.prune(filters="older=1h")
    assert info.value.hint
    with pytest.raises(dockyard.UsageError, match="invalid size") as info:
        dockyard.builders.prune(keep_storage="lots")
    assert info.value.hint
    with pytest.raises(dockyard.UsageError, match="no builder 'nope' found") as info:
        dockyard.builders.inspect("nope")
    assert info.value.hint and "dockyard create" in info.value.hint
    with pytest.raises(dockyard.UsageError, match="invalid placement 'nearby'") as info:
        dockyard.builders.create(name="p", placement="nearby")
    assert info.value.hint
    with pytest.raises(dockyard.UsageError, match="unknown driver 'podman'") as info:
        dockyard.builders.create(name="p", driver="podman")
    assert info.value.hint
    with pytest.raises(dockyard.UsageError, match="--append needs --name"):
        dockyard.builders.create("ssh://b@127.0.0.1", append=True)
    assert [b.name for b in dockyard.builders.ls()] == ["default"]  # nothing was stored


def _dotted(node: ast.expr) -> list[str] | None:
    """``dockyard.imagetools.create`` as ``["imagetools", "create"]`` (None: not a dockyard name)."""
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.insert(0, node.attr)
        node = node.value
    return names if isinstance(node, ast.Name) and node.id == "dockyard" and names else None


def test_the_examples_in_docs_api_md_call_real_functions_with_real_arguments() -> None:
    """Every ``python`` block of docs/api.md parses, and each ``dockyard.*`` call in it names a
    public function and only keyword arguments it takes (the examples cannot drift from the API)."""
    import re

    text = (Path(__file__).parents[3] / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    calls = 0
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if not isinstance(node, ast.Call) or (names := _dotted(node.func)) is None:
                continue
            target: Any = dockyard
            for name in names:
                target = getattr(target, name)
            assert names[0] in dockyard.__all__
            params = inspect.signature(target).parameters
            assert {kw.arg for kw in node.keywords if kw.arg} <= set(params), names
            calls += 1
    assert calls >= 15
