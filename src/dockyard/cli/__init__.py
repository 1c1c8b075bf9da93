"""The command line: ``main`` holds the lazily loaded verb table; each verb is its own module.

Verb modules parse options and call one library function; they never print tracebacks or
choose exit codes (``main`` does).
"""
