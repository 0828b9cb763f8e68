"""``python -m itemhub`` runs the CLI."""

from itemhub.cli import main

main()
