"""The build graph: immutable, content-addressed operations, one subgraph per platform.

``ops`` defines the vertices (image/context/http/git sources, exec, copy, mkdir, mkfile, rm,
merge); ``walk`` orders them inputs-first; ``cachekey`` gives each op a key from its canonical
bytes, its inputs' keys and the checksums of the context files it reads (``contenthash``).
The engine executes a graph knowing nothing about Dockerfiles.
"""
