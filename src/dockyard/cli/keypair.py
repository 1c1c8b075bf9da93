"""``dockyard generate-key-pair``: cosign.key (encrypted as cosign writes it) and cosign.pub.

The password comes from COSIGN_PASSWORD (as for cosign; empty is allowed) or, on a terminal,
from a prompt asked twice. Existing files are never overwritten.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from dockyard.errors import UsageError


def password(*, confirm: bool) -> bytes | None:
    """COSIGN_PASSWORD, else a prompt on a terminal, else None (the caller decides)."""
    from dockyard.signing.keys import PASSWORD_ENV

    if PASSWORD_ENV in os.environ:
        return os.environ[PASSWORD_ENV].encode()
    if not sys.stdin.isatty():
        return None
    return str(click.prompt("Password for the private key", hide_input=True, default="", show_default=False,
                            confirmation_prompt=confirm)).encode()


@click.command("generate-key-pair")
@click.option("--output-key-prefix", default="cosign", show_default=True,
              help="Write PREFIX.key and PREFIX.pub (as cosign's flag of the same name)")
def generate_key_pair(*, output_key_prefix: str) -> None:
    """Generate an ECDSA P-256 key pair in cosign's formats (PREFIX.key encrypted, PREFIX.pub)."""
    from dockyard.signing.keys import PASSWORD_ENV, generate

    private, public = Path(f"{output_key_prefix}.key"), Path(f"{output_key_prefix}.pub")
    for path in (private, public):
        if path.exists():
            raise UsageError(f"{path} already exists", hint="remove it or choose --output-key-prefix")
    secret = password(confirm=True)
    if secret is None:
        raise UsageError("no password for the private key", hint=f"set {PASSWORD_ENV} (it may be empty)")
    pair = generate(secret)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pair.private_pem)
    public.write_bytes(pair.public_pem)
    click.echo(f"Private key written to {private}\nPublic key written to {public}", err=True)
