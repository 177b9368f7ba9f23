"""What every `guide` command shares. As in simonw/llm, the state lives on click's context
object: the `guide` group reads the settings once (`Settings.from_env()`) and each command takes
them with `@pass_settings`. `open_guide` is the one way a command opens the guide."""

from __future__ import annotations

import logging
import os
import sys

import click

from guide.settings import Settings

pass_settings = click.make_pass_decorator(Settings)

SERVER_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _OwnRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == "guide" or record.name.startswith("guide.")


def configure_logging(*, level: int = logging.WARNING, fmt: str = "%(message)s") -> None:
    """Log to stderr for a `guide` command: the guide's own records only. Third-party log lines
    (pypdf's "invalid pdf header", ...) are noise next to the guide's one-line messages;
    GUIDE_DEBUG=1 shows them too. A host program's (or pytest's) logging is left alone."""
    from guide.redact import RedactingFormatter

    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "guide_cli", False)), None)
    if handler is None:
        if root.handlers:
            return
        handler = logging.StreamHandler()
        handler.guide_cli = True
        root.addHandler(handler)
    handler.setStream(sys.stderr)
    handler.setFormatter(RedactingFormatter(logging.Formatter(fmt)))  # no secret in a log line
    for f in list(handler.filters):
        handler.removeFilter(f)
    if not os.environ.get("GUIDE_DEBUG"):
        handler.addFilter(_OwnRecords())
    root.setLevel(level)


STALE_NOTE = "note: the corpus changed since the index was built; run `guide ingest` to refresh it."


def open_guide(settings: Settings):
    """The guide over the built index. On a first run (no index yet) the index is built first and
    one line on stderr says so; a stale index is served with a one-line note."""
    from guide.engine import open_or_build

    guide = open_or_build(settings, on_build=lambda message: click.echo(message, err=True))
    if guide.stale:
        click.echo(STALE_NOTE, err=True)
    return guide
