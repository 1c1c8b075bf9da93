"""The build engine: executes a build graph's ops on snapshots and assembles the image.

An op worker mounts the filesystems an op reads and writes and calls the module that
knows the op's semantics (for COPY and ADD: :mod:`dockyard.engine.copy`).
"""
