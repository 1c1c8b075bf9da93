"""Issues 13 and 15 through the Python API alone (no CLI): ``dockyard.build(tags_from_git=True,
push=True)`` in a repository tagged v1.2.3 with a GitHub-like environment pushes 1.2.3, 1.2, 1,
latest and sha-XXXXXXX to a private TLS registry (its CA given as ``registry_ca``, a robot user
logged in with ``dockyard.login``) and to a plain loopback one; skopeo checks the tags, the
digests and the OCI labels. Then ``dockyard.sign`` and ``dockyard.verify`` (openssl checks the
signature independently), a typed ``VerificationError`` once the manifest under the tag is
replaced, and ``dockyard.imagetools.create(from_=...)`` mirroring the release unchanged."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import dockyard
from dockyard import progress
from tests.integration.release.releaserig import (
    ca_dir,
    commit_and_tag,
    github_env,
    labels,
    list_tags,
    make_repo,
    raw_bytes,
    raw_digest,
)
from tests.rig import registries
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration
PASSWORD = "pw-api-7c1e"


def test_release_tags_from_git_then_sign_verify_and_mirror(
    busybox_base: str, registry: TestRegistry, tls_registry: TestRegistry, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tls_registry.ca is not None
    ca = {tls_registry.address: tls_registry.ca}
    dockyard.login(tls_registry.address, username=registries.ROBOT_USER, password=registries.ROBOT_PASSWORD,
                   registry_ca=ca)
    repo = make_repo(tmp_path / "app")
    sha = commit_and_tag(repo, "v1.2.3")
    for key, value in github_env(repo, "v1.2.3").items():
        monkeypatch.setenv(key, value)
    tls_name, plain_name = f"{tls_registry.address}/project/api-app", f"{registry.address}/api/release-app"
    events: list[progress.Event] = []
    outcome = dockyard.build(repo, platforms=["linux/amd64", "linux/arm64"], build_args={"BASE": busybox_base},
                             tags=[tls_name, plain_name], tags_from_git=True, push=True, registry_ca=ca,
                             metadata_file=tmp_path / "meta.json", progress=events.append,
                             annotations=["index:org.opencontainers.image.title=api-app"])

    expected = {"1.2.3", "1.2", "1", "latest", f"sha-{sha[:7]}"}
    certs = ca_dir(tls_registry, tmp_path / "skopeo-certs")
    digest = outcome.digest
    assert list_tags(tls_registry, "project/api-app", certs) == expected
    assert list_tags(registry, "api/release-app") == expected
    for tag in expected:
        assert raw_digest(tls_registry, f"{tls_name}:{tag}", certs) == digest
        assert raw_digest(registry, f"{plain_name}:{tag}") == digest
    for arch in ("amd64", "arm64"):
        got = labels(registry, f"{plain_name}:1.2.3", arch)
        assert got["org.opencontainers.image.version"] == "1.2.3"
        assert got["org.opencontainers.image.revision"] == sha
        assert got["org.opencontainers.image.source"] == "https://github.com/octo/app"
        assert labels(tls_registry, f"{tls_name}:latest", arch, certs) == got
    index = json.loads(raw_bytes(registry, f"{plain_name}:1"))
    assert index["annotations"]["org.opencontainers.image.version"] == "1.2.3"
    assert index["annotations"]["org.opencontainers.image.title"] == "api-app"  # the given annotation wins
    release = outcome.metadata["dockyard.release"]
    assert release["version"] == "1.2.3" and f"{plain_name}:sha-{sha[:7]}" in release["tags"]
    assert json.loads((tmp_path / "meta.json").read_text())["dockyard.release"] == release
    pushed = [e.message for e in events if isinstance(e, progress.Notice)]
    assert any(line.startswith("pushed api/release-app@") and "1.2.3" in line for line in pushed), pushed
    # what dockyard.meta says a release of this commit is called is what was pushed
    assert set(dockyard.meta(repo, tag_specs=["type=semver,pattern={{version}}", "type=sha"]).tag_names) <= expected
    _sign_verify_mirror_and_tamper(registry, plain_name, digest, index, tmp_path)


def _sign_verify_mirror_and_tamper(registry: TestRegistry, plain_name: str, digest: str, index: dict[str, Any],
                                   tmp_path: Path) -> None:
    # sign and verify through the API, the signature checked by openssl on its own
    keys = dockyard.generate_key_pair(output_key_prefix=tmp_path / "cosign", password=PASSWORD)
    ref = f"{plain_name}:1.2.3"
    signed = dockyard.sign(ref, key=keys.private_key, password=PASSWORD)
    platforms = [m["digest"] for m in index["manifests"]]
    assert signed.name == plain_name and signed.digests == (digest, *platforms)
    verified = dockyard.verify(ref, key=keys.public_key)
    assert verified.checked[0] == ("index", digest)
    assert {what for what, _ in verified.checked} == {"index", "linux/amd64", "linux/arm64"}
    top = digest.removeprefix("sha256:")
    layer = json.loads(raw_bytes(registry, f"{plain_name}:sha256-{top}.sig"))["layers"][0]
    payload = subprocess.run(["curl", "-fsS", f"http://{registry.address}/v2/api/release-app/blobs/{layer['digest']}"],
                             check=True, capture_output=True).stdout
    (tmp_path / "payload").write_bytes(payload)
    (tmp_path / "payload.sig").write_bytes(base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"]))
    checked = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(keys.public_key), "-signature",
                              str(tmp_path / "payload.sig"), str(tmp_path / "payload")], capture_output=True, text=True)
    assert checked.returncode == 0 and "Verified OK" in checked.stdout
    with pytest.raises(dockyard.VerificationError, match=r"no https://slsa\.dev/provenance/v1 attestation") as missing:
        dockyard.verify(ref, key=keys.public_key, attestation_type="provenance")
    assert missing.value.hint

    # a mirror of the release, unchanged (same digest), through imagetools.create(from_=...)
    mirrored = dockyard.imagetools.create(from_=ref, tags=[f"{registry.address}/api/mirror:1.2.3"])
    assert mirrored.digest == digest and mirrored.index is None
    assert raw_digest(registry, f"{registry.address}/api/mirror:1.2.3") == digest

    # another manifest under the tag (one annotation changed): verify raises a typed error naming it
    doc = dict(index, annotations={**index["annotations"], "org.opencontainers.image.title": "altered"})
    altered = json.dumps(doc, separators=(",", ":")).encode()
    subprocess.run(["curl", "-fsS", "-X", "PUT", "-H", f"Content-Type: {doc['mediaType']}", "--data-binary", "@-",
                    f"http://{registry.address}/v2/api/release-app/manifests/1.2.3"], input=altered, check=True,
                   capture_output=True)
    with pytest.raises(dockyard.VerificationError, match="no signature") as tampered:
        dockyard.verify(ref, key=keys.public_key)
    assert isinstance(tampered.value, dockyard.DockyardError) and plain_name in str(tampered.value)
    assert dockyard.verify(f"{plain_name}:1", key=keys.public_key).checked[0] == ("index", digest)
