"""The audit trail: who added, removed or fetched which source, and when (SQLite in the data dir).

guide.sources.library records every outcome of `add_sources`, `remove_source` and
`fetch_corpus` here, with the actor its caller names: the signed-in user of the web chat
("anonymous" without sign-in), or the local account for the command line. Editors read it in
the web chat's Explore tab; `guide audit` prints it. Entries are only ever appended.
"""

from __future__ import annotations

import getpass
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from guide.errors import GuideError

ACTIONS = ("add", "remove", "fetch")
FILE_NAME = "audit.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL CHECK (action IN ('add', 'remove', 'fetch')),
    source  TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT ''
);
"""


class AuditError(GuideError):
    """The audit trail cannot be read or written."""


@dataclass(frozen=True)
class Entry:
    at: str  # ISO 8601, UTC
    actor: str
    action: str  # add | remove | fetch
    source: str  # the source id, or what was given when no id was made
    outcome: str  # the library's Result.status: added, updated, removed, failed, unreachable, ...
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def local_actor() -> str:
    """The actor for the command line: the local account."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (some containers)
        name = "unknown"
    return f"{name} (command line)"


def audit_path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


class AuditLog:
    """`AuditLog(audit_path(settings.data_dir))`; safe to use from any thread or process."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise AuditError(f"cannot open the audit trail at {self.path}: {exc}. "
                             "Check that GUIDE_DATA_DIR points to a writable directory.") from None
        return con

    def record(self, actor: str | None, action: str, entries: Iterable[tuple[str, str, str]]) -> None:
        """Append (source, outcome, detail) rows for one action by `actor`, in one transaction."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rows = [(at, actor or local_actor(), action, str(s), str(o), str(d)[:500]) for s, o, d in entries]
        if not rows:
            return
        try:
            with closing(self._connect()) as con:
                con.execute("BEGIN IMMEDIATE")
                con.executemany("INSERT INTO audit (at, actor, action, source, outcome, detail) "
                                "VALUES (?, ?, ?, ?, ?, ?)", rows)
                con.execute("COMMIT")
        except sqlite3.Error as exc:
            raise AuditError(f"could not write the audit trail {self.path}: {exc}") from None

    def entries(self, limit: int | None = None) -> list[Entry]:
        """The newest entries first (all of them unless `limit`)."""
        if not self.path.exists():
            return []
        sql = "SELECT at, actor, action, source, outcome, detail FROM audit ORDER BY id DESC"
        try:
            with closing(self._connect()) as con:
                rows = con.execute(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ()).fetchall()
        except sqlite3.Error as exc:
            raise AuditError(f"could not read the audit trail {self.path}: {exc}") from None
        return [Entry(*r) for r in rows]


def record_results(data_dir: Path, actor: str | None, action: str, results: Iterable) -> None:
    """Record library `Result`s (source id or given name, status, message)."""
    AuditLog(audit_path(data_dir)).record(
        actor, action, [(r.id or r.source, r.status, r.message) for r in results])
