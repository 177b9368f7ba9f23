"""What every `guide` command shares. As in simonw/llm, the state lives on click's context
object: the `guide` group reads the settings once (`Settings.from_env()`) and each command takes
them with `@pass_settings`. `open_guide` is the one way a command opens the guide."""

from __future__ import annotations

import click

from guide.settings import Settings

pass_settings = click.make_pass_decorator(Settings)

STALE_NOTE = "note: the corpus changed since the index was built; run `guide ingest` to refresh it."


def open_guide(settings: Settings):
    """The guide over the built index. On a first run (no index yet) the index is built first and
    one line on stderr says so; a stale index is served with a one-line note."""
    from guide.engine import open_or_build

    guide = open_or_build(settings, on_build=lambda message: click.echo(message, err=True))
    if guide.stale:
        click.echo(STALE_NOTE, err=True)
    return guide
