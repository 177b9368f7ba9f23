"""`guide serve` and `guide feedback ...` (thin wiring over guide.app / guide.feedback)."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1, GUIDE_HOST).")
@click.option("--port", type=int, default=None, help="Port (default 7860, GUIDE_PORT).")
@click.option("--build-if-missing", is_flag=True, help="Build the index first if there is none.")
def serve(host: str | None, port: int | None, build_if_missing: bool) -> None:
    """Start the web chat."""
    raise click.ClickException("the web chat is not built yet")


@click.group()
def feedback() -> None:
    """Feedback left in the web chat."""
