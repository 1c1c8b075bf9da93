"""The stdio protocol a client speaks with a remote node (docs/remote-nodes.md), both ends' shared parts.

Framing (``frames``), the typed payloads (``wire``), context sync (``contextsync``), ``--ssh``
agent relaying (``agents``) and the client's session (``session``) live with the nodes that use
them, so a builder's SSH or Kubernetes node opens its own session; the far side's server
(:mod:`dockyard.remote.serve`) and the build spread over nodes (:mod:`dockyard.remote.dispatch`)
are above, in :mod:`dockyard.remote`.
"""
