"""The command line: ``main`` holds the lazily loaded verb table; each verb is its own module.

Verb modules parse options and call one library function; they never print tracebacks or
choose exit codes (``main`` does). Importing this package first gives ``dataclasses`` the cache
of compiled methods (:mod:`dockyard.cli.methodcache`): every class the command creates after
this line is made without compiling source; it also gives the process a larger young generation
for the collector (:func:`dockyard.gcpause.for_command_line`), so the objects its imports make are
not walked again and again.
"""

from dockyard import gcpause
from dockyard.cli import methodcache

gcpause.for_command_line()
methodcache.install()
