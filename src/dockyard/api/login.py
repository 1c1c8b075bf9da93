"""``dockyard.login``: check credentials against a registry and store them as ``docker login`` does."""

from __future__ import annotations

from dockyard import arguments
from dockyard.errors import ArgumentError


def login(server: str = "docker.io", *, username: str, password: str, insecure: bool = False,
          registry_ca: arguments.CaFiles | None = None) -> str:
    """Verify ``username``/``password`` at ``server`` (``/v2/`` with the registry's auth) and store them.

    Credentials go where Docker's ``config.json`` says (a credential helper, else the file); the
    return value names where (the config.json path, or ``helper NAME``). ``insecure`` allows plain
    HTTP and unverified TLS for ``server``; ``registry_ca`` adds CA files to trust per host. A refused login raises
    :class:`~dockyard.errors.RegistryError` and stores nothing.
    """
    from dockyard.registry import login as impl
    from dockyard.registry.hosts import HostsConfig
    from dockyard.registry.keychain import Credentials

    host = arguments.text("server", server, optional=False)
    user = arguments.text("username", username, optional=False)
    secret = arguments.text("password", password, optional=False)
    assert host is not None and user is not None and secret is not None
    if not secret:
        raise ArgumentError("empty password", hint="pass the registry password or token")
    creds = Credentials(user, secret)
    hosts = HostsConfig.load(insecure=frozenset({impl.api_host(host)}) if arguments.flag("insecure", insecure)
                             else frozenset()).with_ca(arguments.files_by_host("registry_ca", registry_ca))
    impl.verify(host, creds, hosts=hosts)
    return impl.store(host, creds)


def logout(server: str = "docker.io") -> bool:
    """Forget the credentials stored for ``server`` (as ``docker logout``): from the credential helper
    Docker's ``config.json`` names for it, else from the file. True when there were any to forget."""
    from dockyard.registry import login as impl

    host = arguments.text("server", server, optional=False)
    assert host is not None
    return impl.erase(host)
