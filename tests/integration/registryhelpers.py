"""Helpers shared by the registry integration tests: clients for the rig's registries, skopeo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from dockyard.imagetools.importer import ImportOptions, import_index
from dockyard.oci.descriptor import Descriptor
from dockyard.platform import Platform
from dockyard.registry import Client, Credentials, Keychain, TransportOptions, UploadOptions
from dockyard.store.content import ContentStore
from tests.rig.registries import TestRegistry


def client_for(reg: TestRegistry, *, transport: TransportOptions | None = None,
               upload: UploadOptions | None = None, concurrency: int = 4) -> Client:
    """A client holding the registry's credentials (if it has any)."""
    chain = Keychain()
    if reg.username and reg.password:
        chain = chain.with_static(reg.address, Credentials(reg.username, reg.password))
    return Client(keychain=chain, transport=transport, upload=upload, concurrency=concurrency)


def skopeo(*args: str, reg: TestRegistry | None = None) -> str:
    argv = ["skopeo", *args]
    if reg is not None and reg.username:
        flag = "--creds" if args[0] == "inspect" else "--dest-creds"
        argv[2:2] = [flag, f"{reg.username}:{reg.password}"]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def skopeo_raw(ref: str, reg: TestRegistry | None = None) -> bytes:
    argv = ["skopeo", "inspect", "--raw", "--tls-verify=false"]
    if reg is not None and reg.username:
        argv += ["--creds", f"{reg.username}:{reg.password}"]
    return subprocess.run([*argv, f"docker://{ref}"], check=True, capture_output=True).stdout


def busybox_index(rootfs: dict[str, Path], store: ContentStore | None = None) -> tuple[ContentStore, Descriptor]:
    store = store or ContentStore.default()
    pairs = [(Platform.parse("linux/amd64"), rootfs["amd64"]), (Platform.parse("linux/arm64"), rootfs["arm64"])]
    return store, import_index(pairs, store, options=ImportOptions(created="2023-11-14T22:13:20Z"))


def dockyard(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess (it reads DOCKYARD_ROOT, DOCKER_CONFIG from the test's env)."""
    proc = subprocess.run([sys.executable, "-m", "dockyard", *args], input=stdin, capture_output=True, text=True,
                          check=False, timeout=240)
    if check and proc.returncode != 0:
        raise AssertionError(f"dockyard {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def loads(data: str | bytes) -> Any:
    return json.loads(data)
