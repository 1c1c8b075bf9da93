"""Time parse + plan of a generated 500-instruction Dockerfile (target: under 100 ms).

Run: ``.venv/bin/python bench/plan_bench.py [--runs N] [--instructions N] [--keys] [--env-only]``.
Prints the median wall time of N runs; ``--keys`` also times cache keys for every step
(which hashes the small generated context). ``--env-only`` plans a stage of N ENV/LABEL lines
(issue 18: 10,000 ENV took 45 s while planning was quadratic; time should grow linearly with N).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from dockyard.dockerfile.plan import plan
from dockyard.platform import Platform


def generate(instructions: int) -> str:
    """A multi-stage Dockerfile with a realistic mix, exactly ``instructions`` lines of instructions."""
    lines = ["ARG BASE=alpine:3.19", "ARG VERSION=1.0"]
    stage = 0
    while len(lines) < instructions:
        if len(lines) % 100 == 2:
            lines.append(f"FROM --platform=$BUILDPLATFORM $BASE AS s{stage}")
            lines.append("ARG TARGETARCH VERSION")
            if stage:
                lines.append(f"COPY --from=s{stage - 1} /out /prev")
            stage += 1
            continue
        n = len(lines)
        kind = n % 7
        if kind == 0:
            lines.append(f"RUN --mount=type=cache,target=/root/.cache echo step {n} $TARGETARCH > /out")
        elif kind == 1:
            lines.append(f"ENV STEP_{n}=value-{n} PATH_{n}=/opt/${{VERSION}}/bin")
        elif kind == 2:
            lines.append(f"COPY src/file{n % 10}.txt /app/{n}/")
        elif kind == 3:
            lines.append(f"WORKDIR /work/{n}")
        elif kind == 4:
            lines.append(f'LABEL step.{n}="label {n}"')
        elif kind == 5:
            lines.append(f"ARG OPT_{n}=${{VERSION}}-{n}")
        else:
            lines.append(f'RUN ["/bin/sh", "-c", "echo json {n}"]')
    return "\n".join(lines[:instructions]) + "\n"


def generate_env_only(instructions: int) -> str:
    """One stage of alternating ENV (each referring to the previous) and LABEL lines, then a RUN."""
    lines = ["FROM alpine"]
    for n in range(instructions):
        lines.append(f"ENV V{n}=value-{n} W{n}=${{V{n}}}" if n % 2 == 0 else f'LABEL l{n}="label {n}"')
    return "\n".join([*lines, "RUN true"]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--instructions", type=int, default=500)
    parser.add_argument("--keys", action="store_true", help="also compute every step's cache key")
    parser.add_argument("--seconds", action="store_true", help="end with a seconds=MEDIAN line (for bench/run.py)")
    parser.add_argument("--env-only", action="store_true", help="a stage of only ENV/LABEL lines")
    args = parser.parse_args()
    text = generate_env_only(args.instructions) if args.env_only else generate(args.instructions)
    platforms = [Platform.parse("linux/amd64")]
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp)
        (context / "src").mkdir()
        for i in range(10):
            (context / "src" / f"file{i}.txt").write_text(f"file {i}\n")
        times = []
        cpu = []
        for _ in range(args.runs):
            start = time.perf_counter()
            cpu_start = time.process_time()
            result = plan(text, context, platforms=platforms, build_platform=platforms[0])
            if args.keys:
                keys = result.cache_keys()
                for step in result.platforms[0].steps:
                    if step.op is not None:
                        keys.key(step.op)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - cpu_start)
    steps = len(result.platforms[0].steps)
    what = "parse+plan+keys" if args.keys else "parse+plan"
    print(
        f"{what} of {args.instructions} instructions ({steps} steps): "
        f"median {statistics.median(times) * 1000:.1f} ms over {args.runs} runs "
        f"(min {min(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms; "
        f"median CPU time {statistics.median(cpu) * 1000:.1f} ms)"
    )
    if args.seconds:
        print(f"seconds={statistics.median(times):.6f}")


if __name__ == "__main__":
    main()
