"""Registry failures as :class:`~dockyard.errors.RegistryError` subclasses, each with a hint.

The Distribution API answers errors as ``{"errors": [{"code", "message", "detail"}]}``; the
first code picks the subclass, the message is kept (it is the registry's own words) and the
hint says what a user can do. Network failures name the host and port they could not reach.
Nothing here ever includes request headers, so credentials and tokens cannot leak into errors.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from dockyard.errors import RegistryError

if TYPE_CHECKING:  # httpx is imported only where a registry is contacted (tests/unit/layering)
    import httpx


class AuthenticationError(RegistryError):
    """UNAUTHORIZED: no credentials, wrong ones, or a token the registry refused."""


class AccessDeniedError(RegistryError):
    """DENIED: authenticated, but not allowed to do this on this repository."""


class NotFoundError(RegistryError):
    """NAME_UNKNOWN, MANIFEST_UNKNOWN, BLOB_UNKNOWN: the repository, tag or blob does not exist."""


class ManifestInvalidError(RegistryError):
    """MANIFEST_INVALID and friends: the registry refused a manifest we sent."""


class BlobUploadError(RegistryError):
    """BLOB_UPLOAD_INVALID, BLOB_UPLOAD_UNKNOWN, DIGEST_INVALID, SIZE_INVALID: an upload went wrong."""


class RateLimitedError(RegistryError):
    """TOOMANYREQUESTS (or HTTP 429) after every retry."""


class UnreachableError(RegistryError):
    """The registry could not be reached: refused, reset, TLS failure or timeout."""


class ServerError(RegistryError):
    """The registry kept answering 5xx after every retry."""


_BY_CODE: dict[str, tuple[type[RegistryError], str]] = {
    "UNAUTHORIZED": (AuthenticationError, "run: dockyard login {host}"),
    "DENIED": (AccessDeniedError, "the account lacks access to this repository; check its permissions"),
    "NAME_UNKNOWN": (NotFoundError, "check the repository name"),
    "NAME_INVALID": (NotFoundError, "check the repository name"),
    "MANIFEST_UNKNOWN": (NotFoundError, "check the tag or digest"),
    "BLOB_UNKNOWN": (NotFoundError, "the registry lost a blob; push the image again"),
    "MANIFEST_INVALID": (ManifestInvalidError, "the registry refused the manifest; it may not support its type"),
    "MANIFEST_BLOB_UNKNOWN": (ManifestInvalidError, "a blob the manifest needs is missing; push again"),
    "MANIFEST_UNVERIFIED": (ManifestInvalidError, "the registry refused the manifest"),
    "TAG_INVALID": (ManifestInvalidError, "check the tag"),
    "BLOB_UPLOAD_INVALID": (BlobUploadError, "the upload was interrupted or refused; retry the push"),
    "BLOB_UPLOAD_UNKNOWN": (BlobUploadError, "the registry forgot the upload; retry the push"),
    "DIGEST_INVALID": (BlobUploadError, "the bytes sent did not match their digest; retry the push"),
    "SIZE_INVALID": (BlobUploadError, "the bytes sent did not match their size; retry the push"),
    "TOOMANYREQUESTS": (RateLimitedError, "the registry rate-limits this client; wait and retry, or log in"),
    "UNSUPPORTED": (RegistryError, "the registry does not support this operation"),
}
_BY_STATUS: dict[int, tuple[str, str]] = {
    401: ("UNAUTHORIZED", "authentication required"),
    403: ("DENIED", "access denied"),
    404: ("NAME_UNKNOWN", "not found"),
    429: ("TOOMANYREQUESTS", "too many requests"),
}


def from_response(response: httpx.Response, *, registry: str, what: str) -> RegistryError:
    """The error for a failed ``response``; ``what`` names the operation (``push blob sha256:..``)."""
    status = response.status_code
    code, message = None, ""
    try:
        body = json.loads(response.content or b"null")
        first = body["errors"][0]
        code, message = str(first.get("code", "")), str(first.get("message", ""))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        pass
    if not code and status in _BY_STATUS:
        code, message = _BY_STATUS[status]
    if code in _BY_CODE:
        cls, hint = _BY_CODE[code]
        return cls(f"{what}: {registry} answered {status} {code}: {message}".rstrip(": "),
                   registry=registry, code=code, status=status, hint=hint.format(host=registry))
    if status >= 500:
        return ServerError(f"{what}: {registry} answered {status} {response.reason_phrase}",
                           registry=registry, code=code, status=status,
                           hint="the registry is failing; retry later")
    detail = f" {code}: {message}" if code else f" {response.reason_phrase}"
    return RegistryError(f"{what}: {registry} answered {status}{detail}", registry=registry, code=code,
                         status=status)


def is_tls_failure(exc: Exception) -> bool:
    """True when a transport error came from the TLS handshake (bad CA, wrong protocol)."""
    text = str(exc)
    return "SSL" in text or "certificate" in text.lower() or "TLS" in text


def from_transport(exc: httpx.TransportError, *, registry: str, what: str) -> UnreachableError:
    """A network failure, naming the host:port and the kind of failure (never the URL's query)."""
    import httpx  # loaded already: ``exc`` is one of its errors

    if isinstance(exc, httpx.TimeoutException):
        kind, hint = "timed out", "the registry is slow or unreachable; check the address and network"
    elif is_tls_failure(exc):
        kind = "TLS failed"
        hint = (f"put the registry's CA in /etc/docker/certs.d/{registry}/ca.crt, or mark it insecure "
                "in registries.toml if it serves plain HTTP")
    elif isinstance(exc, httpx.ConnectError):
        kind, hint = "connection refused or failed", "check the registry address and that it is running"
    else:
        kind, hint = "connection broke", "the network or the registry dropped the connection; retry"
    return UnreachableError(f"{what}: {registry}: {kind} ({type(exc).__name__})", registry=registry,
                            hint=hint)
