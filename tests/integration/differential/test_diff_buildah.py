"""Differential test: each Dockerfile under cases/ built by dockyard and by buildah, compared.

buildah (``--runtime runc``) is an independent implementation of Dockerfile semantics, so
where the two agree we gain confidence that dockyard does what Docker/BuildKit does, and where
they disagree someone has to decide who is right. Every disagreement is either fixed in
dockyard or named below in :data:`CASES` (or :data:`EVERY_CASE`, :data:`EVERY_RUN_CASE`) with
a one-line reason; any other difference fails with a readable list of what differs, and a named
difference that no longer occurs fails too, so the table cannot go stale.

What is compared, for each case:

* the unpacked root filesystems (``umoci unpack`` of both OCI layouts): every path with its
  type, mode, owner, size, sha256, symlink target, device numbers, xattrs and hard link group
  (see :mod:`fstree` for why mtimes are not compared);
* the config fields a runtime acts on (see :mod:`imageview`), label by label;
* the layer list, as the sequence of instructions whose history entries carry a layer, and
  that each image's history has exactly one non-empty entry per layer;
* the history entries inherited from the base image, which must be kept verbatim.

Difference keys: ``/path`` for the file system, ``config.FIELD`` (``config.Labels.KEY`` for
labels), ``layers`` for the layer list, ``history`` for history/layer consistency and
``history.base.BUILDER`` when a builder did not keep the base image's history entries as they were.
"""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.differential import fstree
from tests.integration.differential.twobuilds import Buildah, Dockyard, Side

pytestmark = pytest.mark.integration

CASES_DIR = Path(__file__).parent / "cases"

BUILDAH_LABEL = "buildah stamps its own version label on every image it commits"
BUILDAH_HOSTNAME = ("buildah binds an /etc/hostname into each RUN and leaves the empty mount point file in the "
                    "image; BuildKit only sets the UTS hostname and binds just /etc/hosts and /etc/resolv.conf")
BUILDAH_RUN_DIR = ("buildah binds /run/.containerenv into each RUN; the /run it creates for that stays in the "
                   "image (BuildKit mounts nothing under /run)")


@dataclass(frozen=True)
class Case:
    """A case directory's build settings and the differences it is known to show, each with
    its reason. Every difference listed here must actually occur, so the table stays true."""

    platform: str = "linux/amd64"
    expected: Mapping[str, str] = field(default_factory=dict)


# Differences every case shows, and those every case with a RUN step (in the final stage) shows.
EVERY_CASE: Mapping[str, str] = {"config.Labels.io.buildah.version": BUILDAH_LABEL}
EVERY_RUN_CASE: Mapping[str, str] = {"/etc/hostname": BUILDAH_HOSTNAME, "/run": BUILDAH_RUN_DIR}

WORKDIR_LAYER = ("BuildKit commits WORKDIR's mkdir as a layer of its own; buildah makes the directory "
                 "inside the next step's layer")
WORKDIR_UNUSED = ("BuildKit creates a WORKDIR's directory at once; buildah only when a later step runs in it, "
                  "so a WORKDIR no RUN/COPY follows leaves no directory")

