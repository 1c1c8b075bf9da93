"""The Dockerfile frontend: from a Dockerfile and a build context to a build graph.

The pipeline inside this package runs in one direction:

* ``syntax`` parses the text with BuildKit's own parser (PyPI ``dockerfile``) and keeps the
  directives, comments and heredoc details it drops;
* ``decode`` turns each parsed command into a typed, frozen instruction (``instructions``),
  checking every flag (``flags``, ``runmount``);
* ``stages`` groups instructions into stages after the global ARGs;
* ``plan`` is the entry point: per target platform, ``convert`` and ``dispatch`` expand words
  (``shell``) with the right ARG/ENV scope (``args``) and emit immutable graph ops
  (:mod:`dockyard.graph`, mounts via ``mounts``) plus the image config (the image model's ``oci.config.ImageConfig``);
  handlers work on a ``scope`` and see the converter only as its ``Converter`` protocol, so
  imports run one way (``convert`` -> ``dispatch`` -> ``mounts`` -> ``scope``);
  base images are described by an injected ``resolver``;
* ``lint`` and ``calls`` answer ``--call=check|outline|targets`` and ``--dry-run``;
  ``request`` is what the CLI hands in; ``dockerignore`` decides which context files exist.

The engine's API is :func:`dockyard.dockerfile.plan.plan`; nothing here executes anything.
"""
