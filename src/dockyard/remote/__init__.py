"""Remote nodes: the stdio protocol a client and a far-side ``dockyard node serve --stdio`` speak.

The same protocol runs over any byte pipe: ssh's stdin/stdout (:mod:`.ssh`), a Kubernetes
exec stream, or a plain subprocess in tests. :mod:`.frames` is the wire format, :mod:`.serve`
the node side, :mod:`.session` the client side, :mod:`.contextsync` the content-addressed
context transfer both sides share. See docs/remote-nodes.md.
"""