CASES: Mapping[str, Case] = {
    "run_tree": Case(),
    "whiteouts": Case(),
    "replace_dir": Case(),
    "copy_rules": Case(expected={"layers": WORKDIR_LAYER}),
    "copy_chown_chmod": Case(expected={
        "/o/tree-750": ("COPY --chmod of a directory: BuildKit (fsutil copy) gives the destination directory it "
                        "creates the source directory's metadata with the mode applied; buildah leaves it 0755"),
    }),
    "copy_symlinks": Case(),
    "add_tar": Case(expected=dict.fromkeys(
        [f"/opt/owned/pkg{sub}" for sub in ("", "/bin", "/bin/tool", "/empty", "/etc", "/etc/conf", "/hard", "/link")],
        "ADD --chown of a local archive: BuildKit's untar gives every extracted entry the --chown owner; "
        "buildah 1.28 keeps the owners recorded in the archive")),
    "multistage": Case(),
    "config_fields": Case(expected={
        "config.Cmd": ("shell-form CMD after SHELL: BuildKit wraps it in the SHELL (/bin/sh -ec); "
                       "buildah 1.28 always uses /bin/sh -c"),
        "config.Env": ("ENV redefining PATH: BuildKit replaces the variable in place (PATH stays first); "
                       "buildah removes it and appends it after APP_HOME"),
        "layers": WORKDIR_LAYER + "; here no step follows, so buildah has none at all",
        "/opt": WORKDIR_UNUSED,
        "/opt/app": WORKDIR_UNUSED,
        "/opt/app/sub": WORKDIR_UNUSED,
    }),
    "heredoc": Case(expected={
        "layers": ("buildah 1.28 predates heredocs: Dockerfile.buildah spells the two COPY <<EOT steps as RUN "
                   "printf, with the same resulting files"),
    }),
    "run_mounts": Case(expected={
        "/scratch": ("buildah leaves the mount point it created for RUN --mount=type=tmpfs in the layer; BuildKit "
                     "removes the stubs it made for mounts after the step"),
        "/mnt": "as /scratch, for a cache mount whose target /mnt/again did not exist",
        "/var/cache/existing": ("buildah bug: after a cache mount over a directory that existed in the image, "
                                "the directory (and its file) is gone from buildah's image; BuildKit keeps it"),
        "/var/cache/existing/kept": "as /var/cache/existing",
    }),
    "dockerignore": Case(),
    "workdir_user": Case(expected={
        "layers": WORKDIR_LAYER,
        "/srv": ("buildah makes WORKDIR directories (parents too) as the USER of the step that first needs "
                 "them; BuildKit makes /srv as root at the first WORKDIR, before USER svc"),
        "/srv/rootmade": WORKDIR_UNUSED,
    }),
    "arm64_run": Case(platform="linux/arm64"),
    "dest_symlinks": Case(expected={
        "/filelink": ("COPY of a file onto a symlink to a file: BuildKit resolves the whole destination inside "
                      "the image (fsutil copy.Copy -> continuity fs.RootPath follows the last component too) and "
                      "replaces the link's target, keeping the link; buildah 1.28 replaces the link by the file"),
        "/real/file.txt": "as /filelink: BuildKit writes the new content here, buildah leaves it as it was",
    }),
    "dockerignore_exceptions": Case(expected={
        "/app/a/b": ("'a/b' then '!a': fsutil's walk (filter.go, patternmatcher MatchesUsingParentResults) skipped "
                     "'!a' at a/ and a/b tests only its own path, so BuildKit leaves a/b out; buildah 1.28 checks "
                     "a/b's parents against '!a' and re-includes it"),
        "/app/build/out": ("'build/**' then '!build/**/*.so': BuildKit's walk re-includes build/out/lib.so and sends "
                           "build/out for it; buildah 1.28 keeps the excluded parent's verdict and leaves both out"),
        "/app/build/out/lib.so": "as /app/build/out",
        "/b/out": "as /app/build/out, for COPY build /b/",
        "/b/out/lib.so": "as /app/build/out",
    }),
    "archive_symlinks": Case(),
    "args_env": Case(),
}


@dataclass(frozen=True)
class Outcome:
    """Both builds of one case, or the error that stopped either."""

    dockyard: Side | None
    buildah: Side | None
    base_history: tuple[dict[str, object], ...] = ()
    error: str = ""


def _build_case(name: str, case: Case, base: str, *, dockyard: Dockyard, buildah: Buildah,
                work: Path) -> Outcome:
    context = CASES_DIR / name
    ours = context / "Dockerfile"
    theirs = context / "Dockerfile.buildah"  # only where buildah cannot read our Dockerfile
    args = {"BASE": base}
    out = work / name
    out.mkdir()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        mine = pool.submit(dockyard.build, context, ours, platform=case.platform, build_args=args, work=out)
        other = pool.submit(buildah.build, context, theirs if theirs.exists() else ours,
                            platform=case.platform, build_args=args, work=out, name=name)
        errors = [str(f.exception()) for f in (mine, other) if f.exception() is not None]
        if errors:
            return Outcome(None, None, error="\n".join(errors))
    arch = case.platform.split("/")[1]
    config = json.loads(subprocess.run(
        ["skopeo", "inspect", "--config", "--tls-verify=false", "--override-arch", arch, f"docker://{base}"],
        capture_output=True, text=True, check=True, timeout=60).stdout)
    return Outcome(mine.result(), other.result(), base_history=tuple(config.get("history") or ()))


