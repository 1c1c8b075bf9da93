"""Tags are remembered per build, not per client (issue 17 review): a client made ``for_build``
resolves each tag once and sees its own pushes; a plain client, and the next build, ask again.

Against the in-memory registry, whose request log counts the HEADs.
"""

from __future__ import annotations

from pathlib import Path

from dockyard.registry import Client, HostsConfig, Keychain, TransportOptions
from tests.unit.registry.fakeregistry import FakeRegistry
from tests.unit.registry.test_client_faults import HOST, _image


def _heads(fake: FakeRegistry) -> int:
    return fake.log.count("HEAD /v2/app/manifests/v1")


def test_a_build_resolves_a_tag_once_and_the_next_build_sees_it_move(tmp_path: Path) -> None:
    fake = FakeRegistry()
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old_store, old = _image(tmp_path / "old")
    new_store, new = _image(tmp_path / "new")
    with Client(hosts=HostsConfig(), keychain=Keychain(), transport=TransportOptions(transport=fake.transport())) \
            as client:
        client.push(f"{HOST}/app:v1", old, old_store)
        build = client.for_build()
        assert build.for_build() is build  # the CLI's check and the build it precedes share one
        assert [build.resolve(f"{HOST}/app:v1").digest for _ in range(3)] == [old.digest] * 3
        assert _heads(fake) == 1
        client.push(f"{HOST}/app:v1", new, new_store)  # the tag moves outside this build
        assert build.resolve(f"{HOST}/app:v1").digest == old.digest  # one digest per build
        assert client.resolve(f"{HOST}/app:v1").digest == new.digest  # a plain client asks each time
        assert client.for_build().resolve(f"{HOST}/app:v1").digest == new.digest  # so does the next build
        assert _heads(fake) == 3
        build.push(f"{HOST}/app:v1", old, old_store)
        heads = _heads(fake)
        assert build.resolve(f"{HOST}/app:v1").digest == old.digest  # what the build set, without asking
        assert _heads(fake) == heads
        build.close()  # a view leaves the shared sessions open
        assert client.resolve(f"{HOST}/app:v1").digest == old.digest
