"""`guide serve` and `guide feedback ...` (thin wiring over guide.app / guide.feedback).

Nothing heavy is imported at module level: gradio and the model load inside the commands."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from guide.cli.context import SERVER_LOG_FORMAT, configure_logging, open_guide, pass_settings
from guide.settings import Settings


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1, GUIDE_HOST).")
@click.option("--port", type=int, default=None, help="Port (default 7860, GUIDE_PORT).")
@click.option("--no-auth", is_flag=True,
              help="Serve a non-loopback address without sign-in (anyone who can reach it may change the corpus).")
@pass_settings
def serve(settings: Settings, host: str | None, port: int | None, no_auth: bool) -> None:
    """Start the web chat (on 127.0.0.1:7860 unless told otherwise; never a public share link).
    A first run builds the index.

    Off 127.0.0.1 it needs sign-in: GUIDE_USERS_FILE (see `guide users add`), or --no-auth."""
    from guide.web.auth import RateLimit, access_for, is_loopback
    from guide.web.feedback import FeedbackStore

    settings = settings.replace(host=host or settings.host, port=port or settings.port)
    access, warning = access_for(settings.host, settings.users_file, no_auth=no_auth)  # before anything slow
    if warning:
        click.echo(warning, err=True)
    configure_logging(level=logging.INFO, fmt=SERVER_LOG_FORMAT)  # chat errors are logged with a traceback
    guide = open_guide(settings)
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
@pass_settings
def export(settings: Settings, fmt: str | None, out: str) -> None:
    """Write every rating and comment (with question, answer and sources) to CSV or JSON."""
    from guide.web.feedback import FeedbackStore

    if fmt is None:
        fmt = "json" if out.lower().endswith(".json") else "csv"
    if not settings.feedback_db.exists():
        click.echo(f"note: no feedback yet ({settings.feedback_db} does not exist); writing an empty export.",
                   err=True)
    n = FeedbackStore(settings.feedback_db).export(out, fmt)
    click.echo(f"wrote {n} feedback record{'s' if n != 1 else ''} to {out} ({fmt})")


@feedback.command("questions")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True,
              help="New question file to write, e.g. evals/visitors_unlabelled.jsonl (never overwritten).")
@click.option("--all-ratings", is_flag=True, help="Every rated question, not only those rated down.")
@pass_settings
def questions(settings: Settings, out: str, all_ratings: bool) -> None:
    """Write visitors' questions rated down as a question set to label (see evals/README.md)."""
    from guide.evaluation.questions import visitor_questions, write_question_file
    from guide.web.feedback import FeedbackStore

    if not settings.feedback_db.exists():
        raise click.ClickException(f"no feedback yet ({settings.feedback_db} does not exist); nothing was written")
    rows = visitor_questions(FeedbackStore(settings.feedback_db).records(), ratings=None if all_ratings else ("down",))
    write_question_file(Path(out), rows)
    click.echo(f"wrote {len(rows)} question{'s' if len(rows) != 1 else ''} to {out}: label each \"answerable\" "
               "(true or false), save it as evals/<name>_tune.jsonl, then run `guide calibrate`")
