"""``dockyard generate-key-pair``: cosign.key (encrypted as cosign writes it) and cosign.pub,
through :func:`dockyard.generate_key_pair`.

The password comes from COSIGN_PASSWORD (as for cosign; empty is allowed) or, on a terminal,
from a prompt asked twice (the one thing the CLI adds: the library never prompts). Existing
files are never overwritten.
"""

from __future__ import annotations

import sys

import click


def password(*, confirm: bool) -> bytes | None:
    """COSIGN_PASSWORD, else a prompt on a terminal, else None (the caller decides)."""
    from dockyard.signing.keys import environment_password

    given = environment_password()
    if given is not None:
        return given
    if not sys.stdin.isatty():
        return None
    return str(click.prompt("Password for the private key", hide_input=True, default="", show_default=False,
                            confirmation_prompt=confirm)).encode()


@click.command("generate-key-pair")
@click.option("--output-key-prefix", default="cosign", show_default=True,
              help="Write PREFIX.key and PREFIX.pub (as cosign's flag of the same name)")
def generate_key_pair(*, output_key_prefix: str) -> None:
    """Generate an ECDSA P-256 key pair in cosign's formats (PREFIX.key encrypted, PREFIX.pub)."""
    from dockyard.api.signing import generate_key_pair as generate
    from dockyard.signing.keys import key_files

    key_files(output_key_prefix)  # an existing file fails before the password prompt
    written = generate(output_key_prefix=output_key_prefix, password=password(confirm=True))
    click.echo(f"Private key written to {written.private_key}\nPublic key written to {written.public_key}", err=True)
