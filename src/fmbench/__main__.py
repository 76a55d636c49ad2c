"""``python -m fmbench`` runs the CLI."""

from fmbench.cli import main

main()
