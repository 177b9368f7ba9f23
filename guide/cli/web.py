"""`guide serve` and `guide feedback ...` (thin wiring over guide.app / guide.feedback).

Nothing heavy is imported at module level: gradio and the model load inside the commands."""

from __future__ import annotations

import logging
import sys

import click


def _settings(**overrides):
    from guide.settings import Settings

    return Settings.from_env(**{k: v for k, v in overrides.items() if v is not None})


def open_guide(settings, *, build_if_missing: bool, echo=click.echo):
    """Guide.open, building the index first when it is missing and build_if_missing is set."""
    from guide.engine import Guide, ingest
    from guide.errors import IndexMissingError

    try:
        return Guide.open(settings)
    except IndexMissingError:
        if not build_if_missing:
            raise
    echo("No index yet: building it from corpus/ (the first time takes a minute)…", err=True)
    report = ingest(settings)
    echo(f"indexed {report.chunks} passages in {report.seconds:.1f} s", err=True)
    return Guide.open(settings)


def _configure_logging() -> None:
    """Log to stderr at INFO (engine errors of the chat are logged there with their traceback)."""
    root = logging.getLogger()
    if not root.handlers:  # leave a host program's (or pytest's) logging alone
        handler = logging.StreamHandler()
        handler.setLevel(logging.INFO)  # libraries that set their own logger to DEBUG stay quiet
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    _quiet_loggers()


def _quiet_loggers() -> None:
    for noisy in ("httpx", "httpcore", "chromadb", "urllib3", "sentence_transformers", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1, GUIDE_HOST).")
@click.option("--port", type=int, default=None, help="Port (default 7860, GUIDE_PORT).")
@click.option("--build-if-missing", is_flag=True, help="Build the index first if there is none.")
@click.option("--no-auth", is_flag=True,
              help="Serve a non-loopback address without sign-in (anyone who can reach it may change the corpus).")
def serve(host: str | None, port: int | None, build_if_missing: bool, no_auth: bool) -> None:
    """Start the web chat (on 127.0.0.1:7860 unless told otherwise; never a public share link).

    Off 127.0.0.1 it needs sign-in: GUIDE_USERS_FILE (see `guide users add`), or --no-auth."""
    from guide.web.auth import RateLimit, access_for, is_loopback
    from guide.web.feedback import FeedbackStore

    settings = _settings(host=host, port=port)
    access, warning = access_for(settings.host, settings.users_file, no_auth=no_auth)  # before anything slow
    if warning:
        click.echo(warning, err=True)
    _configure_logging()
    guide = open_guide(settings, build_if_missing=build_if_missing)
    _quiet_loggers()  # some libraries set their own level when first imported
    if guide.stale:
        click.echo("note: the corpus changed since the index was built; run `guide ingest` to refresh it.", err=True)
    store = FeedbackStore(settings.feedback_db)
    click.echo("Loading the language model…", err=True)
    guide.embedder.embed_query("co-production")  # load the model now, not on the first visitor's question

    from guide.web.app import launch
    from guide.web.chat import Chat

    limit = RateLimit(settings.questions_per_minute) if settings.questions_per_minute else None
    chat = Chat(guide, store=store, slots=settings.answer_slots, limit=limit)
    try:
        demo, url = launch(chat, host=settings.host, port=settings.port, block=False, access=access)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {settings.host}:{settings.port} ({exc}). Is another guide running? "
            "Choose another port with --port or GUIDE_PORT."
        ) from None
    click.echo(f"Co-production Guide is running at {url}  (press Ctrl+C to stop)")
    if access.enabled:
        click.echo(f"Sign-in required: users and roles from {settings.users_file}", err=True)
    if not is_loopback(settings.host):
        click.echo(f"note: listening on {settings.host}: other machines on your network can reach it. Put it "
                   "behind an HTTPS reverse proxy (docs/security.md).", err=True)
    click.echo(f"Feedback is stored in {settings.feedback_db}")
    sys.stdout.flush()
    try:
        demo.block_thread()
    finally:
        demo.close()


@click.group()
def feedback() -> None:
    """Feedback left in the web chat."""


@feedback.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default=None,
              help="Output format (default: from the file name, else csv).")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True,
              help="File to write, e.g. feedback.csv")
def export(fmt: str | None, out: str) -> None:
    """Write every rating and comment (with question, answer and sources) to CSV or JSON."""
    from guide.web.feedback import FeedbackStore

    settings = _settings()
    if fmt is None:
        fmt = "json" if out.lower().endswith(".json") else "csv"
    if not settings.feedback_db.exists():
        click.echo(f"note: no feedback yet ({settings.feedback_db} does not exist); writing an empty export.",
                   err=True)
    n = FeedbackStore(settings.feedback_db).export(out, fmt)
    click.echo(f"wrote {n} feedback record{'s' if n != 1 else ''} to {out} ({fmt})")
