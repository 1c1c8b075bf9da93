"""``dockyard sign REF --key cosign.key``: a thin skin over :func:`dockyard.sign`."""

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
    from dockyard.api.signing import sign as sign_image
    from dockyard.cli.keypair import password
    from dockyard.cli.registryhosts import registry_ca

    signed = sign_image(ref, key=key_path, format=form, password=password(confirm=False), insecure=insecure,
                        registry_ca=registry_ca())
    for digest in signed.digests:
        click.echo(f"signed {signed.name}@{digest}")
