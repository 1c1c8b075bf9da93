"""``dockyard meta``: the tags and labels a release build would get, for other CI steps to read.

A thin skin over :func:`dockyard.meta`: the flags are its arguments, the output its result.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from dockyard.cli.releaseoptions import release_options


@click.command("meta")
@click.option("--image", "images", multiple=True,
              help="Image name to tag (repeatable; metadata-action's images syntax); none: bare tag names")
@release_options
@click.option("--label", "labels", multiple=True, help="Extra label KEY=VALUE ({{...}} expanded)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one tag a line; json: version, tags, tag-names, labels, annotations")
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False), default=".",
              help="The git repository read when no CI variables are set")
def meta(*, images: tuple[str, ...], labels: tuple[str, ...], fmt: str, repo: Path, tag_spec: tuple[str, ...],
         flavor: tuple[str, ...], no_default_labels: bool) -> None:
    """Compute tags and OCI labels from git and the CI environment, as docker/metadata-action does."""
    from dockyard.api.meta import meta as compute

    result = compute(repo, images=images, tag_specs=tag_spec, flavor=flavor, labels=labels,
                     no_default_labels=no_default_labels)
    for warning in result.warnings:
        click.echo(f"WARNING: {warning}", err=True)
    if fmt == "json":
        click.echo(json.dumps(result.json, indent=2, sort_keys=True))
    else:
        for tag in result.tags:
            click.echo(tag)
