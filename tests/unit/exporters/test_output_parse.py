"""--output parsing: buildx's syntax into typed outputs, and one-line errors with hints."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import UsageError
from dockyard.exporters.output import (
    LOAD_HINT,
    DockerOutput,
    ImageOutput,
    LocalOutput,
    OciOutput,
    TarOutput,
    file_outputs,
    parse_output,
    parse_outputs,
    push_targets,
)
from dockyard.oci.layer import Compression
from dockyard.platform import Platform


def test_shorthands() -> None:
    assert parse_output("out/dir") == LocalOutput(dest=Path("out/dir"))
    assert parse_output("-") == TarOutput(dest=None)


def test_local_and_tar() -> None:
    assert parse_output("type=local,dest=x") == LocalOutput(dest=Path("x"))
    assert parse_output("type=tar,dest=r.tar,platform-split=false") == TarOutput(dest=Path("r.tar"),
                                                                                  platform_split=False)
    assert parse_output("type=tar,dest=-") == TarOutput(dest=None)


def test_oci_file_dir_and_stdout() -> None:
    assert parse_output("type=oci,dest=o.tar") == OciOutput(dest=Path("o.tar"))
    out = parse_output("type=oci,dest=layout,tar=false,name=reg.example/app:1")
    assert out == OciOutput(dest=Path("layout"), tar=False, names=("reg.example/app:1",))
    assert parse_output("type=oci,dest=-") == OciOutput(dest=None)


def test_docker_with_names() -> None:
    out = parse_output("type=docker,dest=img.tar,name=app:1")
    assert out == DockerOutput(dest=Path("img.tar"), names=("app:1",))


def test_image_options() -> None:
    out = parse_output('type=image,"name=r.io/a:1,r.io/b:2",push=true,oci-mediatypes=false,compression=zstd,'
                       'compression-level=19,force-compression=true,rewrite-timestamp=true,annotation.x=y')
    assert isinstance(out, ImageOutput)
    assert out.names == ("r.io/a:1", "r.io/b:2")
    assert out.push and not out.push_by_digest
    img = out.image
    assert (img.oci_mediatypes, img.compression, img.compression_level) == (False, Compression.ZSTD, 19)
    assert img.force_compression and img.rewrite_timestamp
    assert [(a.kind, a.platform, a.key, a.value) for a in img.annotations.items] == [("manifest", None, "x", "y")]


def test_registry_is_image_push() -> None:
    assert parse_output("type=registry,name=r.io/a:1") == ImageOutput(names=("r.io/a:1",), push=True)
    assert parse_output("type=registry,name=r.io/a:1,push=false").push is False  # type: ignore[union-attr]


def test_keys_and_types_are_case_insensitive() -> None:
    assert parse_output("TYPE=OCI,Dest=o.tar") == OciOutput(dest=Path("o.tar"))


@pytest.mark.parametrize(("spec", "words"), [
    ("type=ocii,dest=x", ["unknown type 'ocii'", "did you mean oci?"]),
    ("type=oci,dets=x", ["no key 'dets'", "did you mean dest?"]),
    ("type=image,comression=zstd", ["did you mean compression?"]),
    ("type=image,compression=zst", ["unknown compression 'zst'", "did you mean zstd?"]),
    ("type=image,compression=gzip,compression-level=12", ["compression-level='12' for gzip"]),
    ("type=image,push=maybe", ["push='maybe' is not a boolean"]),
    ("type=local", ["type=local needs dest="]),
    ("type=local,dest=-", ["cannot write to stdout"]),
    ("type=oci,dest=-,tar=false", ["cannot write to stdout"]),
    ("dest=x", ["type= is required"]),
    ("type=oci,dest", ["'dest' is not key=value"]),
    ("type=oci,dest=a,dest=b", ["dest is given twice"]),
    ("type=image,name=UPPER/Case", ["invalid image reference"]),
    ('type=image,"name=a', ["invalid --output"]),
])
def test_bad_values_name_the_problem(spec: str, words: list[str]) -> None:
    with pytest.raises(UsageError) as info:
        parse_output(spec)
    message = info.value.message
    assert "\n" not in message
    assert info.value.hint
    for word in words:
        assert word in message


def test_docker_without_dest_explains_no_daemon() -> None:
    with pytest.raises(UsageError) as info:
        parse_output("type=docker")
    assert info.value.hint == LOAD_HINT


def test_load_is_refused_with_hint() -> None:
    with pytest.raises(UsageError) as info:
        parse_outputs([], tags=["app:1"], load=True)
    assert "type=docker,dest=FILE" in (info.value.hint or "")


def test_push_adds_an_image_output_with_the_tags() -> None:
    outs = parse_outputs([], tags=["r.io/a:1", "r.io/a:2"], push=True)
    assert outs == (ImageOutput(names=("r.io/a:1", "r.io/a:2"), push=True),)


def test_push_marks_existing_image_outputs_and_keeps_file_outputs() -> None:
    outs = parse_outputs(["type=image,name=r.io/a:1", "type=oci,dest=o.tar"], tags=["r.io/a:2"], push=True)
    assert outs[0] == ImageOutput(names=("r.io/a:1", "r.io/a:2"), push=True)
    assert outs[1] == OciOutput(dest=Path("o.tar"), names=("r.io/a:2",))
    assert file_outputs(outs) == (outs[1],)


def test_tags_never_go_to_rootfs_outputs() -> None:
    assert parse_outputs(["out"], tags=["a:1"]) == (LocalOutput(dest=Path("out")),)


def test_no_outputs_means_cache_only() -> None:
    assert parse_outputs([], tags=["a:1"]) == ()


def test_push_without_a_name_is_refused() -> None:
    with pytest.raises(UsageError, match="tag is needed"):
        parse_outputs([], push=True)


def test_bad_tag_is_refused() -> None:
    with pytest.raises(UsageError, match="invalid image reference"):
        parse_outputs(["out"], tags=["Bad Tag"])


def test_push_targets_group_by_repository() -> None:
    outs = parse_outputs(["type=registry,registry.insecure=true"],
                         tags=["127.0.0.1:5000/app:1", "127.0.0.1:5000/app:latest", "other.io/x/app:1",
                               "127.0.0.1:5000/app:1"])
    targets = push_targets(outs)
    assert [str(t.reference) for t in targets] == ["127.0.0.1:5000/app:1", "other.io/x/app:1"]
    assert targets[0].tags == ("latest",)
    assert targets[0].insecure and targets[1].insecure


def test_push_by_digest_pushes_no_tags() -> None:
    targets = push_targets(parse_outputs(["type=image,name=r.io/a:1,push=true,push-by-digest=true"]))
    assert len(targets) == 1
    assert targets[0].reference.tag is None and targets[0].tags == ()


def test_unpushed_image_outputs_push_nothing() -> None:
    assert push_targets(parse_outputs(["type=image,name=r.io/a:1"])) == ()


def test_annotation_keys_as_buildkit_parses_them() -> None:
    # exporter/containerimage/exptypes/annotations.go ParseAnnotationKey: the type defaults to
    # manifest, a [platform] limits a manifest annotation, keys keep their case
    out = parse_output("type=oci,dest=o.tar,annotation.Org.Title=t,annotation-index.idx=i,"
                       "annotation-manifest[linux/arm64].arm=a,annotation-manifest-descriptor.d=v")
    assert isinstance(out, OciOutput)
    ann = out.image.annotations
    assert ann.index == {"idx": "i"}
    assert ann.for_platform("manifest", Platform.parse("linux/arm64")) == {"Org.Title": "t", "arm": "a"}
    assert ann.for_platform("manifest", Platform.parse("linux/amd64")) == {"Org.Title": "t"}
    assert ann.for_platform("manifest-descriptor", Platform.parse("linux/amd64")) == {"d": "v"}


@pytest.mark.parametrize(("spec", "fragment"), [
    ("type=image,name=r.io/a,annotation-bogus.k=v", "unrecognized annotation type bogus"),
    ("type=image,name=r.io/a,annotation-index-descriptor.k=v", "index-descriptor annotations are not supported"),
    ("type=image,name=r.io/a,annotation-index[linux/amd64].k=v", "cannot name a platform"),
    ("type=image,name=r.io/a,annotation-manifest[linux/armx].k=v", "unknown architecture"),
    ("type=local,dest=d,annotation.k=v", "type=local has no key"),
])
def test_bad_annotation_keys_are_one_line_errors(spec: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_output(spec)
    assert fragment in info.value.message and "\n" not in info.value.message
