"""Blob transfer: existence checks, cross-repository mounts, resumable chunked uploads, downloads.

The upload sequence is the one every registry accepts (Distribution, Harbor, Artifactory,
ECR, GCR): ``POST`` to open an upload, ``PATCH`` chunks with ``Content-Range``, ``PUT
?digest=`` to commit. Each chunk streams from disk (1 MiB reads), so memory stays flat. When a
chunk fails (reset, timeout, 5xx, 429) we ask the registry how much it kept (``GET`` on the
upload gives ``Range: 0-N``) and resume from there; an upload the registry forgot is restarted.
A blob up to ``UploadOptions.whole_put_max`` (one chunk, 64 MiB by default) skips the PATCH: its
bytes go in the committing ``PUT`` (the spec's monolithic POST-then-PUT, what containerd does for
every blob); a failed one is sent again whole in a new upload.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from urllib.parse import urljoin

import httpx

from dockyard import cancel
from dockyard.digest import CHUNK, Digest
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.source import ContentSource
from dockyard.registry import errors
from dockyard.registry.auth import scope_for
from dockyard.registry.options import UploadOptions
from dockyard.registry.transport import Retryable, Session
from dockyard.store.content import Blob, ContentStore

_DEFAULT_UPLOAD = UploadOptions()


def _push_scopes(repository: str, *extra_pull: str) -> list[str]:
    return [scope_for(repository, "pull,push"), *(scope_for(r, "pull") for r in extra_pull)]


def exists(session: Session, repository: str, digest: Digest, *, push: bool = False) -> bool:
    """HEAD the blob: True when the repository has it."""
    scopes = _push_scopes(repository) if push else [scope_for(repository, "pull")]
    response = session.request("HEAD", f"/v2/{repository}/blobs/{digest}", scopes=scopes,
                               what=f"check blob {digest.short}", expect=(200, 404))
    return response.status_code == 200


def _location(response: httpx.Response) -> str:
    location = response.headers.get("location")
    if not location:
        raise errors.BlobUploadError(f"{response.request.url.netloc.decode()} answered an upload without Location",
                                     registry=response.request.url.netloc.decode())
    return str(urljoin(str(response.request.url), location))


def _range_end(response: httpx.Response) -> int | None:
    """The offset after the last byte the registry holds, from ``Range: 0-N`` (None: no header).

    ``0-0`` is read as "nothing yet": Distribution reports an empty upload that way, and it
    appends a PATCH wherever its upload ends whatever Content-Range says, so an offset one
    byte too far would corrupt the blob (a 1-byte blob is then sent again, which is harmless
    because a wrong result fails the digest check at commit and the upload restarts).
    """
    value = response.headers.get("range", "").removeprefix("bytes=")
    _start, sep, end = value.partition("-")
    if not sep or not end.isdigit():
        return None
    return 0 if int(end) == 0 else int(end) + 1


def push(session: Session, repository: str, desc: Descriptor, source: ContentSource, *,
         mount_from: tuple[str, ...] = (), options: UploadOptions = _DEFAULT_UPLOAD,
         sending: Callable[[], None] | None = None) -> str:
    """Make ``desc``'s blob present in ``repository``; returns ``exists``, ``mounted`` or ``uploaded``.

    ``sending`` is called once the upload is open, just before its bytes go out (not at all when the
    blob exists or is mounted)."""
    scopes = _push_scopes(repository, *mount_from)
    if exists(session, repository, desc.digest, push=True):
        return "exists"
    location = None
    for other in mount_from:
        response = session.request("POST", f"/v2/{repository}/blobs/uploads/", scopes=scopes,
                                   params={"mount": str(desc.digest), "from": other},
                                   what=f"mount blob {desc.digest.short} from {other}", expect=(201, 202))
        if response.status_code == 201:
            return "mounted"
        location = _location(response)
    upload = _Upload(session, repository, desc, source=source, scopes=scopes, options=options)
    location = location or upload.start()
    if sending is not None:
        sending()
    upload.run(location)
    return "uploaded"


class _Upload:
    """One blob upload with its resume state."""

    def __init__(self, session: Session, repository: str, desc: Descriptor, *, source: ContentSource,
                 scopes: list[str], options: UploadOptions) -> None:
        self.session = session
        self.repository = repository
        self.desc = desc
        self.source = source
        self.scopes = scopes
        self.chunk = options.chunk_size or max(desc.size, 1)
        self.whole = desc.size <= min(self.chunk, options.whole_put_max)
        self.what = f"push blob {desc.digest.short}"
        self.failures = 0  # consecutive failures without progress

    def start(self) -> str:
        response = self.session.request("POST", f"/v2/{self.repository}/blobs/uploads/", scopes=self.scopes,
                                        what=self.what, expect=(202,), headers={"Content-Length": "0"})
        return _location(response)

    def _give_up_or_wait(self, failure: Retryable) -> None:
        policy = self.session.options.retry
        self.failures += 1
        if self.failures >= policy.attempts:
            raise failure.error from None
        policy.sleep(policy.delay(self.failures, failure.response))

    def _status(self, location: str) -> tuple[str, int] | None:
        """Ask where the upload stands: (location, offset), or None when the registry forgot it."""
        try:
            response = self.session.request("GET", location, scopes=self.scopes, what=self.what,
                                            expect=(204, 200, 400, 404, 416), replay=False)
        except Retryable as failure:
            self._give_up_or_wait(failure)
            return self._status(location)
        if response.status_code >= 400:  # unknown, or cancelled by the registry (wrong offset): start over
            return None
        offset = _range_end(response)
        return (_location(response) if response.headers.get("location") else location), (offset or 0)

    def _body(self, offset: int, length: int) -> Iterator[bytes]:
        with self.source.open(self.desc.digest) as f:
            f.seek(offset)
            left = length
            while left > 0:
                data = f.read(min(CHUNK, left))
                if not data:
                    raise errors.BlobUploadError(f"{self.what}: the local blob is shorter than {self.desc.size}",
                                                 hint="the local store is damaged; rebuild or pull again")
                left -= len(data)
                yield data

    def run(self, location: str | None) -> None:
        size = self.desc.size
        location = location or self.start()
        if self.whole:
            self._put_whole(location)
            return
        offset = 0
        while offset < size:
            end = min(size, offset + self.chunk)
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(end - offset),
                       "Content-Range": f"{offset}-{end - 1}"}
            try:
                response = self.session.request(
                    "PATCH", location, scopes=self.scopes, what=self.what, expect=(202, 204), headers=headers,
                    body=partial(self._body, offset, end - offset), replay=False)
            except Retryable as failure:
                self._give_up_or_wait(failure)
                status = self._status(location)
                if status is None:
                    location, offset = self.start(), 0
                else:
                    location, offset = status
                continue
            except errors.BlobUploadError:
                # The registry refused the chunk (e.g. a wrong offset after a partial write): start over.
                self.failures += 1
                if self.failures >= self.session.options.retry.attempts:
                    raise
                location, offset = self.start(), 0
                continue
            self.failures = 0
            location = _location(response)
            reported = _range_end(response)
            offset = end if reported is None else reported
        self._commit(location)

    def _put_whole(self, location: str) -> None:
        """Commit the upload with the whole blob as the PUT's body; a failure starts a new upload."""
        size = self.desc.size
        while True:
            try:
                self.session.request(
                    "PUT", location, scopes=self.scopes, what=self.what, expect=(201, 204),
                    params={"digest": str(self.desc.digest)},
                    headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                    body=partial(self._body, 0, size), replay=False)
                return
            except Retryable as failure:
                self._give_up_or_wait(failure)
                if exists(self.session, self.repository, self.desc.digest, push=True):
                    return  # the registry committed it before the answer was lost
            except errors.BlobUploadError:  # DIGEST_INVALID / upload unknown: send it again in a new upload
                self.failures += 1
                if self.failures >= self.session.options.retry.attempts:
                    raise
            location = self.start()

    def _commit(self, location: str) -> None:
        try:
            self.session.request("PUT", location, scopes=self.scopes, what=self.what, expect=(201, 204),
                                 params={"digest": str(self.desc.digest)}, headers={"Content-Length": "0"},
                                 replay=False)
        except errors.BlobUploadError:
            # DIGEST_INVALID / SIZE_INVALID / upload unknown: the registry's copy is wrong; send it again
            self.failures += 1
            if self.failures >= self.session.options.retry.attempts:
                raise
            self.run(None)
        except Retryable as failure:
            self._give_up_or_wait(failure)
            if exists(self.session, self.repository, self.desc.digest, push=True):
                return
            status = self._status(location)
            if status is None or status[1] != self.desc.size:
                self.run(None)
            else:
                self._commit(status[0])


