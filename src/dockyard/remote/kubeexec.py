"""A pipe into a pod: ``python -m dockyard.remote.kubeexec --namespace NS --pod P`` runs
``dockyard node serve --stdio`` there through the API's exec websocket and joins its stdio to ours.

It is to a Kubernetes node what ``ssh`` is to an SSH node: the session (:mod:`.session`) starts it
as a subprocess and speaks the node protocol over its stdin/stdout. Channel 0 carries our stdin
(closed with the v5 protocol's close signal when our stdin ends), 1 and 2 the remote stdout and
stderr, 3 the exit status. Exit code: the remote command's, 255 when the stream itself failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading

from dockyard.builders.kubeapi import _client, load_config
from dockyard.errors import DockyardError

COMMAND = ["dockyard", "node", "serve", "--stdio"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dockyard.remote.kubeexec")
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--pod", required=True)
    parser.add_argument("--container", default="dockyard")
    parser.add_argument("--context")
    args = parser.parse_args(argv)
    try:
        k8s = _client()
        core = k8s.client.CoreV1Api(load_config(args.context))
        ws = k8s.stream.stream(core.connect_get_namespaced_pod_exec, args.pod, args.namespace,
                               container=args.container, command=COMMAND, stdin=True, stdout=True, stderr=True,
                               tty=False, binary=True, _preload_content=False)
    except DockyardError as exc:
        sys.stderr.write(f"kubeexec: {exc.message}\n")
        return 255
    except Exception as exc:  # the client's own errors (handshake refused, API status): one line, no traceback
        sys.stderr.write(f"kubeexec: exec into {args.namespace}/{args.pod} failed: {str(exc).splitlines()[0]}\n")
        return 255

    def pump_stdin() -> None:
        try:
            while chunk := os.read(0, 1 << 16):
                ws.write_channel(0, chunk)
            ws.close_channel(0)  # v5: the remote stdin ends; the node finishes and exits
        except Exception:  # the stream closed under us: the reader below reports it
            return

    threading.Thread(target=pump_stdin, daemon=True).start()
    out, err = sys.stdout.buffer, sys.stderr.buffer
    status = b""
    while ws.is_open():
        ws.update(timeout=1)
        for channel, sink in ((1, out), (2, err)):
            data = ws.read_channel(channel) if ws.peek_channel(channel) else b""
            if data:
                sink.write(data)
                sink.flush()
        if ws.peek_channel(3):
            status += ws.read_channel(3)
    return _exit_code(status)


def _exit_code(status: bytes) -> int:
    """The exit code in the API's Status object on channel 3 (Success: 0; NonZeroExitCode: its code)."""
    if not status:
        return 255
    try:
        doc = json.loads(status)
    except ValueError:
        return 255
    if doc.get("status") == "Success":
        return 0
    for cause in (doc.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause.get("message", 255))
    sys.stderr.write(f"kubeexec: {doc.get('message', 'exec failed')}\n")
    return 255


if __name__ == "__main__":
    sys.exit(main())
