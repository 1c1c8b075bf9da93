"""``dockyard verify REF --key cosign.pub``: a thin skin over :func:`dockyard.verify`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("verify")
@click.argument("ref")
@click.option("--key", "key_path", type=click.Path(path_type=Path), required=True, help="Public key (cosign.pub)")
@click.option("--attestation-type", "types", multiple=True, metavar="TYPE",
              help="Also require this attestation on every platform, signed: provenance, sbom or a predicate URI")
@click.option("--insecure-registry", "insecure", multiple=True, metavar="HOST[:PORT]",
              help="Allow plain HTTP and unverified TLS for this registry (repeatable)")
def verify(*, ref: str, key_path: Path, types: tuple[str, ...], insecure: tuple[str, ...]) -> None:
    """Verify REF's signatures (index, each platform) and, per platform, its attestations."""
    from dockyard.api.signing import verify as verify_image
    from dockyard.cli.registryhosts import registry_ca

    verified = verify_image(ref, key=key_path, attestation_type=types, insecure=insecure, registry_ca=registry_ca())
    for what, digest in verified.checked:
        click.echo(f"verified {what}: {verified.name}@{digest}")
