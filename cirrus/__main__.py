"""``python -m cirrus`` runs the ``cirrus`` command."""

from cirrus.cli.main import main

main()
