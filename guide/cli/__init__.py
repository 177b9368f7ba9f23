"""The `guide` command line: thin wrappers over the library."""

from guide.cli.commands import main

__all__ = ["main"]
