"""The release step of a CI pipeline: what a build is called and labelled, computed from git.

``gitcontext`` reads where the build stands (CI variables or the local repository),
``tagspec`` parses docker/metadata-action's tag and flavor lines, ``meta`` computes tags and the
standard OCI labels from both, and ``semver``/``template`` hold the version and ``{{...}}``
rules those lines use. Nothing here builds or pushes: the build and delivery phases take the
result as plain names and labels.
"""
