"""`guide users add|list` and `guide audit` (thin wiring over guide.web.auth / guide.sources.audit)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from guide.cli.context import pass_settings
from guide.settings import Settings


def _users_file(settings: Settings, path: str | None) -> Path:
    from guide.errors import AuthError

    chosen = Path(path) if path else settings.users_file
    if chosen is None:
        raise AuthError("no users file: pass --file PATH or set GUIDE_USERS_FILE")
    return chosen


@click.group()
def users() -> None:
    """Who may sign in to the web chat, and their role (reader or editor)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["reader", "editor"]), required=True,
              help="reader: chat, explore, rate. editor: also add/remove/fetch sources, evaluate, export feedback.")
@click.option("--file", "path", type=click.Path(dir_okay=False), default=None,
              help="The users file (default: GUIDE_USERS_FILE).")
@pass_settings
def add_user(settings: Settings, name: str, role: str, path: str | None) -> None:
    """Add a user (or change one's password and role). Asks for the password without showing it."""
    from guide.web.auth import Users, check_name

    check_name(name)
    target = Users(_users_file(settings, path))
    password = click.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    new = target.add(name, role, password)
    click.echo(f"{'added' if new else 'updated'} {name} ({role}) in {target.path}")


@users.command("list")
@click.option("--file", "path", type=click.Path(dir_okay=False), default=None,
              help="The users file (default: GUIDE_USERS_FILE).")
@pass_settings
def list_users(settings: Settings, path: str | None) -> None:
    """The users and their roles (never their password hashes)."""
    from guide.web.auth import Users

    for user in Users(_users_file(settings, path)).load().values():
        click.echo(f"{user.name:30} {user.role}")


@click.command("audit")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the newest N entries.")
@pass_settings
def audit(settings: Settings, as_json: bool, limit: int | None) -> None:
    """Who added, removed or fetched which source, and when (newest first)."""
    from guide.sources.audit import AuditLog, audit_path

    entries = AuditLog(audit_path(settings.data_dir)).entries(limit=limit)
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2))
        return
    if not entries:
        click.echo("the audit trail is empty: no source has been added, removed or fetched yet")
    for e in entries:
        click.echo(f"{e.at}  {e.actor:24} {e.action:6} {e.outcome:11} {e.source}")
