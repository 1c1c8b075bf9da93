"""The build engine: executes a build graph's ops into snapshots and layers, and assembles images.

``build.build`` is the entry point: plan (the Dockerfile frontend), solve (the scheduler with
:class:`worker.OpWorker` running each op in the snapshotter, runc and the content store),
assemble (config, manifest, index) and export (outputs and push).
"""
