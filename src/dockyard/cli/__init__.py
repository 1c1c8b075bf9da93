"""The command line: ``main`` holds the lazily loaded verb table; each verb is its own module.

Verb modules parse options and call one library function; they never print tracebacks or
choose exit codes (``main`` does). Importing this package first gives ``dataclasses`` the cache
of compiled methods (:mod:`dockyard.cli.methodcache`): every class the command creates after
this line is made without compiling source.
"""

from dockyard.cli import methodcache

methodcache.install()
