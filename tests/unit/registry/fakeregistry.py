"""An in-memory Distribution-like registry behind httpx.MockTransport, with scripted faults.

Unit tests use it to drive the client through uploads, resumes, token renewals and error
mapping without sockets; the integration tests use the real registry.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

Fault = Callable[[httpx.Request], httpx.Response | None]


@dataclass
class FakeRegistry:
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[tuple[str, str], tuple[str, bytes]] = field(default_factory=dict)
    uploads: dict[str, bytearray] = field(default_factory=dict)
    token: str | None = None  # when set: Bearer auth required, this is the valid token
    faults: list[Fault] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    tokens_issued: int = 0
    honour_range: bool = True
    referrers_api: bool = False  # OCI 1.1: GET /v2/REPO/referrers/DIGEST and OCI-Subject on PUT

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append(f"{request.method} {request.url.path}")
        for fault in list(self.faults):
            response = fault(request)
            if response is not None:
                return response
        if request.url.host == "auth.test":
            self.tokens_issued += 1
            return httpx.Response(200, json={"token": self.token, "expires_in": 300})
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401, headers={"WWW-Authenticate":
                                                'Bearer realm="https://auth.test/token",service="fake"'},
                                  json={"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})
        path = request.url.path
        if path == "/v2/":
            return httpx.Response(200)
        m = re.match(r"^/v2/(.+)/blobs/uploads/([^/]*)$", path)
        if m:
            return self._upload(request, m.group(1), m.group(2))
        m = re.match(r"^/v2/(.+)/blobs/(sha256:[a-f0-9]{64})$", path)
        if m:
            data = self.blobs.get(m.group(2))
            if data is None:
                return httpx.Response(404, json={"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown"}]})
            rng = request.headers.get("range", "")
            if rng.startswith("bytes=") and request.method == "GET" and self.honour_range:
                start = int(rng[6:].rstrip("-"))
                return httpx.Response(206, stream=httpx.ByteStream(data[start:]),
                                      headers={"Content-Length": str(len(data) - start)})
            return httpx.Response(200, stream=httpx.ByteStream(b"" if request.method == "HEAD" else data),
                                  headers={"Content-Length": str(len(data))})
        m = re.match(r"^/v2/(.+)/manifests/(.+)$", path)
        if m:
            return self._manifest(request, m.group(1), m.group(2))
        m = re.match(r"^/v2/(.+)/referrers/(sha256:[a-f0-9]{64})$", path)
        if m and self.referrers_api:
            return self._referrers(request, m.group(1), m.group(2))
        return httpx.Response(404)

    def _referrers(self, request: httpx.Request, repo: str, digest: str) -> httpx.Response:
        """The distribution spec's referrers listing: every manifest whose subject is ``digest``."""
        wanted = request.url.params.get("artifactType")
        entries = []
        for (where, ident), (media_type, data) in sorted(self.manifests.items()):
            doc = json.loads(data)
            if where != repo or not ident.startswith("sha256:") or doc.get("subject", {}).get("digest") != digest:
                continue
            kind = doc.get("artifactType") or doc.get("config", {}).get("mediaType")
            if wanted and kind != wanted:
                continue
            entry = {"mediaType": media_type, "digest": ident, "size": len(data), "artifactType": kind}
            if doc.get("annotations"):
                entry["annotations"] = doc["annotations"]
            entries.append(entry)
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}
        headers = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
        if wanted:
            headers["OCI-Filters-Applied"] = "artifactType"
        return httpx.Response(200, content=json.dumps(index).encode(), headers=headers)

    def _upload(self, request: httpx.Request, repo: str, upload_id: str) -> httpx.Response:
        if request.method == "POST":
            mount = request.url.params.get("mount")
            if mount and mount in self.blobs:
                return httpx.Response(201, headers={"Location": f"/v2/{repo}/blobs/{mount}"})
            new = uuid.uuid4().hex
            self.uploads[new] = bytearray()
            return httpx.Response(202, headers={"Location": f"/v2/{repo}/blobs/uploads/{new}?_state=x"})
        buf = self.uploads.get(upload_id)
        if buf is None:
            return httpx.Response(404, json={"errors": [{"code": "BLOB_UPLOAD_UNKNOWN", "message": "unknown"}]})
        here = {"Location": f"/v2/{repo}/blobs/uploads/{upload_id}?_state=y",
                "Range": f"0-{len(buf) - 1}"}
        if request.method == "GET":
            return httpx.Response(204, headers=here)
        if request.method == "PATCH":
            start, _, _end = request.headers["content-range"].partition("-")
            if int(start) != len(buf):
                return httpx.Response(416, json={"errors": [{"code": "BLOB_UPLOAD_INVALID", "message": "range"}]})
            buf += request.read()
            here["Range"] = f"0-{len(buf) - 1}"
            return httpx.Response(202, headers=here)
        if request.method == "PUT":  # the body, if any, is the upload's last chunk (the spec's monolithic PUT)
            buf += request.read()
            digest = request.url.params["digest"]
            if "sha256:" + hashlib.sha256(bytes(buf)).hexdigest() != digest:
                return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID", "message": "mismatch"}]})
            self.blobs[digest] = bytes(buf)
            del self.uploads[upload_id]
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        return httpx.Response(405)

    def _manifest(self, request: httpx.Request, repo: str, ident: str) -> httpx.Response:
        if request.method == "PUT":
            data = request.read()
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            media_type = request.headers["content-type"]
            doc = json.loads(data)
            for part in [doc.get("config"), *doc.get("layers", [])]:
                if part and part["digest"] not in self.blobs:
                    return httpx.Response(400, json={"errors": [{"code": "MANIFEST_BLOB_UNKNOWN",
                                                                 "message": "blob unknown"}]})
            self.manifests[(repo, ident)] = (media_type, data)
            self.manifests[(repo, digest)] = (media_type, data)
            headers = {"Docker-Content-Digest": digest}
            if self.referrers_api and doc.get("subject"):
                headers["OCI-Subject"] = doc["subject"]["digest"]
            return httpx.Response(201, headers=headers)
        found = self.manifests.get((repo, ident))
        if found is None:
            return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})
        media_type, data = found
        return httpx.Response(200, content=b"" if request.method == "HEAD" else data,
                              headers={"Content-Type": media_type, "Content-Length": str(len(data)),
                                       "Docker-Content-Digest": "sha256:" + hashlib.sha256(data).hexdigest()})
