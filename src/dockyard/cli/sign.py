"""``dockyard sign REF --key cosign.key``: cosign-format signatures for an image and its attestations."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("sign")
@click.argument("ref")
@click.option("--key", "key_path", type=click.Path(path_type=Path), required=True,
              help="Private key: cosign.key (password from COSIGN_PASSWORD or a prompt) or a PEM key")
@click.option("--format", "form", type=click.Choice(["classic", "bundle"]), default="classic", show_default=True,
              help="classic: cosign's REPO:sha256-HEX.sig tag; bundle: a sigstore bundle stored as an OCI 1.1 referrer")
@click.option("--insecure-registry", "insecure", multiple=True, metavar="HOST[:PORT]",
              help="Allow plain HTTP and unverified TLS for this registry (repeatable)")
def sign(*, ref: str, key_path: Path, form: str, insecure: tuple[str, ...]) -> None:
    """Sign REF: its index, every platform manifest and every attestation (cosign's formats)."""
    from dockyard.cli.keypair import password
    from dockyard.cli.registryhosts import hosts as registry_hosts
    from dockyard.reference import Reference
    from dockyard.registry.client import Client
    from dockyard.signing.image import sign_image
    from dockyard.signing.keys import load_private
    from dockyard.store.content import ContentStore

    key = load_private(key_path, password(confirm=False))
    with Client(hosts=registry_hosts(insecure=frozenset(insecure))) as client:
        reference = Reference.parse(ref)
        for digest in sign_image(client, reference, key, store=ContentStore.default(), form=form):
            click.echo(f"signed {reference.name}@{digest}")
