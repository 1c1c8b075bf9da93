"""Every builder verb through the real CLI: create, use, ls, inspect, rm, stop, and the builder precedence."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.builders.dockyard_cli import assert_one_line_error, ls_json, run


def test_default_builder_always_exists_and_is_current() -> None:
    builders = ls_json()
    assert list(builders) == ["default"]
    assert builders["default"]["Current"] is True
    assert builders["default"]["Driver"] == "local"
    assert [n["Name"] for n in builders["default"]["Nodes"]] == ["default"]


def test_create_use_ls_table_marks_current() -> None:
    out = run("create", "--name", "mybuilder", "--use", "--platform", "linux/amd64,linux/arm64")
    assert out.stdout.strip() == "mybuilder"
    table = run("ls").stdout.splitlines()
    assert table[0].split() == ["NAME/NODE", "DRIVER/ENDPOINT", "STATUS", "PLATFORMS"]
    assert table[1].split() == ["default", "local"]
    assert table[3].split() == ["mybuilder", "*", "local"]
    node = table[4].split(None, 3)
    assert node == ["mybuilder0", "local", "inactive", "linux/amd64*, linux/arm64*"]
    assert ls_json()["mybuilder"]["Nodes"][0]["Configured"] == ["linux/amd64", "linux/arm64"]


def test_created_without_use_is_not_current_until_use() -> None:
    run("create", "--name", "b1")
    assert ls_json()["default"]["Current"] is True
    run("use", "b1")
    docs = ls_json()
    assert docs["b1"]["Current"] is True and docs["default"]["Current"] is False
    assert docs["b1"]["LastActivity"] is not None
    run("use", "default")
    assert ls_json()["default"]["Current"] is True


def test_generated_name_is_printed_and_listed() -> None:
    name = run("create").stdout.strip()
    assert name.startswith("builder-")
    assert name in ls_json()


def test_builder_precedence_flag_then_env_then_use() -> None:
    for name in ("used", "fromdockyard", "frombuildx", "fromflag"):
        run("create", "--name", name)
    run("use", "used")

    def current(env: dict[str, str], *flag: str) -> str:
        first = run(*flag, "inspect", env=env).stdout.splitlines()[0]
        return first.split()[-1]

    assert current({}) == "used"
    assert current({"BUILDX_BUILDER": "frombuildx"}) == "frombuildx"
    assert current({"BUILDX_BUILDER": "frombuildx", "DOCKYARD_BUILDER": "fromdockyard"}) == "fromdockyard"
    assert current({"BUILDX_BUILDER": "frombuildx", "DOCKYARD_BUILDER": "fromdockyard"},
                   "--builder", "fromflag") == "fromflag"
    both = {"DOCKYARD_BUILDER": "fromdockyard"}
    assert [n for n, d in ls_json(env=both).items() if d["Current"]] == ["fromdockyard"]


def test_unknown_names_are_one_line_errors() -> None:
    for args in (["use", "nope"], ["inspect", "nope"], ["rm", "nope"], ["stop", "nope"],
                 ["--builder", "nope", "inspect"], ["create", "--append", "--leave", "--name", "nope", "--node", "x"]):
        assert_one_line_error(run(*args, check=False), "'nope'")
    out = run("inspect", check=False, env={"DOCKYARD_BUILDER": "ghost"})
    assert_one_line_error(out, "no builder 'ghost' found")


def test_invalid_input_is_rejected_before_anything_is_stored() -> None:
    assert_one_line_error(run("create", "--name", "../evil", check=False), "invalid builder name")
    assert_one_line_error(run("create", "--name", "default", check=False), "default builder")
    assert_one_line_error(run("create", "--name", "x", "--platform", "linux/sparc9", check=False),
                          "unknown architecture")
    assert_one_line_error(run("create", "--name", "x", "--driver", "docker-container", check=False), "not built yet")
    assert_one_line_error(run("create", "--name", "x", "--driver", "kubernetes", "--driver-opt", "nodes=3",
                              check=False), "unknown kubernetes driver option 'nodes'")
    assert_one_line_error(run("create", "--name", "x", "--driver", "kubernetes", "--driver-opt", "limits.cpu=lots",
                              check=False), "invalid quantity limits.cpu='lots'")
    assert_one_line_error(run("create", "--name", "x", "--driver-opt", "replicas=2", check=False),
                          "--driver-opt is only for --driver kubernetes")
    assert_one_line_error(run("create", "--name", "x", "ssh://host", check=False), "needs a user and a host")
    assert_one_line_error(run("create", "--name", "x", "ssh://me@host/srv", check=False), "only user, host and port")
    assert_one_line_error(run("create", "--name", "x", "tcp://me@host", check=False), "invalid endpoint")
    bad = run("create", "--name", "x", "--placement", "nearest", check=False)
    assert bad.returncode == 2 and "'nearest' is not one of 'native-only', 'prefer-native', 'any'" in bad.stderr
    assert_one_line_error(run("create", "--name", "x", "--driver", "nosuch", check=False), "unknown driver")
    assert list(ls_json()) == ["default"]


def test_create_existing_name_needs_append() -> None:
    run("create", "--name", "b")
    assert_one_line_error(run("create", "--name", "b", check=False), "already exists")
    run("create", "--name", "b", "--append", "--node", "extra", "--platform", "linux/arm64")
    nodes = ls_json()["b"]["Nodes"]
    assert [n["Name"] for n in nodes] == ["b0", "extra"]
    assert nodes[1]["Configured"] == ["linux/arm64"]
    run("create", "--name", "b", "--append")  # generated node name: the first free NAME<i>
    assert [n["Name"] for n in ls_json()["b"]["Nodes"]] == ["b0", "extra", "b1"]


def test_leave_removes_a_node_but_not_the_last() -> None:
    run("create", "--name", "b")
    run("create", "--name", "b", "--append", "--node", "b1")
    run("create", "--name", "b", "--leave", "--node", "b0")
    assert [n["Name"] for n in ls_json()["b"]["Nodes"]] == ["b1"]
    assert_one_line_error(run("create", "--name", "b", "--leave", "--node", "b1", check=False), "last node")


def test_rm_default_is_refused() -> None:
    assert_one_line_error(run("rm", "default", check=False), "default builder cannot be removed")
    assert_one_line_error(run("rm", check=False), "default builder cannot be removed")


def test_removing_the_builder_in_use_falls_back_to_default(dockyard_root: Path) -> None:
    run("create", "--name", "mine", "--use")
    store = dockyard_root / "builders" / "mine" / "mine0"
    store.mkdir(parents=True)
    (store / "blob").write_text("cache")
    out = run("rm")  # no name: the builder in use
    assert out.stdout.strip() == "mine removed"
    docs = ls_json()
    assert list(docs) == ["default"] and docs["default"]["Current"] is True
    assert not (dockyard_root / "builders" / "mine").exists()
    assert run("inspect").stdout.splitlines()[0].split()[-1] == "default"


def test_rm_keep_state_keeps_the_store(dockyard_root: Path) -> None:
    run("create", "--name", "k")
    store = dockyard_root / "builders" / "k" / "k0"
    store.mkdir(parents=True)
    run("rm", "--keep-state", "k")
    assert store.is_dir()
    assert "k" not in ls_json()


def test_rm_all_inactive_removes_only_non_running(tmp_path: Path) -> None:
    for name in ("a", "b"):
        run("create", "--name", name)
    out = run("rm", "--all-inactive", stdin="n\n")
    assert "nothing removed" in out.stdout and set(ls_json()) == {"default", "a", "b"}  # declined
    run("rm", "--all-inactive", "--force")
    assert list(ls_json()) == ["default"]


def test_stop_marks_nodes_stopped() -> None:
    run("create", "--name", "s", "--use")
    run("stop")
    assert ls_json()["s"]["Nodes"][0]["Status"] == "stopped"
    assert "Status:           stopped" in run("inspect", "s").stdout


def test_config_is_copied_so_later_edits_change_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "buildkitd.toml"
    cfg.write_text('[worker.oci]\nmax-parallelism = 3\n[registry."docker.io"]\nmirrors = ["mirror.local:5000"]\n')
    run("create", "--name", "c", "--config", str(cfg))
    cfg.write_text("[worker.oci]\nmax-parallelism = 9\n")
    text = run("inspect", "c").stdout
    assert "Max parallelism:  3\n" in text
    assert "Registry docker.io: mirrors=mirror.local:5000" in text
    cfg.unlink()
    assert "Max parallelism:  3\n" in run("inspect", "c").stdout


def test_invalid_config_is_one_line_error_and_creates_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[worker.oci]\nmax-parallelism = 'many'\n")
    assert_one_line_error(run("create", "--name", "c", "--config", str(cfg), check=False), "max-parallelism")
    cfg.write_text("[worker.oci\n")
    assert_one_line_error(run("create", "--name", "c", "--config", str(cfg), check=False), "invalid TOML")
    assert list(ls_json()) == ["default"]


def test_inspect_shows_gc_policy_from_config(tmp_path: Path) -> None:
    cfg = tmp_path / "gc.toml"
    cfg.write_text("[worker.oci]\ngckeepstorage = 9000\n")
    run("create", "--name", "g", "--config", str(cfg))
    text = run("inspect", "g").stdout
    assert "GC Policy rule#0:\n  All:            true\n  Keep Bytes:     8.4GiB" in text


def test_records_are_json_files_one_per_builder(tmp_path: Path) -> None:
    run("create", "--name", "r", "--platform", "arm64")
    path = tmp_path / "xdg-config" / "dockyard" / "builders" / "r" / "builder.json"
    doc = json.loads(path.read_text())
    assert doc["name"] == "r" and doc["driver"] == "local"
    assert doc["nodes"][0]["platforms"] == ["linux/arm64"]
    assert doc["created"] and doc["last_used"] is None
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_rm_with_one_unknown_name_removes_nothing() -> None:
    run("create", "--name", "keep1")
    assert_one_line_error(run("rm", "keep1", "ghost", check=False), "no builder 'ghost' found")
    assert "keep1" in ls_json()
    run("create", "--name", "keep2")
    out = run("rm", "keep1", "keep2")
    assert out.stdout.splitlines() == ["keep1 removed", "keep2 removed"]
    assert list(ls_json()) == ["default"]