@pytest.fixture(scope="module")
def outcomes(busybox_base: str, tmp_path_factory: pytest.TempPathFactory,
             request: pytest.FixtureRequest) -> Iterator[dict[str, Outcome]]:
    """The selected cases (``-k`` narrows them) built up front, a few at a time: each build mostly
    waits on runc and on buildah's commits, so running cases side by side keeps the suite fast."""
    selected = {item.callspec.params["name"] for item in request.session.items
                if isinstance(item, pytest.Function) and item.module is request.module
                and hasattr(item, "callspec") and "name" in item.callspec.params}
    work = tmp_path_factory.mktemp("differential")
    dockyard = Dockyard(work / "dockyard")
    buildah = Buildah(work / "buildah")
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            futures = {name: pool.submit(_build_case, name, case, busybox_base, dockyard=dockyard, buildah=buildah,
                                       work=work)
                       for name, case in CASES.items() if name in selected}
            yield {name: f.result() for name, f in futures.items()}
    finally:
        buildah.destroy()


def _config_differences(ours: Mapping[str, object], theirs: Mapping[str, object]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in sorted(ours.keys() | theirs.keys()):
        a, b = ours.get(key), theirs.get(key)
        if key == "Labels":
            la = a if isinstance(a, dict) else {}
            lb = b if isinstance(b, dict) else {}
            for label in sorted(la.keys() | lb.keys()):
                if la.get(label) != lb.get(label):
                    out[f"config.Labels.{label}"] = f"dockyard {la.get(label)!r} != buildah {lb.get(label)!r}"
        elif a != b:
            out[f"config.{key}"] = f"dockyard {json.dumps(a)} != buildah {json.dumps(b)}"
    return out


def differences(ours: Side, theirs: Side, base_history: Sequence[Mapping[str, object]]) -> dict[str, str]:
    """Every way the two results differ, keyed as described in the module docstring. The
    entries inherited from the base image (``base_history``) must be kept exactly as they are,
    timestamps included, as BuildKit and buildah both do."""
    found = fstree.differences(ours.tree, theirs.tree)
    found.update(_config_differences(ours.image.config, theirs.image.config))
    if ours.image.layer_steps != theirs.image.layer_steps:
        found["layers"] = f"dockyard {list(ours.image.layer_steps)} != buildah {list(theirs.image.layer_steps)}"
    for who, side in (("dockyard", ours), ("buildah", theirs)):
        if side.image.layer_count != len(side.image.layer_steps):
            found["history"] = (f"{who}: {side.image.layer_count} layers but {len(side.image.layer_steps)} "
                                "non-empty history entries")
    inherited = list(base_history)
    for who, side in (("dockyard", ours), ("buildah", theirs)):
        if list(side.image.history[:len(inherited)]) != inherited:
            found[f"history.base.{who}"] = (f"{who} changed the base image's history entries: "
                                            f"{list(side.image.history[:len(inherited)])} != {inherited}")
    if ours.image.architecture != theirs.image.architecture:
        found["architecture"] = f"dockyard {ours.image.architecture} != buildah {theirs.image.architecture}"
    return found


def _final_stage_runs(name: str) -> bool:
    """Whether the last stage of the Dockerfile buildah builds has a RUN step."""
    theirs = CASES_DIR / name / "Dockerfile.buildah"
    lines = (theirs if theirs.exists() else CASES_DIR / name / "Dockerfile").read_text().splitlines()
    last_from = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    return any(line.upper().startswith("RUN ") for line in lines[last_from:])


@pytest.mark.parametrize("name", sorted(CASES))
def test_dockyard_and_buildah_agree(name: str, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[name]
    assert not outcome.error, f"case {name} did not build:\n{outcome.error}"
    assert outcome.dockyard is not None and outcome.buildah is not None
    found = differences(outcome.dockyard, outcome.buildah, outcome.base_history)
    expected = {**EVERY_CASE, **(EVERY_RUN_CASE if _final_stage_runs(name) else {}), **CASES[name].expected}
    unexplained = {k: v for k, v in found.items() if k not in expected}
    missing = sorted(k for k in expected if k not in found)
    report = "\n".join(f"  {k}: {v}" for k, v in unexplained.items())
    assert not unexplained, f"{name}: {len(unexplained)} unexplained difference(s):\n{report}"
    assert not missing, f"{name}: expected differences that no longer occur (update CASES): {missing}"


def test_every_case_directory_is_in_the_table() -> None:
    """A case directory without a table entry would silently never be compared."""
    on_disk = {p.name for p in CASES_DIR.iterdir() if (p / "Dockerfile").is_file()}
    assert on_disk == set(CASES)
    assert len(CASES) >= 10
