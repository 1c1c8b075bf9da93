"""The OCI image model: descriptors, configs, manifests and indexes as read-only values.

Everything here is pure: objects are frozen dataclasses, a change makes a new object, and
each document knows its canonical JSON bytes (:func:`dockyard.oci.canonical.encode`). The
digest of an image is the digest of those exact bytes, so the bytes are what we store and
push; parsing a document keeps its original bytes alongside when a digest must be preserved.
"""
