"""Quality gates: checks a built image must pass before any blob is pushed or any tag moves.

``policy`` holds what is required (from ``--gate`` lines and the project's policy file),
``reports`` reads the reports a pipeline produced (coverage, vulnerability scanners),
``checks`` evaluates a policy against a build result in the content store, and ``outcome``
holds the verdict: one row per check, a table for people, JSON for ``--metadata-file``.
A failing gate in ``enforce`` mode raises :class:`dockyard.errors.GateError` (exit code 3).
"""
