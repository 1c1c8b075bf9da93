"""The OCI distribution client: talk to registries to push, pull, copy and inspect images.

Public API (what the build engine and library users call)::

    from dockyard.registry import Client
    with Client() as client:
        client.push("reg:5000/app:v1", index_desc, layout.store)             # blobs, manifests, index, tag
        image = client.pull("reg:5000/base:1", platform=Platform.parse("linux/arm64"))  # an oci.image.PlatformImage
        client.copy("src/app:v1", "dst/app:v1")

Modules: ``transport`` (one host: scheme, TLS, ping, retries), ``auth`` (challenges, tokens),
``keychain`` (docker config / credential helpers), ``hosts`` (registries.toml, certs.d),
``blobs`` and ``manifests`` (the Distribution API), ``errors`` (what failures become).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING


class _WithoutHttpxCli:
    """An import finder that turns down ``httpx._main`` once, then takes itself off ``sys.meta_path``.

    httpx's ``__init__`` imports its command-line client (``httpx._main``: rich, pygments and
    click, most of httpx's import time) only to offer ``httpx.main``, and keeps a stub ``main``
    when that import fails (its own ``except ImportError``). Python offers no way to leave out one
    submodule of another package's ``__init__`` but to make its import fail; a finder that does it
    for that one name, once, leaves nothing behind in the process once httpx is loaded (unlike a
    ``None`` entry in ``sys.modules``, which stays and breaks a later ``import httpx._main``).
    It is installed only when httpx is not loaded yet, by this package, which every dockyard
    module that imports httpx sits below. The one visible effect: a program that imports httpx
    after dockyard.registry gets httpx's stub ``httpx.main`` (which is httpx's own fallback).
    """

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if name != "httpx._main":
            return None
        with contextlib.suppress(ValueError):  # another thread got here first
            sys.meta_path.remove(self)
        raise ModuleNotFoundError("dockyard does not load httpx's command-line client", name=name)


if "httpx" not in sys.modules:
    sys.meta_path.insert(0, _WithoutHttpxCli())

if TYPE_CHECKING:
    from dockyard.registry.client import Client
    from dockyard.registry.hosts import HostsConfig
    from dockyard.registry.keychain import Credentials, Keychain
    from dockyard.registry.options import TransportOptions, UploadOptions
    from dockyard.registry.retry import RetryPolicy

# Re-exported lazily (PEP 562): importing one submodule (``registry.hosts`` for a builder's
# config) must not load the others, nor the HTTP library behind them.
_EXPORTS = {"Client": "client", "HostsConfig": "hosts", "Credentials": "keychain",
            "Keychain": "keychain", "RetryPolicy": "retry", "TransportOptions": "options",
            "UploadOptions": "options"}

__all__ = ["Client", "Credentials", "HostsConfig", "Keychain", "RetryPolicy",
           "TransportOptions", "UploadOptions"]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
