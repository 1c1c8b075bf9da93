"""--cache-to/--cache-from parsing: buildx's syntax in, typed options out, one-line errors with hints."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.engine.cacheoptions import CacheExport, CacheImport, parse_cache_from, parse_cache_to
from dockyard.errors import UsageError
from dockyard.reference import Reference


def test_registry_export_with_every_option() -> None:
    got = parse_cache_to("type=registry,ref=127.0.0.1:5000/app:cache,mode=max,oci-mediatypes=false,"
                         "cache-mounts=true,ignore-error=true")
    assert got == CacheExport(kind="registry", ref=Reference.parse("127.0.0.1:5000/app:cache"), mode="max",
                              oci_mediatypes=False, cache_mounts=True, ignore_error=True)


def test_defaults_and_shorthands() -> None:
    assert parse_cache_to("type=registry,ref=r.example/app:c").mode == "min"
    assert parse_cache_to("type=inline") == CacheExport(kind="inline")
    assert parse_cache_to("type=local,dest=/tmp/c").dest == Path("/tmp/c")
    assert parse_cache_from("r.example/app:cache") == CacheImport(kind="registry",
                                                                  ref=Reference.parse("r.example/app:cache"))
    assert parse_cache_from("ref=r.example/app:cache").kind == "registry"
    assert parse_cache_from("type=local,src=./c,tag=v1") == CacheImport(kind="local", src=Path("c"), tag="v1")


@pytest.mark.parametrize(("option", "spec", "message", "hint"), [
    ("to", "type=registry,ref=r/app:c,mdoe=max", "unknown key 'mdoe' for type=registry (did you mean mode?)", "keys:"),
    ("to", "type=registry,ref=r/app:c,mode=all", "mode='all'", "mode=min or mode=max"),
    ("to", "type=registry", "ref is required", "type=registry,ref="),
    ("to", "type=gha", "unsupported cache type 'gha'", "types: registry, local, inline"),
    ("to", "type=local", "dest is required", "dest=./cache"),
    ("to", "type=inline,mode=max", "inline cache holds only", "mode=min"),
    ("to", "type=registry,ref=r/app:c,cache-mounts=maybe", "cache-mounts='maybe' is not a boolean", "true|false"),
    ("to", "type=registry,ref=r/app:c,image-manifest=false", "one image manifest", "docs/cache.md"),
    ("to", "type=registry,ref=r/App:c", "repository names use lowercase", "REPOSITORY"),
    ("from", "type=local,dest=/x", "unknown key 'dest' for type=local", "keys: type, src, tag"),
    ("from", "type=inline", "unsupported cache type 'inline'", "types: registry, local"),
    ("from", "type=registry,ref=r/a,mode=max", "unknown key 'mode'", "keys: type, ref"),
    ("from", "type=registry,,", "'' is not key=value", "--cache-from"),
])
def test_bad_values_are_one_line_usage_errors(option: str, spec: str, message: str, hint: str) -> None:
    parse = parse_cache_to if option == "to" else parse_cache_from
    with pytest.raises(UsageError) as caught:
        parse(spec)
    assert message in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.hint is not None and hint in caught.value.hint


def test_the_cli_refuses_a_bad_value_before_building(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    proc = subprocess.run([sys.executable, "-m", "dockyard", "build", "--cache-to", "type=registry,ref=r/a,mdoe=max",
                           str(tmp_path)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DOCKYARD_ROOT": str(tmp_path / "root")})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("error: invalid --cache-to") and "did you mean mode?" in lines[0]
    assert lines[1].startswith("hint: keys: type, ref, mode")
    assert not (tmp_path / "root").exists()  # nothing was started


def test_a_remote_node_receives_cache_targets_as_parts_and_registry_sources_only() -> None:
    part = dataclasses.replace(parse_cache_to("type=registry,ref=127.0.0.1:5000/app:cache,mode=max,cache-mounts=true"),
                               part=True)
    assert CacheExport.from_portable(part.portable()) == part
    local = dataclasses.replace(parse_cache_to("type=local,dest=/client/dir"), part=True)
    assert "/client/dir" not in str(local.portable())  # the client's directory never reaches a node
    assert CacheExport.from_portable(local.portable()).part
    inline = parse_cache_to("type=inline")
    assert CacheExport.from_portable(inline.portable()) == inline
    with pytest.raises(ValueError, match="as parts only"):
        parse_cache_to("type=registry,ref=127.0.0.1:5000/app:cache").portable()
    source = parse_cache_from("127.0.0.1:5000/app:cache")
    assert CacheImport.from_portable(source.portable()) == source
    with pytest.raises(ValueError, match="registry caches only"):
        parse_cache_from("type=local,src=/client/dir").portable()
