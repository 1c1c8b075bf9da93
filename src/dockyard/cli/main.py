"""Entry point of the ``dockyard`` command: the verb table, global options, and exit codes.

Verbs are loaded lazily from the table below so that ``dockyard --help`` imports no verb
module (it must stay well under 150 ms). This is the only place where a
:class:`~dockyard.errors.DockyardError` becomes a one-line message and an exit code;
``--debug`` (or DOCKYARD_DEBUG=1) adds the traceback.
"""

from __future__ import annotations

import atexit
import importlib
import os
import signal
import sys
import threading
import traceback
from dataclasses import dataclass
from typing import NoReturn

import click

from dockyard import __version__
from dockyard.errors import DockyardError


@dataclass(frozen=True)
class Verb:
    """One row of the verb table: where the click command lives, and its one-line help."""

    help: str
    target: str  # "module:attribute" under dockyard.cli
    userns: bool = False  # touches the store: an ordinary user runs it as root of a user namespace


VERBS: dict[str, Verb] = {
    "build": Verb("Start a build from a Dockerfile and a context", "build:build", userns=True),
    "imagetools": Verb("Inspect, create and import multi-platform images in registries", "imagetools:imagetools"),
    "create": Verb("Create a new builder instance", "create:create"),
    "use": Verb("Set the current builder instance", "use:use"),
    "ls": Verb("List builder instances", "ls:ls"),
    "inspect": Verb("Inspect the current builder instance (--bootstrap to prepare it)", "inspect:inspect", userns=True),
    "rm": Verb("Remove one or more builder instances", "rm:rm", userns=True),
    "stop": Verb("Stop a builder instance", "stop:stop"),
    "prune": Verb("Remove build cache", "prune:prune", userns=True),
    "du": Verb("Show disk usage of the build cache", "du:du", userns=True),
    "login": Verb("Log in to a registry", "login:login"),
    "logout": Verb("Log out from a registry", "logout:logout"),
    "version": Verb("Show the versions of dockyard, runc and qemu", "version:version"),
    "registry": Verb("Run the embedded local registry (serve, stop)", "registry:registry"),
    "meta": Verb("Compute release tags and OCI labels from git and the CI environment", "meta:meta"),
    "node": Verb("Serve as a remote build node (node serve --stdio; started by ssh or kubectl)", "node:node",
                 userns=True),
    "sign": Verb("Sign an image and its attestations (cosign's format)", "sign:sign"),
    "verify": Verb("Verify an image's signatures and attestations", "verify:verify"),
    "generate-key-pair": Verb("Generate a cosign key pair (cosign.key, cosign.pub)", "keypair:generate_key_pair"),
}


@dataclass(frozen=True)
class GlobalOptions:
    """Options given before the verb, handed to every verb through ``ctx.obj``."""

    builder: str | None
    debug: bool
    registry_ca: tuple[str, ...] = ()  # --registry-ca HOST=FILE, read by cli/registryhosts.py


