"""Attestations dockyard makes about the images it builds: SBOMs and SLSA provenance.

Both are in-toto v1 statements about one platform's image manifest. The SBOM is read from
the image's own layers by dockyard's catalogers (:mod:`dockyard.attest.catalog`), with no
scanner image; provenance is written from the build request, the resolved base images and
the plan (:mod:`dockyard.attest.provenance`). How statements are stored next to an image
(in the index as buildx does, or as OCI 1.1 referrers) is :mod:`dockyard.attest.storage`.
"""
