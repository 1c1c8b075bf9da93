"""The public Python API's implementation: plain arguments in, typed requests, one library call each.

``dockyard.build`` (:mod:`.build`), ``dockyard.login`` (:mod:`.login`) and
``dockyard.imagetools.inspect/create`` (:mod:`dockyard.imagetools`) convert plain values
(strings, paths, dicts) once, with :mod:`dockyard.arguments`, into the typed requests the CLI builds
from its flags too; a wrong type is an :class:`~dockyard.errors.ArgumentError`, never an
AttributeError. Everything here is re-exported from :mod:`dockyard`; import it from there.
"""
