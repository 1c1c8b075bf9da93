"""The serialized graph definition: serialize -> bytes -> deserialize gives ops with the same keys.

BuildKit's model: a ``pb.Definition`` is the list of marshalled ops (their digests are the
vertex identities) plus per-op metadata outside those bytes (moby/buildkit solver/pb/ops.proto,
``Definition``; client/llb/marshal.go ``Definition.ToPB``). Here the entries are the canonical
bytes the cache keys hash, so a node can key the graph without the build context.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.dockerfile.plan import Plan, plan
from dockyard.graph import ops
from dockyard.graph.cachekey import KEY_VERSION, CacheKeys
from dockyard.graph.contenthash import ContextHasher
from dockyard.graph.definition import Definition, DefinitionError, OpMeta, deserialize, op_key, serialize
from dockyard.graph.walk import topological
from dockyard.platform import Platform

AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")

DOCKERFILE = """\
FROM busybox AS build
ARG TARGETARCH
WORKDIR /src
COPY --chown=1:2 --chmod=0640 app/ ./
RUN --mount=type=cache,target=/cache,id=c1,sharing=locked \\
    --mount=type=bind,source=data,target=/data \\
    --mount=type=secret,id=tok,required=true \\
    --mount=type=tmpfs,target=/tmp,size=1048576 \\
    --network=none echo "$TARGETARCH" > /arch
COPY --link other.txt /other.txt
COPY <<EOF /hello.txt
hello
EOF
ADD --checksum=sha256:{zeros} https://example.invalid/f.bin /f.bin
RUN rm -f /nothing

FROM --platform=$BUILDPLATFORM busybox AS tools
RUN echo tools > /t

FROM scratch
COPY --from=build /src /out
COPY --from=tools /t /t
COPY --from=build /arch /arch
""".replace("{zeros}", "0" * 64)


def _context(root: Path) -> Path:
    for rel, text in {"app/main.py": "print(1)\n", "data/d.txt": "d\n", "other.txt": "o\n"}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _plan(context: Path) -> Plan:
    return plan(DOCKERFILE, context, platforms=[AMD64, ARM64], build_platform=AMD64)


def test_round_trip_keeps_every_key_and_the_bytes(tmp_path: Path) -> None:
    context = _context(tmp_path)
    the_plan = _plan(context)
    keys = CacheKeys(ContextHasher(context))
    roots = [pp.state for pp in the_plan.platforms]
    assert roots[0] is not None and roots[1] is not None
    definition = serialize(roots, keys, meta={id(roots[0]): OpMeta(name="final", where="Dockerfile:22")})

    wire = definition.to_bytes()
    back = Definition.from_bytes(wire)
    assert back == definition
    graph = deserialize(back)

    # the roots come back as ops whose keys are the originals'
    assert [graph.key(r) if r is not None else None for r in graph.roots] == [keys.key(r) for r in roots if r]
    # every original op has a twin with the same key, recomputed from scratch (context hashed again)
    fresh = CacheKeys(ContextHasher(context))
    originals = {keys.key(op) for op in topological(roots)}
    assert set(graph.by_key) == originals
    for key, op in graph.by_key.items():
        assert fresh.key(op) == key
        assert type(op) in (ops.ImageSource, ops.ContextSource, ops.HttpSource, ops.Exec, ops.Copy, ops.Mkdir,
                            ops.Mkfile, ops.Rm, ops.Merge)
    # serializing the deserialized graph gives the same bytes (metadata aside)
    again = serialize(list(graph.roots), fresh, meta={id(graph.roots[0]): OpMeta(name="final",
                                                                                where="Dockerfile:22")})
    assert again.to_bytes() == wire
    assert back.meta[keys.key(roots[0])].where == "Dockerfile:22"


def test_every_kind_of_op_and_mount_survives(tmp_path: Path) -> None:
    context = _context(tmp_path)
    the_plan = _plan(context)
    keys = CacheKeys(ContextHasher(context))
    graph = deserialize(Definition.from_bytes(serialize([pp.state for pp in the_plan.platforms], keys).to_bytes()))
    kinds = {type(op).__name__ for op in graph.by_key.values()}
    assert {"ImageSource", "ContextSource", "HttpSource", "Exec", "Copy", "Mkdir", "Mkfile", "Merge"} <= kinds
    run = next(op for op in graph.by_key.values() if isinstance(op, ops.Exec) and op.network == "none")
    assert {m.type for m in run.mounts} == {"cache", "bind", "secret", "tmpfs"}
    bind = next(m for m in run.mounts if m.type == "bind")
    assert isinstance(bind.source, ops.ContextSource)
    assert run.platform in (AMD64, ARM64)


def test_ops_no_dockerfile_makes_yet_round_trip_too() -> None:
    git = ops.GitSource(remote="https://example.invalid/r.git", ref="v1", keep_git_dir=True)
    rm = ops.Rm(root=ops.Merge(layers=(None, git), platform=ARM64), path="/x", platform=ARM64,
                allow_not_found=False)
    keys = CacheKeys()
    graph = deserialize(Definition.from_bytes(serialize([rm, None], keys).to_bytes()))
    back = graph.roots[0]
    assert isinstance(back, ops.Rm) and not back.allow_not_found and back.platform == ARM64
    assert graph.roots[1] is None
    assert CacheKeys().key(back) == keys.key(rm)


def test_the_key_is_the_hash_of_the_entry_and_shared_work_is_stored_once(tmp_path: Path) -> None:
    context = _context(tmp_path)
    the_plan = _plan(context)
    keys = CacheKeys(ContextHasher(context))
    roots = [pp.state for pp in the_plan.platforms]
    assert roots[0] is not None
    definition = serialize(roots, keys)
    assert definition.keys() == [op_key(e) for e in definition.ops]
    assert len(set(definition.keys())) == len(definition.ops)
    # the tools stage (FROM --platform=$BUILDPLATFORM) is the same work for both platforms
    tools = [op for op in topological(roots) if isinstance(op, ops.Exec) and "tools" in " ".join(op.argv)]
    assert len(tools) == 2 and keys.key(tools[0]) == keys.key(tools[1])
    assert sum(1 for e in definition.ops if b"echo tools" in e) == 1
    # non-semantic fields never reach the bytes
    assert all(b'"line"' not in e and b'"description"' not in e for e in definition.ops)


def test_malformed_definitions_are_one_line_errors() -> None:
    with pytest.raises(DefinitionError, match="unsupported graph definition format"):
        Definition.from_bytes(json.dumps({"format": "other", "ops": [], "roots": []}).encode())
    with pytest.raises(DefinitionError, match="malformed graph definition"):
        Definition.from_bytes(b"{not json")
    orphan = json.dumps({"v": KEY_VERSION, "op": "Rm", "fields": {
        "root": "sha256:" + "0" * 64, "path": "/x", "platform": "linux/amd64", "allow_not_found": True}},
        sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(DefinitionError, match=r"names input .* before defining it"):
        deserialize(Definition(ops=(orphan,), roots=(op_key(orphan),)))
    with pytest.raises(DefinitionError, match=r"root .* is not among its ops"):
        deserialize(Definition(ops=(), roots=("sha256:" + "1" * 64,)))
