"""``dockyard build`` when it really builds: its :class:`~dockyard.api.buildspec.BuildSpec` through
the library's one path (:func:`dockyard.api.build.make_call`, then ``run_build``, as
``dockyard.build``), with what only the CLI does around it: the password prompt, the progress
renderer, the Dockerfile check's warnings, and the digest on stdout.

Kept apart from ``cli/build.py`` so that ``--call``/``--dry-run`` never import the engine.
Every value is checked before anything runs, so a typo fails in a second, not after a build.
"""

from __future__ import annotations

import click

from dockyard import progress
from dockyard.api.build import make_call, run_build
from dockyard.api.buildspec import BuildSpec
from dockyard.dockerfile.calls import build_warnings
from dockyard.errors import DockerfileError, UsageError
from dockyard.registry.client import Client
from dockyard.registry.configs import ConfigResolver
from dockyard.store.content import ContentStore


def _lint(spec: BuildSpec, client: Client) -> list[str]:
    """The check's warnings, printed after the build as buildx prints them; base images are read as
    BuildKit's lint reads them during the conversion. ``# check=error=true`` stops the build here."""
    if not spec.dockerfile.is_file():
        return []
    warnings, lint_error = build_warnings(spec.dockerfile, spec.context,
                                          resolver=ConfigResolver(client, ContentStore.default()),
                                          build_args=spec.build_args)
    if lint_error is not None:
        click.echo("\n".join(warnings), err=True)
        raise DockerfileError(lint_error, file=str(spec.dockerfile), hint="fix them, or skip rules with "
                              "# check=skip=RULE,...")
    return warnings


def _password() -> bytes | None:
    from dockyard.cli.keypair import password

    return password(confirm=False)


def run(spec: BuildSpec, *, progress_mode: str) -> int:
    """Build, then push and export; progress goes to stderr, the result's digest to stdout."""
    if not spec.context.is_dir():
        raise UsageError(f"build context {str(spec.context)!r} is not a directory",
                         hint="pass the directory holding your sources, e.g. dockyard build .")
    warnings: list[str] = []
    call = make_call(spec, report=_report, password=_password)
    render = progress.renderer(progress.resolve_mode(progress_mode or None))
    outcome = run_build(call, listener=render, report=_report, built=lambda ok: render.close(ok=ok),
                        with_client=lambda client: warnings.extend(_lint(spec, client)))
    if warnings:  # after the build, as buildx prints them
        click.echo("\n" + "\n".join(warnings), err=True)
    click.echo(outcome.digest)
    return 0


def _report(line: str) -> None:
    click.echo(line, err=True)
