"""``imagetools``: work on images that are already in registries, without building.

inspect (what a reference names, per platform), create (merge images and indexes into one
index, copying blobs between repositories and registries), import (a multi-platform base
image from root filesystem tarballs). The CLI (``dockyard.cli.imagetools``) parses options and
calls these functions.
"""
