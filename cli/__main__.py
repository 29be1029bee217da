"""``python -m newswatch.cli``: the ``newswatch`` command (how the daemon starts its children)."""

from newswatch.cli.main import main

main()
