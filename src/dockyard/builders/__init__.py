"""Builder instances: named sets of nodes that choose where each platform of a build runs.

``dockyard create/use/ls/inspect/rm/stop`` manage them; a build asks for the builder in
use and which node serves each platform::

    from dockyard.builders import current_builder

    builder = current_builder(global_options.builder).ensure_booted()
    nodes = builder.assign(platforms)          # {Platform: node}, native before emulated
    jobs = builder.jobs()                      # [worker.oci] max-parallelism, else CPUs
    mirrors = builder.registry("docker.io")    # [registry."docker.io"] of the builder's config
    with builder.in_use():                     # 'dockyard rm' refuses meanwhile
        ...  # run each platform's subgraph on nodes[platform], store in node.store_root()

Records live in $XDG_CONFIG_HOME/dockyard/builders (:mod:`.store`); the only node kind
today is the local one (:mod:`.local`); remote nodes follow the :class:`.node.Node` protocol.
"""

from dockyard.builders.builder import Builder
from dockyard.builders.config import BuilderConfig, GCPolicy, GCRule
from dockyard.builders.instances import builder_name, current_builder, open_builder
from dockyard.builders.node import Node, PlatformSupport, assign_platforms

__all__ = [
    "Builder",
    "BuilderConfig",
    "GCPolicy",
    "GCRule",
    "Node",
    "PlatformSupport",
    "assign_platforms",
    "builder_name",
    "current_builder",
    "open_builder",
]
