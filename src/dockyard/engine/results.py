"""What an executed op yields: a filesystem as a stack of committed snapshots plus its layer blobs.

``top`` is the snapshot whose chain is the filesystem (None: scratch); ``chain`` holds the
blobs of every snapshot in the chain, bottom first, so an image is assembled from the final
result alone. A blob may still be being written (a :class:`~concurrent.futures.Future`): a
step's layer is archived and compressed while later steps run on its committed snapshot, and
``layers`` waits for them. A result with layers and no ``top`` has not been unpacked yet (a COPY
archived straight from the context): the worker unpacks it when a later step reads it. The build
context is not a filesystem of ours: it is a directory on the host.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.store.cache import LayerRecord

if TYPE_CHECKING:
    from dockyard.graph.contenthash import ContextHasher

# a layer blob, or one still being written
LayerRef = LayerRecord | Future[LayerRecord]


@dataclass(frozen=True)
class FsResult:
    """A filesystem made of snapshots; ``chain[i]`` is the blob of the i-th snapshot of the chain."""

    top: str | None
    chain: tuple[LayerRef, ...] = ()

    @property
    def layers(self) -> tuple[LayerRecord, ...]:
        """The chain's blobs, once every one is written (a failure to write one is raised here)."""
        return tuple(part if isinstance(part, LayerRecord) else part.result() for part in self.chain)

    @property
    def written(self) -> bool:
        """Whether every blob of the chain is written already."""
        return all(isinstance(part, LayerRecord) for part in self.chain)


@dataclass(frozen=True)
class ContextResult:
    """The local build context (read in place; never copied into the store)."""

    directory: Path
    excludes: tuple[str, ...] = ()
    # the hasher that keyed the build, when it was keyed in this process on this context: a COPY
    # archived straight from the context reads the selection its key hashed instead of walking again
    listing: ContextHasher | None = field(default=None, compare=False)


Result = FsResult | ContextResult
SCRATCH = FsResult(top=None)
