"""A build as phases, each a module with one job and a stated seam (docs/architecture.md).

::

    plan      (plan.py)      Dockerfile + context -> one graph per platform (the frontend)
    key       (key.py)       pin each op's key to what the plan cannot know -> solver vertices
    solve     (solve.py)     run the vertices (per node) into snapshots and layers
    assemble  (assemble.py)  configs, manifests and, for several platforms, the index
    attest    (attest.py)    hook: attestations (SBOM, provenance) for the assembled image; none yet
    gate      (gate.py)      hook: checks that may stop delivery; none yet
    deliver   (deliver.py)   push to registries, export to files, metadata and iid files

:func:`dockyard.phases.build.build` runs plan to attest/gate-less assembly (what lands in the
content store); :func:`dockyard.phases.deliver.deliver` takes its result out of dockyard.
The request is :class:`dockyard.phases.request.BuildOptions`; the result
:class:`dockyard.phases.result.BuildResult`.
"""
