"""``dockyard build`` and ``dockyard.build`` take one path: each makes a ``BuildSpec`` and hands it to
``api.build.make_call``, so the same flags and arguments give the same request, field for field."""

from __future__ import annotations

import inspect
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

import dockyard
from dockyard.api import build as api_build
from dockyard.api.buildspec import BuildSpec
from dockyard.api.release import ReleaseRequest
from dockyard.cli import buildrun
from dockyard.cli.main import cli


class _Caught(Exception):
    """Stops a build at ``make_call``, carrying the spec it was given."""

    def __init__(self, spec: BuildSpec) -> None:
        super().__init__("caught")
        self.spec = spec


def _catch(spec: BuildSpec, **_kw: Any) -> Any:
    raise _Caught(spec)


def test_the_spec_holds_every_api_argument_under_its_own_name() -> None:
    release = {"no_default_labels" if f.name == "default_labels" else f.name for f in fields(ReleaseRequest)}
    spec = {f.name for f in fields(BuildSpec)} - {"release"}
    assert not spec & release
    # progress (a callable) is the API's renderer, as the CLI's --progress chooses its own
    assert spec | release == set(inspect.signature(dockyard.build).parameters) - {"progress"}


def test_the_cli_and_the_api_hand_make_call_the_same_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    ca = tmp_path / "ca.pem"
    ca.write_text("not read before the build\n")
    policy = tmp_path / "gates.toml"
    monkeypatch.setattr(buildrun, "make_call", _catch)
    monkeypatch.setattr(api_build, "make_call", _catch)

    with pytest.raises(_Caught) as from_cli:
        cli.main(args=[
            "--builder", "b1", "--registry-ca", f"reg.example:5000={ca}", "build", "-f", str(ctx / "Df"),
            "--platform", "linux/amd64,linux/arm64", "-t", "reg.example:5000/app", "--push",
            "-o", "type=oci,dest=o.tar",
            "--build-arg", "A=1", "--target", "final", "--label", "L=v", "--secret", "id=tok,src=tok.txt",
            "--ssh", "default=/run/agent.sock", "--no-cache", "--no-cache-filter", "base", "--push-timeout", "90s",
            "--cache-from", "type=local,src=c", "--cache-to", "type=inline", "--metadata-file", "m.json",
            "--iidfile", "iid", "--placement", "any", "--attest", "type=sbom", "--provenance=mode=max", "--sbom",
            "--attest-storage", "referrers", "--sign", "key=cosign.key", "--tags-from-git", "--tag-spec",
            "type=semver,pattern={{version}}", "--flavor", "latest=false", "--no-default-labels", "--annotation",
            "index:K=V", "--gate", "max-size=200MB", "--gate-mode", "warn", "--gate-policy", str(policy),
            "--push-retry", "2", "--load", str(ctx)], prog_name="dockyard", standalone_mode=False)
    with pytest.raises(_Caught) as from_api:
        dockyard.build(
            ctx, builder="b1", registry_ca={"reg.example:5000": str(ca)}, file=ctx / "Df",
            platforms=["linux/amd64", "linux/arm64"], tags="reg.example:5000/app", push=True,
            outputs="type=oci,dest=o.tar", build_args={"A": "1"}, target="final", labels={"L": "v"},
            secrets="id=tok,src=tok.txt", ssh="default=/run/agent.sock", no_cache=True, no_cache_filter="base",
            push_timeout="90s", cache_from="type=local,src=c", cache_to="type=inline", metadata_file="m.json",
            iidfile="iid", placement="any", attest="type=sbom", provenance="mode=max", sbom=True,
            attest_storage="referrers", sign="key=cosign.key", tags_from_git=True,
            tag_specs="type=semver,pattern={{version}}", flavor="latest=false", no_default_labels=True,
            annotations="index:K=V", gates="max-size=200MB", gate_mode="warn", gate_policy=policy, push_retry=2,
            load=True)
    assert from_cli.value.spec == from_api.value.spec
    # every field was given a value other than its default, so none can be dropped on either side
    empty = BuildSpec(context=tmp_path)
    assert [f.name for f in fields(BuildSpec) if getattr(empty, f.name) == getattr(from_api.value.spec, f.name)] == []
    assert [f.name for f in fields(ReleaseRequest)
            if getattr(ReleaseRequest(), f.name) == getattr(from_api.value.spec.release, f.name)] == []


def test_rewrite_timestamp_false_with_an_epoch_is_refused_by_the_api_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check lives on the one path, so the API refuses what the CLI refuses
    (tests/integration/build/test_export_options.py runs the CLI's), before anything is built."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    with pytest.raises(dockyard.UsageError, match="rewrite-timestamp=false is not supported"):
        dockyard.build(tmp_path, outputs=f"type=oci,dest={tmp_path / 'o.tar'},rewrite-timestamp=false")
    assert not (tmp_path / "o.tar").exists()
