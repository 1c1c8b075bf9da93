"""Stages: a Dockerfile's FROM sections, the global ARGs before them, and lookups by name or index.

Stage names are kept lower case, as BuildKit's parser keeps them. How a name is looked up
depends on where it is used, as in BuildKit's dispatchStates (dockerfile2llb/convert.go):
``FROM name`` sees only the stages defined before it, compared exactly (``addState`` looks
up ``statesByName[BaseName]`` while the stages are being added, so ``FROM Builder`` is an
image name and a later ``AS busybox`` does not capture an earlier ``FROM busybox``);
``--target``, ``COPY --from`` and ``--mount from=`` see the final table, case-insensitively
(``findStateByName``), where a duplicate name means its last definition. A stage's
``description`` is the comment directly above its FROM that starts with the stage name
(case-sensitively, as instructions/parse.go ``getComment`` compares it),
the convention ``--call=targets`` shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.decode import decode, preceding_comments
from dockyard.dockerfile.syntax import ParsedDockerfile
from dockyard.errors import DockerfileError
from dockyard.suggest import suggest


@dataclass(frozen=True)
class Stage:
    """One FROM section; ``index`` counts from 0 in file order."""

    index: int
    name: str
    base: ins.From
    instructions: tuple[ins.Instruction, ...]
    description: str = ""

    @property
    def label(self) -> str:
        """The name, or ``stage-N`` for an unnamed stage (as progress output shows it)."""
        return self.name or f"stage-{self.index}"


@dataclass(frozen=True)
class Dockerfile:
    """A decoded Dockerfile: global ARGs and stages, plus the parse result they came from."""

    parsed: ParsedDockerfile
    meta_args: tuple[ins.Arg, ...]
    stages: tuple[Stage, ...]

    @property
    def filename(self) -> str:
        return self.parsed.filename

    def find(self, ref: str) -> Stage | None:
        """The last stage named ``ref`` (case-insensitive; BuildKit ``findStateByName``), else None."""
        lowered = ref.lower()
        return next((s for s in reversed(self.stages) if s.name and s.name == lowered), None)

    def parent(self, stage: Stage, ref: str) -> Stage | None:
        """The stage ``FROM ref`` of ``stage`` names: the latest one before it named exactly ``ref``."""
        return next((s for s in reversed(self.stages[: stage.index]) if s.name and s.name == ref), None)

    def target(self, name: str | None) -> Stage:
        """The stage ``--target`` names, or the last stage."""
        if not name:
            return self.stages[-1]
        found = self.find(name)
        if found is None:
            names = [s.name for s in self.stages if s.name]
            raise DockerfileError(f"target stage {name!r} could not be found{suggest(name, names)}", file=self.filename)
        return found


def load(parsed: ParsedDockerfile) -> Dockerfile:
    """Decode every command and group the instructions into stages."""
    meta: list[ins.Arg] = []
    stages: list[Stage] = []
    current: ins.From | None = None
    body: list[ins.Instruction] = []
    description = ""

    def close() -> None:
        if current is not None:
            stages.append(Stage(len(stages), current.name, current, tuple(body), description))

    for cmd in parsed.commands:
        item = decode(cmd, filename=parsed.filename, comments=parsed.comments)
        if isinstance(item, ins.From):
            close()
            current, body = item, []
            block = preceding_comments(parsed.comments, item.line)
            description = next(
                (c[len(item.name) + 1 :] for c in block if item.name and c.startswith(item.name + " ")),
                "",
            )
        elif current is None:
            if not isinstance(item, ins.Arg):
                raise DockerfileError(
                    f"{cmd.keyword} before the first FROM: only ARG may come before FROM",
                    file=parsed.filename,
                    line=cmd.line,
                )
            meta.append(item)
        else:
            body.append(item)
    close()
    if not stages:
        raise DockerfileError("the Dockerfile has no FROM instruction (no build stage)", file=parsed.filename)
    return Dockerfile(parsed, tuple(meta), tuple(stages))
