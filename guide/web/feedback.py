"""Feedback left in the web chat: a small SQLite store in the data directory.

Every record holds what was rated: the question, the query searched, the answer as shown
(plain text) and the passages it quoted (JSON), with the rating ("up"/"down"/"cleared") and an
optional comment.

Safe for concurrent users: WAL journal, a fresh connection per operation (so any thread or
process may call it), and one `BEGIN IMMEDIATE` transaction per record, so a record is written
whole or not at all and two writers never interleave. `export()` writes CSV or JSON.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from guide.errors import GuideError

RATINGS = ("up", "down", "cleared")
MAX_COMMENT_CHARS = 2000
MAX_FIELD_CHARS = 100_000  # a record is never allowed to grow without bound
FORMATS = ("csv", "json")

COLUMNS = (
    "id", "created_at", "updated_at", "session_id", "turn_id", "rating", "comment",
    "question", "query", "answer", "abstained", "sources", "user",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT,
    session_id  TEXT NOT NULL,
    turn_id     TEXT NOT NULL,
    rating      TEXT CHECK (rating IS NULL OR rating IN ('up', 'down', 'cleared')),
    comment     TEXT,
    question    TEXT NOT NULL,
    query       TEXT,
    answer      TEXT NOT NULL,
    abstained   INTEGER,
    sources     TEXT NOT NULL DEFAULT '[]',
    user        TEXT NOT NULL DEFAULT 'anonymous'
);
"""


class FeedbackError(GuideError):
    """Feedback could not be stored or exported (the message says why)."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
        return value[:MAX_FIELD_CHARS]
    return value


class FeedbackStore:
    """`FeedbackStore(settings.feedback_db)`; every method is safe to call from any thread."""

    def __init__(self, path: Path | str, *, timeout: float = 30.0):
        self.path = Path(path)
        self.timeout = timeout
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as con:
                # WAL lets readers and one writer work at once; set once, it persists in the file.
                for attempt in range(50):
                    try:
                        con.execute("PRAGMA journal_mode=WAL")
                        con.executescript(_SCHEMA)
                        _add_user_column(con)
                        break
                    except sqlite3.OperationalError as exc:  # another process creating it right now
                        if "locked" not in str(exc) or attempt == 49:
                            raise
                        time.sleep(0.05)
        except (OSError, sqlite3.Error) as exc:
            raise FeedbackError(f"cannot open the feedback store at {self.path}: {exc}. "
                                "Check that GUIDE_DATA_DIR points to a writable directory.") from None

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        con.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        con.execute("PRAGMA synchronous=NORMAL")
        con.row_factory = sqlite3.Row
        return con

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(self._connect()) as con:
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
        except sqlite3.Error as exc:
            raise FeedbackError(f"could not save feedback in {self.path}: {exc}") from None

    # --- writing -------------------------------------------------------------------------
    def add(self, *, session_id: str, turn_id: str, question: str, answer: str, rating: str | None = None,
            comment: str | None = None, query: str | None = None, abstained: bool | None = None,
            sources: list[dict] | None = None, user: str = "anonymous") -> int:
        """Store one record (one transaction); returns its id."""
        if rating is not None and rating not in RATINGS:
            raise FeedbackError(f"rating must be one of {', '.join(RATINGS)}, not {rating!r}")
        comment = _check_comment(comment)
        row = {
            "created_at": _now(), "session_id": str(session_id), "turn_id": str(turn_id), "rating": rating,
            "comment": comment, "question": _clip(question), "query": _clip(query), "answer": _clip(answer),
            "abstained": None if abstained is None else int(bool(abstained)),
            "sources": json.dumps(sources or [], ensure_ascii=False), "user": str(user or "anonymous")[:100],
        }
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._transaction() as con:
            cur = con.execute(f"INSERT INTO feedback ({names}) VALUES ({marks})", tuple(row.values()))
            return int(cur.lastrowid)

    def update(self, record_id: int, *, rating: str | None = None, comment: str | None = None) -> None:
        """Change the rating and/or comment of one record (one transaction)."""
        sets: dict[str, Any] = {}
        if rating is not None:
            if rating not in RATINGS:
                raise FeedbackError(f"rating must be one of {', '.join(RATINGS)}, not {rating!r}")
            sets["rating"] = rating
        if comment is not None:
            sets["comment"] = _check_comment(comment)
        if not sets:
            return
        sets["updated_at"] = _now()
        assignments = ", ".join(f"{k} = ?" for k in sets)
        with self._transaction() as con:
            cur = con.execute(f"UPDATE feedback SET {assignments} WHERE id = ?", (*sets.values(), int(record_id)))
            if cur.rowcount != 1:
                raise FeedbackError(f"no feedback record {record_id}")

    # --- reading -------------------------------------------------------------------------
    def records(self, record_id: int | None = None) -> list[dict]:
        sql = f"SELECT {', '.join(COLUMNS)} FROM feedback"
        args: tuple = ()
        if record_id is not None:
            sql, args = sql + " WHERE id = ?", (int(record_id),)
        with closing(self._connect()) as con:
            rows = con.execute(sql + " ORDER BY id", args).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["sources"] = json.loads(d["sources"] or "[]")
            d["abstained"] = None if d["abstained"] is None else bool(d["abstained"])
            out.append(d)
        return out

    def get(self, record_id: int) -> dict | None:
        found = self.records(record_id)
        return found[0] if found else None

    def count(self) -> int:
        with closing(self._connect()) as con:
            return int(con.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def journal_mode(self) -> str:
        with closing(self._connect()) as con:
            return str(con.execute("PRAGMA journal_mode").fetchone()[0])

    # --- export --------------------------------------------------------------------------
    def export(self, out: Path | str, fmt: str = "csv") -> int:
        """Write every record to `out` as CSV or JSON; returns the number of records."""
        if fmt not in FORMATS:
            raise FeedbackError(f"unknown export format {fmt!r}: use csv or json")
        records = self.records()
        out = Path(out)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            if fmt == "json":
                out.write_text(json.dumps(records, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            else:
                with out.open("w", encoding="utf-8", newline="") as fh:
                    writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
                    writer.writeheader()
                    for r in records:
                        row = dict(r, sources=json.dumps(r["sources"], ensure_ascii=False))
                        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
        except OSError as exc:
            raise FeedbackError(f"cannot write {out}: {exc.strerror or exc}") from None
        return len(records)


def _add_user_column(con: sqlite3.Connection) -> None:
    """Stores made before feedback recorded its user get the column (earlier rows: anonymous)."""
    names = {row[1] for row in con.execute("PRAGMA table_info(feedback)")}
    if "user" not in names:
        con.execute("ALTER TABLE feedback ADD COLUMN user TEXT NOT NULL DEFAULT 'anonymous'")


def _check_comment(comment: str | None) -> str | None:
    if comment is None:
        return None
    comment = str(comment).strip()
    if not comment:
        return None
    if len(comment) > MAX_COMMENT_CHARS:
        raise FeedbackError(
            f"That comment is {len(comment):,} characters long; the limit is {MAX_COMMENT_CHARS:,}. Please shorten it."
        )
    return comment


def _csv_cell(value: Any) -> Any:
    """Spreadsheets run cells that start with = + - @ as formulas: make them plain text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
