"""`guide corpus ...` and `guide remove` (thin wiring over guide.library / guide.fetch)."""

from __future__ import annotations

import click


@click.group()
def corpus() -> None:
    """Fetch, check and manage the sources in corpus/."""


@click.command()
@click.argument("source_id")
def remove(source_id: str) -> None:
    """Take a source and its passages out of the guide."""
    raise click.ClickException("not built yet")
