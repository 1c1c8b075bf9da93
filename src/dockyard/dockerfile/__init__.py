"""The Dockerfile frontend: from a Dockerfile and a build context to a build graph.

The pipeline inside this package runs in one direction: ``syntax`` parses the text with
BuildKit's own parser (PyPI ``dockerfile``) and keeps directives and comments; ``decode``
turns each parsed command into a typed, frozen instruction (``instructions``), checking
every flag; ``stages`` groups instructions into stages; ``convert`` expands words
(``shell``) with the right ARG/ENV scope per target platform and emits immutable graph
ops (``dockyard.graph``) plus the image config each stage accumulates. ``lint`` and
``outline`` answer ``--call=check|outline|targets`` without building anything.
"""
