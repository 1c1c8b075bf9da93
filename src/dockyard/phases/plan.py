"""Plan phase: the Dockerfile frontend turns the request into one graph per target platform.

Base images are resolved through :class:`dockyard.engine.bases.BaseImages` (the frontend's
``ImageResolver``), so the plan sees each base's config (ENV, WORKDIR, ONBUILD) and the same
resolution pins the keys later. Planning runs nothing.
"""

from __future__ import annotations

from dockyard.dockerfile.plan import Plan, plan
from dockyard.dockerfile.resolver import ImageResolver
from dockyard.dockerfile.sbomscan import ScanRequest
from dockyard.phases.request import BuildOptions


def plan_build(options: BuildOptions, *, resolver: ImageResolver, sbom_scan: ScanRequest | None = None) -> Plan:
    """The plan of ``options`` (its Dockerfile defaults to ``context/Dockerfile``); ``sbom_scan`` when an
    SBOM is made (the stages it describes too are planned per platform)."""
    dockerfile = options.dockerfile or options.context / "Dockerfile"
    return plan(dockerfile, options.context, platforms=options.platforms, build_args=options.build_args,
                target=options.target, resolver=resolver, sbom_scan=sbom_scan)