class LazyGroup(click.Group):
    """A click group that imports a verb's module only when that verb runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(VERBS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        verb = VERBS.get(cmd_name)
        if verb is None:
            return None
        module_name, attr = verb.target.split(":")
        module = importlib.import_module(f"dockyard.cli.{module_name}")
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, verb.help) for name, verb in VERBS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--builder", metavar="NAME", envvar=["DOCKYARD_BUILDER", "BUILDX_BUILDER"],
              help="Override the configured builder instance (env: DOCKYARD_BUILDER, BUILDX_BUILDER)")
@click.option("-D", "--debug", is_flag=True, envvar="DOCKYARD_DEBUG", help="Show tracebacks for errors")
@click.option("--registry-ca", "registry_ca", multiple=True, metavar="HOST=FILE",
              help="Trust FILE's CA certificates for registry HOST[:PORT] (repeatable)")
@click.version_option(__version__, "--version", prog_name="dockyard", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, builder: str | None, debug: bool, registry_ca: tuple[str, ...]) -> None:
    """dockyard: build multi-platform container images without a daemon."""
    ctx.obj = GlobalOptions(builder=builder, debug=debug, registry_ca=registry_ca)


def _debug_requested(argv: list[str]) -> bool:
    if os.environ.get("DOCKYARD_DEBUG", "") not in ("", "0", "false"):
        return True
    for arg in argv:
        if arg in ("--debug", "-D"):
            return True
        if not arg.startswith("-"):
            return False  # options after the verb belong to the verb
    return False


def _report(err: DockyardError) -> None:
    click.echo(f"error: {err.message}", err=True)
    if err.hint:
        click.echo(f"hint: {err.hint}", err=True)


def _verb(argv: list[str]) -> str | None:
    """The verb of a command line: the first word that is not a global option or its value."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--builder":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _enter_userns(args: list[str]) -> None:
    """As an ordinary user, re-run a verb that touches the store as root of a user namespace."""
    verb = VERBS.get(_verb(args) or "")
    if verb is None or not verb.userns or "--help" in args or "-h" in args:
        return
    if os.geteuid() == 0:  # root never re-executes (userns.needs_reexec): spare every build its imports
        return
    from dockyard.rootless import userns

    if userns.needs_reexec():
        userns.reexec([sys.executable, "-m", "dockyard", *args])


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: stopped as Ctrl-C stops a build, exiting 128 + the signal number.

    A KeyboardInterrupt, so every path that undoes work on Ctrl-C (killing the step's
    container, unmounting, removing secrets) undoes it on what CI cancellation, ``timeout``
    and Kubernetes send too; the default action would end the process on the spot.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _terminate(signum: int, _frame: object) -> None:
    for other in TERMINATING:  # one cleanup: a second signal must not interrupt it
        signal.signal(other, signal.SIG_IGN)
    raise Terminated(signum)


TERMINATING = (signal.SIGTERM, signal.SIGHUP)


def _interrupted_code(exc: BaseException) -> int:
    """128 + the signal that stopped us (SIGINT when no handler of ours saw one)."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, Terminated):
        cause = cause.__cause__ or cause.__context__
    return 128 + (cause.signum if isinstance(cause, Terminated) else signal.SIGINT)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with its code; the only place errors become exit codes.

    Run as the process (``argv`` None: the console script, ``python -m dockyard``), the exit skips
    the interpreter's teardown (:func:`_exit_process`); called with ``argv`` it raises SystemExit."""
    try:
        _main(argv)
    except SystemExit as exc:
        if argv is not None:
            raise
        _exit_process(exc.code)


def _exit_process(code: object) -> NoReturn:
    """Exit as the interpreter would, minus freeing every module and object one by one.

    What an exit must do still happens, in the interpreter's order: other (non-daemon) threads are
    waited for and thread pools shut down, the atexit hooks run (the method cache is saved there),
    and stdout and stderr are flushed. The teardown after that frees what the OS frees anyway, and
    after a build it cost ~30 ms of CPU (issue 17: measured after the last atexit hook of a warm
    two-platform ``build --push``, strace showing no system call in between)."""
    threading._shutdown()  # type: ignore[attr-defined]  # what Py_FinalizeEx calls first
    atexit._run_exitfuncs()
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # SystemExit("message"): printed, status 1, as the interpreter does
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            code = code or 120  # the status the interpreter gives when flushing stdout at exit fails
    os._exit(code or 0)


def _main(argv: list[str] | None) -> None:
    args = sys.argv[1:] if argv is None else argv
    debug = _debug_requested(args)
    for signum in TERMINATING:
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _terminate)
    try:
        _enter_userns(args)
        rv = cli.main(args=args, prog_name="dockyard", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt) as exc:
        code = _interrupted_code(exc)
        click.echo("interrupted" if code == 128 + signal.SIGINT else f"terminated ({signal.Signals(code - 128).name})",
                   err=True)
        sys.exit(code)
    except DockyardError as exc:
        if debug:
            traceback.print_exc()
        _report(exc)
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            traceback.print_exc()
        click.echo(f"error: internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo("hint: rerun with --debug for the traceback and report it", err=True)
        sys.exit(70)
    sys.exit(rv if isinstance(rv, int) else 0)
