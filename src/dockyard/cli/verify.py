"""``dockyard verify REF --key cosign.pub``: signatures and, with --attestation-type, attestations."""

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
    from dockyard.cli.registryhosts import hosts as registry_hosts
    from dockyard.reference import Reference
    from dockyard.registry.client import Client
    from dockyard.signing.image import predicate_type, verify_image
    from dockyard.signing.keys import load_public
    from dockyard.store.content import ContentStore

    for kind in types:
        predicate_type(kind)  # a typo fails before any request
    key = load_public(key_path)
    with Client(hosts=registry_hosts(insecure=frozenset(insecure))) as client:
        reference = Reference.parse(ref)
        for item in verify_image(client, reference, key, store=ContentStore.default(), attestation_types=types):
            click.echo(f"verified {item.what}: {reference.name}@{item.digest}")
