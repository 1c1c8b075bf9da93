"""Differential tests: our Dockerfiles built by dockyard and by buildah, the results compared."""
