"""The OCI distribution client: talk to registries to push, pull, copy and inspect images.

Public API (what the build engine and library users call)::

    from dockyard.registry import Client
    with Client() as client:
        client.push("reg:5000/app:v1", index_desc, layout.store)             # blobs, manifests, index, tag
        image = client.pull("reg:5000/base:1", platform=Platform.parse("linux/arm64"))
        client.copy("src/app:v1", "dst/app:v1")

Modules: ``transport`` (one host: scheme, TLS, ping, retries), ``auth`` (challenges, tokens),
``keychain`` (docker config / credential helpers), ``hosts`` (registries.toml, certs.d),
``blobs`` and ``manifests`` (the Distribution API), ``errors`` (what failures become).
"""

from dockyard.registry.blobs import UploadOptions
from dockyard.registry.client import Client, PulledImage
from dockyard.registry.hosts import HostsConfig
from dockyard.registry.keychain import Credentials, Keychain
from dockyard.registry.retry import RetryPolicy
from dockyard.registry.transport import TransportOptions

__all__ = ["Client", "Credentials", "HostsConfig", "Keychain", "PulledImage", "RetryPolicy",
           "TransportOptions", "UploadOptions"]
