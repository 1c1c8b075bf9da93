"""One result to several registries: everything first, then the tags, never a tag on half an index.

Delivery runs in two phases. First every repository receives the whole image by digest
(blobs, mounted or uploaded once per repository, then the platform manifests and the index),
all repositories at once, each retried ``retries`` more times; then each registry is asked what
it serves for the index digest, which must be ours byte for byte (same digest, same size).
Only when every repository holds the complete image do the tags move, repository by
repository. A failure in the first phase names the registry and its error and moves no tag
anywhere; the tag phase can still fail part way (a registry going down between the phases),
and then the message names the registry that failed and the tags already moved elsewhere.

One repository with one tag and nothing to run between the phases (no signing) is pushed in one
step, as BuildKit pushes: blobs, platform manifests, then the index PUT under its tag (a
Docker-Content-Digest in the answer must name our digest); the tag still comes after every part.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from dockyard.errors import DockyardError, RegistryError
from dockyard.exporters.output import PushTarget
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.manifest import Manifest
from dockyard.oci.source import ContentSource, read_document
from dockyard.registry.client import Client, tag_names

Notify = Callable[[str], None]


@dataclass(frozen=True)
class Pushed:
    """One repository that now holds the result, and the names that point at it there."""

    target: PushTarget
    digest: str

    @property
    def names(self) -> list[str]:
        ref = self.target.reference
        base = f"{ref.registry}/{ref.repository}"
        return [f"{base}:{tag}" for tag in tag_names(ref, self.target.tags)] or [f"{base}@{self.digest}"]


def _where(target: PushTarget) -> str:
    return f"{target.reference.registry}/{target.reference.repository}"


def _upload(client: Client, target: PushTarget, desc: Descriptor, source: ContentSource, *, retries: int,
            notify: Notify, referrers: Sequence[Manifest], tagged: bool = False) -> None:
    reference = target.reference if tagged else replace(target.reference, tag=None, digest=None)
    for attempt in range(retries + 1):
        try:
            client.push(reference, desc, source, referrers=referrers)
            return
        except RegistryError as exc:
            if attempt == retries:
                raise
            notify(f"push to {_where(target)} failed ({exc.message}); retry {attempt + 1} of {retries}")
            time.sleep(min(2.0 ** attempt, 10.0))


def push_everywhere(client: Client, targets: Sequence[PushTarget], desc: Descriptor, source: ContentSource, *,
                    retries: int = 0, notify: Notify = lambda _message: None,
                    referrers: Sequence[Manifest] = (),
                    before_tags: Callable[[PushTarget], None] | None = None) -> list[Pushed]:
    """Push ``desc`` to every target, verify it, then tag it; see the module docstring.

    ``referrers`` (attestations as OCI 1.1 artifacts) are pushed in the first phase, before any tag;
    ``before_tags`` runs for each target once every target holds the image (signing, by digest)."""
    if not targets:
        return []
    # One repository and one tag, nothing to do between the phases: the push sets the tag itself, after
    # every part (its PUT of the index is the tag's, a request less; a failure still moves no tag).
    one_step = len(targets) == 1 and before_tags is None and not targets[0].tags and bool(targets[0].reference.tag)
    with ThreadPoolExecutor(max_workers=min(len(targets), 8)) as pool:
        futures = [(t, pool.submit(_upload, client, t, desc, source, retries=retries, notify=notify,
                                   referrers=referrers, tagged=one_step))
                   for t in targets]
        failed: list[tuple[PushTarget, BaseException]] = []
        for target, future in futures:
            error = future.exception()
            if error is not None:
                failed.append((target, error))
    if failed:
        target, error = failed[0]
        others = ", ".join(_where(t) for t, _ in failed[1:])
        detail = error.message if isinstance(error, DockyardError) else f"{type(error).__name__}: {error}"
        named = detail.startswith(f"push to {_where(target)} ")  # the error names the target already
        raise RegistryError(
            (detail if named else f"push to {_where(target)} failed: {detail}")
            + (f" (also failed: {others})" if others else "")
            + "; no tag was moved in any registry",
            registry=target.reference.registry, code=error.code if isinstance(error, RegistryError) else None,
            hint=(error.hint if isinstance(error, DockyardError) else None)
            or "fix the registry, then run the release again")
    if one_step:
        return [Pushed(targets[0], str(desc.digest))]
    for target in targets:
        served = client.verify_pushed(target.reference, desc)
        if served is None or served.digest != desc.digest or served.size != desc.size:
            raise RegistryError(
                f"{_where(target)} does not serve {desc.digest} as pushed "
                f"(it answered {served.digest if served else 'nothing'}); no tag was moved in any registry",
                registry=target.reference.registry)
    if before_tags is not None:
        for target in targets:
            before_tags(target)
    data = read_document(source, desc)
    done: list[Pushed] = []
    for target in targets:
        try:
            client.tag(target.reference, desc, data, tags=target.tags)
        except RegistryError as exc:
            moved = ", ".join(n for p in done for n in p.names) or "none"
            raise RegistryError(f"tagging in {_where(target)} failed: {exc.message}; tags already moved: {moved}",
                                registry=target.reference.registry, code=exc.code, hint=exc.hint) from None
        done.append(Pushed(target, str(desc.digest)))
    return done
