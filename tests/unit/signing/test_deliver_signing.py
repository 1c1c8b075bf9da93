"""build --sign: delivery signs by digest after the image is in the registry and before any tag moves."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from dockyard.errors import UsageError
from dockyard.exporters import parse_outputs
from dockyard.oci.image import load_image
from dockyard.phases.deliver import Delivery, deliver
from dockyard.phases.result import BuildResult
from dockyard.platform import Platform
from dockyard.signing import bundle, keys, request
from dockyard.store.content import ContentStore
from tests.unit.attest.test_storage import _client, _image
from tests.unit.registry.fakeregistry import FakeRegistry


def test_signatures_are_written_before_the_tag(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    amd64 = Platform("linux", "amd64")
    image = _image(store, amd64)
    result = BuildResult(descriptor=image, images={amd64: load_image(store, image)}, content=store, ran=0, cached=0)
    fake = FakeRegistry()
    key = ec.generate_private_key(ec.SECP256R1())
    outputs = parse_outputs((), tags=("reg.test/team/app:1.0",), push=True, load=False)
    lines: list[str] = []
    with _client(fake) as client:
        deliver(result, Delivery(outputs=outputs, tags=("reg.test/team/app:1.0",), sign_key=key), client=client,
                report=lines.append)
    puts = [entry for entry in fake.log if entry.startswith("PUT /v2/team/app/manifests/")]
    signature = f"PUT /v2/team/app/manifests/sha256-{image.digest.hex}.sig"
    assert signature in puts and "PUT /v2/team/app/manifests/1.0" in puts
    assert puts.index(signature) < puts.index("PUT /v2/team/app/manifests/1.0")
    assert f"signed team/app@{image.digest}" in lines


def test_bundle_signatures_are_referrers_pushed_before_the_tag(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    amd64 = Platform("linux", "amd64")
    image = _image(store, amd64)
    result = BuildResult(descriptor=image, images={amd64: load_image(store, image)}, content=store, ran=0, cached=0)
    fake = FakeRegistry(referrers_api=True)
    key = ec.generate_private_key(ec.SECP256R1())
    outputs = parse_outputs((), tags=("reg.test/team/app:1.0",), push=True, load=False)
    with _client(fake) as client:
        deliver(result, Delivery(outputs=outputs, tags=("reg.test/team/app:1.0",), sign_key=key,
                                 sign_format="bundle"), client=client)
        (referrer,) = client.referrers("reg.test/team/app", image.digest, artifact_type=bundle.MEDIA_TYPE)
    puts = [entry for entry in fake.log if entry.startswith("PUT /v2/team/app/manifests/")]
    assert f"PUT /v2/team/app/manifests/{referrer.digest}" in puts
    assert puts.index(f"PUT /v2/team/app/manifests/{referrer.digest}") < puts.index("PUT /v2/team/app/manifests/1.0")
    assert not any(p.endswith(".sig") for p in puts)


def test_sign_spec_format(tmp_path: Path) -> None:
    pair = keys.generate(b"")
    (tmp_path / "k").write_bytes(pair.private_pem)
    assert request.parse(f"key={tmp_path / 'k'}", password=b"").form == "classic"
    assert request.parse(f"key={tmp_path / 'k'},format=bundle", password=b"").form == "bundle"
    with pytest.raises(UsageError, match="invalid --sign"):
        request.parse(f"key={tmp_path / 'k'},format=notary", password=b"")