def fetch(session: Session, repository: str, desc: Descriptor, store: ContentStore) -> Blob:
    """Download ``desc`` into ``store`` (verified); a blob already there is not fetched again.

    A download cut off midway continues with ``Range: bytes=N-`` when the registry honours it
    (206), so a dropped connection late in a large layer does not cost the whole layer again.
    """
    if store.has(desc.digest):
        return Blob(desc.digest, store.size(desc.digest))
    policy = session.options.retry
    what = f"pull blob {desc.digest.short}"
    writer = store.open_writer(expected=desc.digest, size=desc.size)
    try:
        failures = 0
        while True:
            have = writer.written
            headers = {"Range": f"bytes={have}-"} if have else None
            response = session.request("GET", f"/v2/{repository}/blobs/{desc.digest}", headers=headers,
                                       scopes=[scope_for(repository, "pull")], what=what, stream=True,
                                       expect=(200, 206))
            try:
                if have and response.status_code != 206:  # the range was ignored: start again
                    writer.abort()
                    writer = store.open_writer(expected=desc.digest, size=desc.size)
                for data in response.iter_raw():  # as received: bytes before a cut-off are kept
                    cancel.check()
                    writer.write(data)
                return writer.commit()
            except httpx.TransportError as exc:
                failures = 0 if writer.written > have else failures + 1  # progress resets the count
                if failures >= policy.attempts:
                    raise errors.from_transport(exc, registry=session.host, what=what) from None
                policy.sleep(policy.delay(max(failures, 1)))
            finally:
                response.close()
    except BaseException:
        writer.abort()
        raise
