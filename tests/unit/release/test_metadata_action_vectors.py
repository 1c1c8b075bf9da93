"""docker/metadata-action's own tag vectors, run through dockyard.release.meta.

The cases in metadata_action_vectors.json were taken from the describe blocks null, push, tag,
latest, pr, schedule, release and raw of __tests__/meta.test.ts in docker/metadata-action
(commit dc80280), each with the GITHUB_REF/GITHUB_SHA/GITHUB_EVENT_NAME of its fixture .env and
the fields of its event payload that the computation reads (repository.default_branch, base_ref,
number, pull_request.base.ref). As there, the clock and the commit date are 2020-01-10T00:30:00Z, and the repository's
default branch (repo.json) is ``master``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from dockyard.release.gitcontext import from_github
from dockyard.release.meta import compute

VECTORS = json.loads((Path(__file__).parent / "metadata_action_vectors.json").read_text())
NOW = dt.datetime(2020, 1, 10, 0, 30, tzinfo=dt.UTC)


def _payload(case: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {"repository": {"default_branch": case["default_branch"] or "master"}}
    if case["base_ref"]:
        payload["base_ref"] = case["base_ref"]
    if case["pr_base_ref"]:
        payload["pull_request"] = {"base": {"ref": case["pr_base_ref"]}}
    if case["number"]:
        payload["number"] = case["number"]
    return payload


@pytest.mark.parametrize("case", VECTORS, ids=[c["name"] for c in VECTORS])
def test_vector(case: dict[str, Any]) -> None:
    env = {"GITHUB_REF": case["ref"], "GITHUB_SHA": case["sha"], "GITHUB_EVENT_NAME": case["event"]}
    context = from_github(env, payload=_payload(case))
    context = type(context)(**{**context.__dict__, "commit_date": NOW})
    meta = compute(context, specs=case["tags"], flavor=case["flavor"], images=case["images"], now=NOW, env={})
    assert meta.version.main == case["version"]["main"]
    assert list(meta.version.partial) == case["version"]["partial"]
    assert meta.version.latest == case["version"]["latest"]
    assert meta.tags == case["expected"]
