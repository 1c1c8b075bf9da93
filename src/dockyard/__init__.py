"""dockyard: build multi-platform container images without a daemon, and push them as one index.

The public Python API (docs/api.md)::

    import dockyard

    result = dockyard.build(".", platforms=["linux/amd64", "linux/arm64"],
                            tags=["registry.example/app:1.2.3"], push=True,
                            build_args={"VERSION": "1.2.3"}, progress=print)
    result.digest, result.platforms, result.metadata
    dockyard.imagetools.inspect("registry.example/app:1.2.3")
    dockyard.imagetools.create(["registry.example/app:1.2.3"], tags=["registry.example/app:latest"])
    dockyard.login("registry.example", username="ci", password=token)
    dockyard.build(".", tags=["registry.example/app"], tags_from_git=True, push=True)  # 1.2.3, 1.2, 1, latest
    dockyard.meta(".").tags
    dockyard.sign("registry.example/app:1.2.3", key="cosign.key")
    dockyard.verify("registry.example/app:1.2.3", key="cosign.pub")
    dockyard.builders.create(name="ci", platforms=["linux/amd64", "linux/arm64"], use=True)

Everything in ``__all__`` is the API; every other module is internal. Errors are
:class:`DockyardError` subclasses with a ``.hint``. The CLI (``dockyard.cli``) is a thin layer
over the same calls. This module stays cheap to import because every CLI start imports it:
everything but the errors and ``Platform`` loads on first use (``cryptography`` only with signing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.errors import (
    ArgumentError,
    BuildError,
    DockerfileError,
    DockyardError,
    GateError,
    RegistryError,
    SigningKeyError,
    UsageError,
    VerificationError,
)
from dockyard.platform import Platform

if TYPE_CHECKING:
    from dockyard import builders, imagetools, progress
    from dockyard.api.build import BuildOutcome, build
    from dockyard.api.login import login, logout
    from dockyard.api.meta import MetaOutcome, meta
    from dockyard.api.signing import KeyPairFiles, Signed, Verified, generate_key_pair, sign, verify

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "BuildError",
    "BuildOutcome",
    "DockerfileError",
    "DockyardError",
    "GateError",
    "KeyPairFiles",
    "MetaOutcome",
    "Platform",
    "RegistryError",
    "Signed",
    "SigningKeyError",
    "UsageError",
    "VerificationError",
    "Verified",
    "__version__",
    "build",
    "builders",
    "generate_key_pair",
    "imagetools",
    "login",
    "logout",
    "meta",
    "progress",
    "sign",
    "verify",
]

_LAZY = {"build": "dockyard.api.build", "BuildOutcome": "dockyard.api.build", "login": "dockyard.api.login",
         "logout": "dockyard.api.login", "meta": "dockyard.api.meta", "MetaOutcome": "dockyard.api.meta"}
_LAZY.update(dict.fromkeys(("sign", "verify", "generate_key_pair", "Signed", "Verified", "KeyPairFiles"),
                           "dockyard.api.signing"))


def __getattr__(name: str) -> Any:
    """Load the API's functions and the ``builders``/``imagetools``/``progress`` modules on first use."""
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in ("builders", "imagetools", "progress"):
        return importlib.import_module(f"dockyard.{name}")
    raise AttributeError(f"module 'dockyard' has no attribute {name!r}")
