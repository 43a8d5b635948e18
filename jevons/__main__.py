"""``python -m jevons`` runs the command line."""

from jevons.cli.main import main

main()
