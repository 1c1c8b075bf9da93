"""gzip a layer tar through dockyard's layer compressor path, to /dev/null.

    .venv/bin/python bench/gzip_layer.py LAYER.tar [--threads N] [--level L]

The same pipeline as ``dockyard.oci.layer.make_layer`` uses for a snapshot: the tar stream is
hashed (diff_id), compressed by isal's threaded gzip writer at the default level (1), and the
compressed stream is hashed (blob digest); only the output goes to /dev/null instead of a
file in the content store. The input is read in 1 MiB pieces, as ``write_tar`` feeds it.
"""

from __future__ import annotations

import argparse
import os

from dockyard.digest import HashingWriter
from dockyard.oci.layer import Compression, _DiffSink, _igzip_open, _threads

PIECE = 1 << 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tar")
    parser.add_argument("--threads", type=int, default=0, help="0: one per core (dockyard's default)")
    parser.add_argument("--level", type=int, default=Compression.GZIP.default_level)
    args = parser.parse_args()
    with open(os.devnull, "wb") as null, open(args.tar, "rb") as src:
        out = HashingWriter(null)
        with _igzip_open(out, "wb", compresslevel=args.level, threads=_threads(args.threads)) as gz:
            sink = _DiffSink(gz)
            while piece := src.read(PIECE):
                sink.write(piece)
    print(f"diff_id {sink.digest()} ({sink.size} bytes) -> blob {out.digest()} ({out.size} bytes)")


if __name__ == "__main__":
    main()
