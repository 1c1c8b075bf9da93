"""Rootless builds: dockyard run by an ordinary user, as root inside a user namespace.

An unprivileged user cannot mount overlayfs, run runc or chown files to other ids. The
``dockyard`` command therefore re-executes itself (:mod:`.userns`) in a new user and
mount namespace in which the user is uid 0 and a subordinate range from /etc/subuid and
/etc/subgid (mapped by the setuid helpers newuidmap/newgidmap) supplies the other ids an
image needs. Inside, the build runs exactly as it does for root, with three differences
chosen by probes: overlayfs is mounted with ``userxattr`` (kernel 5.11+), runc runs in
rootless mode, and RUN steps that want network share one network namespace wired to the
outside by slirp4netns or pasta (:mod:`.network`). The network namespace of the build
process itself stays the host's, so registry traffic needs no user-space TCP stack.

:mod:`.mode` answers "root or rootless, and with what" for ``version`` and ``inspect``.
"""
