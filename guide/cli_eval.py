"""`guide eval` (thin wiring over guide.evals)."""

from __future__ import annotations

import click


@click.command("eval")
def eval_command() -> None:
    """Run answer-quality evals on question sets."""
    raise click.ClickException("evals are not built yet")
