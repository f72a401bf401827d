"""``python -m archive``: the palimpsest command line."""

from archive.cli import cli

cli()
