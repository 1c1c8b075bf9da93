"""``dockyard node serve --stdio``: the far side of a remote node, started by ssh (or a pod exec)."""

from __future__ import annotations

import sys

import click


@click.group("node")
def node() -> None:
    """Serve as a remote build node."""


@node.command("serve")
@click.option("--stdio", is_flag=True, required=True, help="Speak the node protocol on stdin/stdout")
def serve(*, stdio: bool) -> None:
    """Answer one client's requests on stdin/stdout until stdin closes (docs/remote-nodes.md)."""
    from dockyard.remote.serve import serve as run

    assert stdio
    sys.exit(run(sys.stdin.buffer, sys.stdout.buffer))
