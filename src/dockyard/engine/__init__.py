"""The engine: what a node runs to turn keyed graph vertices into snapshots and layer blobs.

:class:`worker.OpWorker` is the solver's worker (cache lookup, then runc for RUN, file
operations for COPY/WORKDIR/..., downloads for ADD URLs); base images come through
:class:`bases.BaseImages`; ``cache*`` modules import and export external caches. The build's
phases that drive it (plan, key, solve, assemble, attest, gate, deliver) are in
:mod:`dockyard.phases`.
"""
