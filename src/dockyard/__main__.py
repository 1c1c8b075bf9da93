"""``python -m dockyard`` runs the same CLI as the ``dockyard`` console script."""

from dockyard.cli.main import main

main()
