"""``python -m newswatch``: the ``newswatch`` command."""

from newswatch.cli.main import main

main()
