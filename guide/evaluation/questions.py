"""Question sets: one JSON object a line (the format shared by the dev set and `guide eval`).

{"id": str, "question": str, "history": [{"role": "user"|"assistant", "content": str}] (optional),
 "answerable": bool, "sources": [url, ...], "quotes": [str, ...]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection, Iterable, Sequence

from guide.errors import CorpusError

ROLES = ("user", "assistant")


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answerable: bool
    sources: tuple[str, ...] = ()
    quotes: tuple[str, ...] = ()
    history: tuple[dict, ...] = field(default_factory=tuple)


def load_questions(path: Path) -> list[EvalQuestion]:
    """Parse a question file, naming the file and line of anything malformed."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CorpusError("question file not found", path=path) from None
    except UnicodeDecodeError:
        raise CorpusError("question file is not UTF-8 text", path=path) from None
    out: list[EvalQuestion] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"not valid JSON ({exc.msg})", path=path, line=n) from None
        out.append(_question(d, path, n))
        if out[-1].id in seen:
            raise CorpusError(f"duplicate id {out[-1].id!r}", path=path, line=n)
        seen.add(out[-1].id)
    if not out:
        raise CorpusError("the question file has no questions", path=path)
    return out


def _question(d: object, path: Path, n: int) -> EvalQuestion:
    def bad(msg: str) -> CorpusError:
        return CorpusError(msg, path=path, line=n)

    if not isinstance(d, dict):
        raise bad("each line must be a JSON object")
    for key, typ in (("id", str), ("question", str), ("answerable", bool)):
        if not isinstance(d.get(key), typ):
            raise bad(f"{key!r} is required and must be a {typ.__name__}")
    lists = {}
    for key in ("sources", "quotes"):
        v = d.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise bad(f"{key!r} must be a list of strings")
        lists[key] = tuple(v)
    history = d.get("history", [])
    if not isinstance(history, list) or not all(
        isinstance(t, dict) and t.get("role") in ROLES and isinstance(t.get("content"), str) for t in history
    ):
        raise bad("'history' must be a list of {\"role\": \"user\"|\"assistant\", \"content\": str}")
    return EvalQuestion(d["id"], d["question"], d["answerable"], lists["sources"], lists["quotes"], tuple(history))


# --- visitors' questions, to label --------------------------------------------------------
VISITOR_HEADER = (
    "# Questions visitors rated in the web chat (`guide feedback questions`), to label by hand.",
    "# For each line set \"answerable\" to true or false: do the guide's sources answer it? For true,",
    "# add the \"sources\" and the \"quotes\" (spans of them) a good answer shows. Until every line is",
    "# labelled, `guide eval` and `guide calibrate` refuse the file and name the first unlabelled line.",
    "# Saved as evals/<name>_tune.jsonl it becomes a tuning set (scope examples and calibration);",
    "# then run `guide calibrate`. \"guide_said\", \"rating\", \"comment\" and \"query\" are context only.",
)


def visitor_questions(records: Iterable[dict], *, ratings: Collection[str] | None = ("down",)) -> list[dict]:
    """Pure: feedback records (guide/web/feedback.py) -> question-set lines with "answerable": null,
    one per distinct question (case and spacing aside), oldest first. `ratings`: which ratings to
    keep (None: every record)."""
    out: list[dict] = []
    seen: set[str] = set()
    for r in records:
        if ratings is not None and r.get("rating") not in ratings:
            continue
        question = " ".join(str(r.get("question") or "").split())
        if not question or question.casefold() in seen:
            continue
        seen.add(question.casefold())
        row = {"id": f"visitor-{r.get('id')}", "question": question, "answerable": None, "sources": [], "quotes": [],
               "guide_said": "declined" if r.get("abstained") else "answered", "rating": r.get("rating"),
               "comment": r.get("comment") or ""}
        query = " ".join(str(r.get("query") or "").split())
        if query and query != question:
            row["query"] = query  # a follow-up: the question as the guide understood it
        out.append(row)
    return out


def write_question_file(path: Path, rows: Sequence[dict], header: Sequence[str] = VISITOR_HEADER) -> None:
    """Write a new question file (never over an existing one: it may hold someone's labels)."""
    path = Path(path)
    text = "".join(f"{h}\n" for h in header) + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        raise CorpusError("already exists; nothing was written (choose a new file)", path=path) from None
    except OSError as exc:
        raise CorpusError(f"cannot write: {exc.strerror or exc}", path=path) from None
