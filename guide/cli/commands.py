"""The `guide` command: thin wiring over the library. Heavy imports happen inside commands,
so `guide --help` is instant. Errors are one clear line and a non-zero exit."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from guide.cli.context import configure_logging, open_guide, pass_settings
from guide.settings import Settings, offline_environment

EXIT_ERROR = 1
EXPORT_FORMATS = ("text", "md", "html")


class GuideGroup(click.Group):
    """Turns every GuideError into one line on stderr and exit 1."""

    def invoke(self, ctx):
        from guide.errors import GuideError

        try:
            return super().invoke(ctx)
        except GuideError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_ERROR)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # the reader went away (`guide sources | head`): nothing more to say
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
            sys.exit(0)
        except Exception as exc:  # a bug: one line for the user, the traceback on request
            if os.environ.get("GUIDE_DEBUG"):
                raise
            click.echo(f"error: unexpected failure ({type(exc).__name__}: {exc}). "
                       "Run again with GUIDE_DEBUG=1 to see the details, and please report it.", err=True)
            sys.exit(EXIT_ERROR)


@click.group(cls=GuideGroup)
@click.version_option(package_name="coproduction-guide")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Co-production Guide: answers made of verbatim, cited quotes from the Scottish
    Co-production Network's writing. Offline; no LLM needed."""
    from guide.redact import guard_output

    guard_output()  # no secret (e.g. GUIDE_LLM_API_KEY) in anything printed or logged
    offline_environment()  # this entry point's process-wide defaults, before any heavy import
    configure_logging()
    ctx.obj = Settings.from_env()  # commands take it with @pass_settings


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--rebuild", is_flag=True, help="Rebuild the index even if nothing changed.")
@pass_settings
def ingest(settings: Settings, paths: tuple[str, ...], rebuild: bool) -> None:
    """Build or refresh the index from corpus/ (no work when nothing changed).

    With PATHS (files or URLs: Markdown, text, HTML, PDF, DOCX), first add them to the corpus."""
    from guide.engine import ingest as run_ingest

    if paths:
        from guide.sources.library import add_sources

        results = add_sources(settings, list(paths))
        for r in results:
            click.echo(str(r), err=not r.ok)
        if not any(r.ok for r in results):
            sys.exit(EXIT_ERROR)
    report = run_ingest(settings, force=rebuild)
    if report.rebuilt:
        click.echo(f"indexed {report.chunks} passages ({report.embedded} newly embedded) in {report.seconds:.1f} s "
                   f"-> {report.collection}")
    else:
        click.echo(f"index up to date ({report.chunks} passages, nothing to embed)")


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("--format", "fmt", default="text", metavar="text|md|html",
              help="text (the default), md (Markdown to copy) or html (a self-contained page: "
                   "`> answer.html`), with the question, answer state, quotes, links, sources and date.")
@click.option("--source", "source", default=None, help="Only quote this source (an id from `guide sources`).")
@click.option("--history", "history_file", type=click.Path(dir_okay=False), default=None,
              help="A JSON file with earlier turns: [{\"role\": \"user\", \"content\": \"...\"}, ...].")
@pass_settings
def ask(settings: Settings, question: str, as_json: bool, fmt: str, source: str | None,
        history_file: str | None) -> None:
    """Ask a question; the answer quotes the sources word for word (a first run builds the index)."""
    from guide.engine import validate_question
    from guide.errors import QuestionError

    if fmt not in EXPORT_FORMATS:
        raise QuestionError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    if as_json and fmt != "text":
        raise QuestionError("choose --json or --format, not both")
    validate_question(question, settings.max_question_chars)  # fail fast, before loading the model
    history = []
    if history_file:
        try:
            history = json.loads(Path(history_file).read_text(encoding="utf-8"))
            assert isinstance(history, list)
        except (OSError, ValueError, AssertionError):
            raise QuestionError(f"{history_file}: expected a JSON list of {{role, content}} turns") from None
    answer = open_guide(settings).ask(question, history=history, source=source)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    elif fmt == "text":
        click.echo(answer.to_text())
    else:
        from guide.answer import render

        click.echo((render.export_markdown if fmt == "md" else render.export_html)([answer]), nl=False)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def sources(settings: Settings, as_json: bool) -> None:
    """List every source the guide knows: read (indexed) or known by link only."""
    from guide.sources.corpus import load_manifest

    manifest = load_manifest(settings.manifest_path)
    rows = [s.to_dict() for s in manifest.sources]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from guide.answer.render import sources_text

    click.echo(sources_text(manifest.sources))


@main.command()
@click.option("--questions", type=click.Path(exists=True, dir_okay=False), multiple=True,
              help="Question files (default: the tuning sets evals/dev.jsonl, hard.jsonl, practitioner_tune.jsonl).")
@click.option("--reader", "reader", is_flag=True,
              help="Instead: the answerability reader's threshold (GUIDE_READER_THRESHOLD), from the tuning halves of "
                   "the corpora nobody labelled (evals/corpora/*/*_tune.jsonl), each in a temporary index.")
@pass_settings
def calibrate(settings: Settings, questions: tuple[str, ...], reader: bool) -> None:
    """Suggest both thresholds of the answer states from tuning question sets: not covered below
    GUIDE_ABSTAIN_THRESHOLD, related below GUIDE_ANSWER_THRESHOLD, answered from it."""
    if reader:
        from guide.evaluation.calibration import calibrate_reader

        corpora = sorted(p.parent for p in (settings.evals_dir / "corpora").glob("*/sources.toml"))
        click.echo(json.dumps(calibrate_reader(settings, corpora), indent=2))
        return
    from guide.evaluation.calibration import calibrate_thresholds

    paths = [Path(q) for q in questions] or settings.calibration_sets
    result = calibrate_thresholds(open_guide(settings), paths)
    click.echo(json.dumps(result, indent=2))


# Commands of the web chat, evals and library live in their own thin modules.
from guide.cli.access import audit, users  # noqa: E402
from guide.cli.eval_cmd import eval_command  # noqa: E402
from guide.cli.library import corpus, remove  # noqa: E402
from guide.cli.web import feedback, serve  # noqa: E402

for _cmd in (serve, feedback, eval_command, corpus, remove, users, audit):
    main.add_command(_cmd)


if __name__ == "__main__":  # pragma: no cover
    main()
