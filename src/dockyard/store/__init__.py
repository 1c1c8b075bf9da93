"""The local store: content-addressed blobs (content), and what the build engine keeps beside them."""
