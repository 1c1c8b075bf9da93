"""The node protocol without ssh: framing, context sync, and ``dockyard node serve --stdio`` as a subprocess."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dockyard import __version__
from dockyard.builders.protocol import contextsync
from dockyard.builders.protocol.frames import CHUNK, MAX_FRAME, Channel
from dockyard.builders.protocol.session import Session
from dockyard.errors import NodeError
from dockyard.graph.contenthash import StatCache

SERVE = [sys.executable, "-m", "dockyard", "node", "serve", "--stdio"]


def _pair() -> tuple[Channel, Channel]:
    """Two channels over OS pipes: what one sends the other receives."""
    a_read, b_write = os.pipe()
    b_read, a_write = os.pipe()
    a = Channel(os.fdopen(a_read, "rb"), os.fdopen(a_write, "wb"), peer="a")
    b = Channel(os.fdopen(b_read, "rb"), os.fdopen(b_write, "wb"), peer="b")
    return a, b


def _raw(data: bytes) -> Channel:
    return Channel(io.BytesIO(data), io.BytesIO(), peer="node x")


def test_frames_and_chunked_blobs_round_trip() -> None:
    a, b = _pair()
    payload = os.urandom(CHUNK + 123)  # two chunks
    digest = "sha256:" + hashlib.sha256(payload).hexdigest()

    def write() -> None:  # a pipe holds 64 KiB: the writer needs its own thread
        a.send({"type": "hello", "n": 1})
        a.send_blob(digest, len(payload), io.BytesIO(payload))
        a.close()

    writer = threading.Thread(target=write)
    writer.start()
    assert b.receive() == {"type": "hello", "n": 1}
    header = b.receive()
    assert header is not None and header["type"] == "blob"
    assert b"".join(b.blob_chunks(header)) == payload
    assert b.receive() is None  # closed cleanly between frames
    writer.join()
    assert a.sent_bytes == b.received_bytes


@pytest.mark.parametrize(("data", "message"), [
    (struct.pack(">I", 3) + b"{x}", "node x: malformed frame (JSONDecodeError"),
    (struct.pack(">I", 2) + b"[]", "node x: malformed frame (not an object with a 'type')"),
    (struct.pack(">I", MAX_FRAME + 1), f"node x: malformed frame (length {MAX_FRAME + 1} exceeds"),
    (struct.pack(">I", 10) + b"{}", "node x: connection closed in the middle of a frame"),
])
def test_bad_frames_are_one_line_node_errors(data: bytes, message: str) -> None:
    with pytest.raises(NodeError) as caught:
        _raw(data).receive()
    assert caught.value.message.startswith(message)
    assert "\n" not in caught.value.message


def test_a_blob_with_other_content_is_refused() -> None:
    a, b = _pair()
    a.send_blob("sha256:" + "0" * 64, 3, io.BytesIO(b"abc"))
    header = b.receive()
    assert header is not None
    with pytest.raises(NodeError, match="arrived with other content"):
        b"".join(b.blob_chunks(header))


def test_context_sync_sends_only_what_changed(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    (ctx / "d").mkdir(parents=True)
    for i in range(5):
        (ctx / "d" / f"f{i}").write_text(f"content {i}\n")
    (ctx / "ignored.log").write_text("no")
    os.symlink("d/f0", ctx / "link")
    cache = contextsync.ContextCache(tmp_path / "node")

    def sync() -> tuple[list[str], Path]:
        manifest = contextsync.describe(ctx, patterns=["*.log"], stat_cache=StatCache())
        missing = cache.missing(manifest)
        for digest in missing:
            rel = next(r for r, e in manifest.items() if e[0] == "f" and e[4] == digest)
            cache.ingest(digest, iter([(ctx / rel).read_bytes()]))
        with cache.tree("abc", manifest) as tree:
            return missing, tree

    missing, tree = sync()
    assert len(missing) == 5
    assert sorted(str(p.relative_to(tree)) for p in tree.rglob("*")) == ["d", *[f"d/f{i}" for i in range(5)], "link"]
    assert os.readlink(tree / "link") == "d/f0"
    assert sync()[0] == []  # unchanged: nothing to send
    (ctx / "d" / "f3").write_text("changed\n")
    (ctx / "d" / "f4").unlink()
    missing, tree = sync()
    assert missing == [hashlib.sha256(b"changed\n").hexdigest()]
    assert (tree / "d" / "f3").read_text() == "changed\n"
    assert not (tree / "d" / "f4").exists()
    assert (tree / "d" / "f3").stat().st_mtime_ns == (ctx / "d" / "f3").stat().st_mtime_ns


def test_serve_answers_hello_with_its_version(tmp_path: Path) -> None:
    with Session(SERVE, node="n", builder="b") as session:
        reply = session.hello()
    assert reply["dockyard"] == __version__ and reply["protocol"] == 1
    assert reply["store_root"].endswith("/builders/b/n")


def test_serve_reports_a_malformed_frame_in_one_line_and_exits() -> None:
    out = subprocess.run(SERVE, input=struct.pack(">I", 5) + b"nope!", capture_output=True, timeout=60)
    assert out.returncode == 0
    length = struct.unpack(">I", out.stdout[:4])[0]
    reply = json.loads(out.stdout[4:4 + length])
    assert reply["type"] == "failed" and reply["message"].startswith("client: malformed frame (JSONDecodeError")


FAKE_NODE = """
import json, struct, sys
n = struct.unpack('>I', sys.stdin.buffer.read(4))[0]
sys.stdin.buffer.read(n)
body = json.dumps({'type': 'hello', 'protocol': 1, 'dockyard': '0.0.1-other'}).encode()
sys.stdout.buffer.write(struct.pack('>I', len(body)) + body)
sys.stdout.buffer.flush()
"""


def test_another_dockyard_version_fails_at_hello_naming_both() -> None:
    with Session([sys.executable, "-c", FAKE_NODE], node="old", builder="b") as session, \
            pytest.raises(NodeError) as caught:
        session.hello()
    assert caught.value.message == (f"node old runs dockyard 0.0.1-other (protocol 1), this client dockyard "
                                    f"{__version__} (protocol 1)")


def test_a_node_that_cannot_start_is_a_node_error_with_its_last_words() -> None:
    with Session([sys.executable, "-c", "import sys; sys.stderr.write('ssh: connect: No route to host\\n'); "
                  "sys.exit(255)"], node="gone", builder="b") as session, pytest.raises(NodeError) as caught:
        session.hello()
    assert caught.value.message.startswith("node gone: connection")
    assert caught.value.message.endswith("; ssh: connect: No route to host (exit 255)")


def test_a_node_gone_before_the_first_request_is_read_still_says_what_ssh_said() -> None:
    """The write fails (EPIPE) instead of the read: the error carries ssh's last words all the same."""
    with Session([sys.executable, "-c", "import sys; sys.stderr.write('ssh: connect: No route to host\\n'); "
                  "sys.exit(255)"], node="gone", builder="b") as session:
        session.proc.wait(timeout=30)
        with pytest.raises(NodeError) as caught:
            session.hello()
    assert caught.value.message == ("node gone: connection lost while sending (BrokenPipeError); "
                                    "ssh: connect: No route to host (exit 255)")
