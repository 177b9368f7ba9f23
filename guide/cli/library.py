"""`guide corpus fetch|check` and `guide remove` (thin wiring over guide.library / guide.fetch)."""

from __future__ import annotations

import json
import sys

import click

from guide.cli.context import pass_settings
from guide.settings import Settings


def _config(timeout: float | None, retries: int | None, max_new: int | None = None):
    from guide.sources.fetch import FetchConfig

    changes = {k: v for k, v in {"timeout": timeout, "retries": retries, "follow_max": max_new}.items()
               if v is not None}
    return FetchConfig(**changes)


def _reindex(settings) -> None:
    from guide.engine import ingest

    report = ingest(settings)
    if report.rebuilt:
        click.echo(f"indexed {report.chunks} passages ({report.embedded} newly embedded) -> {report.collection}")
    else:
        click.echo(f"index up to date ({report.chunks} passages)")


@click.group()
def corpus() -> None:
    """Fetch, check and manage the sources in corpus/."""


@corpus.command("fetch")
@click.option("--follow", is_flag=True, help="Also discover new case studies from the network's case-study hub.")
@click.option("--max", "max_new", type=click.IntRange(1, 500), default=None,
              help="With --follow: at most this many new case studies (default 20).")
@click.option("--hub", "hub_url", default=None,
              help="The case-study hub to follow (default: https://coproductionscotland.org.uk/case-studies).")
@click.option("--timeout", type=click.FloatRange(0.1, 300), default=None, help="Seconds per request (default 20).")
@click.option("--retries", type=click.IntRange(0, 10), default=None, help="Retries after a failure (default 2).")
@click.option("--no-index", is_flag=True, help="Store the texts but do not refresh the index.")
@pass_settings
def fetch_command(settings: Settings, follow: bool, max_new: int | None, hub_url: str | None, timeout: float | None, retries: int | None,
                  no_index: bool) -> None:
    """Download the sources known only by link (the linked case studies) into corpus/.

    Needs internet. A source that cannot be fetched is reported and left as it was."""
    from guide.sources.fetch import DEFAULT_HUB
    from guide.sources.library import fetch_corpus

    results = fetch_corpus(settings, follow=follow, hub_url=hub_url or DEFAULT_HUB,
                           config=_config(timeout, retries, max_new))
    if not results:
        click.echo("nothing to fetch: every source with a link already has its text")
    for r in results:
        click.echo(str(r), err=not r.ok)
    if any(r.ok and r.status == "added" for r in results):
        if not no_index:
            _reindex(settings)
    elif any(not r.ok for r in results):
        click.echo("nothing changed; the guide keeps answering from the sources it has.", err=True)
        sys.exit(1)


@corpus.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--timeout", type=click.FloatRange(0.1, 300), default=None, help="Seconds per request (default 20).")
@click.option("--retries", type=click.IntRange(0, 10), default=None, help="Retries after a failure (default 2).")
@pass_settings
def check_command(settings: Settings, as_json: bool, timeout: float | None, retries: int | None) -> None:
    """Re-fetch each source with a link and list stored passages no longer on the live page.

    Changes nothing. Exit status 1 when something drifted or could not be checked."""
    from guide.sources.library import check_drift

    reports = check_drift(settings, config=_config(timeout, retries))
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        for r in reports:
            click.echo(str(r))
        drifted = sum(r.status == "drifted" for r in reports)
        unchecked = sum(r.status in ("failed", "unreachable") for r in reports)
        click.echo(f"{len(reports)} sources: {drifted} drifted, {unchecked} could not be checked")
    if not all(r.ok for r in reports):
        sys.exit(1)


@click.command()
@click.argument("source_id")
@click.option("--keep-link", is_flag=True, help="Forget the text but keep knowing the source by its link.")
@click.option("--no-index", is_flag=True, help="Do not refresh the index afterwards.")
@pass_settings
def remove(settings: Settings, source_id: str, keep_link: bool, no_index: bool) -> None:
    """Take a source and its passages out of the guide (see `guide sources` for ids)."""
    from guide.sources.library import remove_source

    result = remove_source(settings, source_id, keep_link=keep_link)
    click.echo(str(result), err=not result.ok)
    if not result.ok:
        sys.exit(1)
    if not no_index:
        _reindex(settings)
