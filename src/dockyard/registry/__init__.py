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

import importlib
import sys
from typing import TYPE_CHECKING

# httpx's __init__ imports its own command-line client (httpx._main, with rich, pygments and
# click: most of httpx's import time) only to offer ``httpx.main``, which dockyard never calls.
# A None entry makes that one import fail at once and httpx keeps its stub ``main`` (its own
# ``except ImportError`` branch). Every module here that imports httpx is below this package.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

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
