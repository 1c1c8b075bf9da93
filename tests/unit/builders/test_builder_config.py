"""buildkitd.toml-shaped builder configs: the parts dockyard honours, typed, and one-line errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.builders.config import (
    BuilderConfig,
    GCRule,
    load_config,
    parse_duration,
    parse_size,
)
from dockyard.errors import ConfigError
from dockyard.platform import Platform
from dockyard.registry.hosts import HostConfig

FULL = """
debug = true
root = "/var/lib/buildkit"          # ignored: dockyard has its own store

[grpc]
address = ["tcp://0.0.0.0:1234"]    # ignored

[worker.oci]
max-parallelism = 4
platforms = ["linux/amd64", "arm64"]
gc = true

[[worker.oci.gcpolicy]]
keepBytes = 512000000
keepDuration = "48h"
filters = ["type==source.local", "type==exec.cachemount"]

[[worker.oci.gcpolicy]]
all = true
keepBytes = "10GiB"

[registry."docker.io"]
mirrors = ["mirror.example.com", "127.0.0.1:5000/hub"]

[registry."127.0.0.1:5000"]
http = true
insecure = true

[registry."secure.example.com"]
ca = ["/etc/ssl/my-ca.pem"]
[[registry."secure.example.com".keypair]]
key = "/etc/ssl/client.key"
cert = "/etc/ssl/client.crt"
"""


def _load(tmp_path: Path, text: str) -> BuilderConfig:
    path = tmp_path / "buildkitd.toml"
    path.write_text(text)
    return load_config(path)


def test_full_file_is_parsed_into_typed_values(tmp_path: Path) -> None:
    cfg = _load(tmp_path, FULL)
    assert cfg.max_parallelism == 4
    assert cfg.platforms == (Platform.parse("linux/amd64"), Platform.parse("linux/arm64"))
    assert cfg.gc.enabled and not cfg.gc.default
    assert cfg.gc.rules == (
        GCRule(all=False, keep_bytes=512_000_000, keep_duration=172800.0,
               filters=("type==source.local", "type==exec.cachemount")),
        GCRule(all=True, keep_bytes=10 * 1024**3),
    )
    assert cfg.registry("docker.io").mirrors == ("mirror.example.com", "127.0.0.1:5000/hub")
    assert cfg.registry("127.0.0.1:5000") == HostConfig(http=True, insecure=True)
    secure = cfg.registry("secure.example.com")
    assert secure.ca == (Path("/etc/ssl/my-ca.pem"),)
    assert secure.keypairs == ((Path("/etc/ssl/client.crt"), Path("/etc/ssl/client.key")),)
    assert cfg.registry("unmentioned.io") == HostConfig()
    assert cfg.source == tmp_path / "buildkitd.toml"


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    cfg = _load(tmp_path, "")
    assert cfg.max_parallelism is None and cfg.platforms == () and cfg.registries == {}
    assert cfg.gc.default and cfg.gc.rules == (GCRule(all=True, keep_percent=10.0),)


@pytest.mark.parametrize(("value", "expected"), [
    ("9000", GCRule(all=True, keep_bytes=9_000_000_000)),  # a number is MB, as in buildkitd
    ('"20GB"', GCRule(all=True, keep_bytes=20_000_000_000)),
    ('"512MiB"', GCRule(all=True, keep_bytes=512 * 1024**2)),
    ('"25%"', GCRule(all=True, keep_percent=25.0)),
])
def test_gckeepstorage_forms(tmp_path: Path, value: str, expected: GCRule) -> None:
    cfg = _load(tmp_path, f"[worker.oci]\ngckeepstorage = {value}\n")
    assert cfg.gc.rules == (expected,)
    assert not cfg.gc.default


def test_gc_can_be_disabled(tmp_path: Path) -> None:
    assert _load(tmp_path, "[worker.oci]\ngc = false\n").gc.enabled is False


def test_percent_rule_limit_scales_with_filesystem() -> None:
    assert GCRule(keep_percent=10.0).limit(1_000_000) == 100_000
    assert GCRule(keep_bytes=5).limit(1_000_000) == 5
    assert GCRule().limit(1_000_000) is None


@pytest.mark.parametrize(("text", "message"), [
    ("[worker.oci]\nmax-parallelism = 0\n", "max-parallelism must be a positive integer"),
    ("[worker.oci]\nmax-parallelism = true\n", "max-parallelism must be a positive integer"),
    ("[worker.oci]\ngckeepstorage = \"lots\"\n", "invalid size 'lots'"),
    ("[[worker.oci.gcpolicy]]\nkeepDuration = \"2 days\"\n", "invalid duration"),
    ("[worker]\noci = 3\n", "oci must be a table"),
    ('[registry."docker.io"]\nmirrors = "one"\n', "mirrors must be a list of hosts"),
    ('[registry."r.io"]\nhttp = "yes"\n', "http must be true or false"),
    ('[registry."r.io"]\nkeypair = [{key = "k"}]\n', "keypair entries need key and cert paths"),
    ("[worker.oci]\nplatforms = [\"linux/z80\"]\n", "unknown architecture"),
])
def test_invalid_values_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(Exception) as info:  # noqa: PT011 - ConfigError or UsageError (platform)
        _load(tmp_path, text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_and_invalid_toml_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read builder config"):
        load_config(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[worker\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: invalid TOML"):
        load_config(tmp_path / "bad.toml")


def test_size_and_duration_parsers() -> None:
    assert parse_size(3, number_unit=1, what="x") == (3, None)
    assert parse_size("1.5GB", number_unit=1, what="x") == (1_500_000_000, None)
    assert parse_size("2k", number_unit=1, what="x") == (2000, None)
    assert parse_size("100%", number_unit=1, what="x") == (None, 100.0)
    with pytest.raises(ConfigError):
        parse_size("0%", number_unit=1, what="x")
    assert parse_duration("1h30m", what="x") == 5400.0
    assert parse_duration(60, what="x") == 60.0
    with pytest.raises(ConfigError):
        parse_duration("-5", what="x")
