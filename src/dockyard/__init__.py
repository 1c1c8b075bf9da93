"""dockyard: build multi-platform container images without a daemon, and push them as one index.

The public Python API is re-exported here; the CLI (``dockyard.cli``) is a thin layer over it.
This module stays cheap to import because every CLI start imports it.
"""

from dockyard.errors import DockyardError
from dockyard.platform import Platform

__version__ = "0.1.0"

__all__ = ["DockyardError", "Platform", "__version__"]
