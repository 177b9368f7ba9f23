"""Question sets: one JSON object a line (the format shared by the dev set and `guide eval`).

{"id": str, "question": str, "history": [{"role": "user"|"assistant", "content": str}] (optional),
 "answerable": bool, "sources": [url, ...], "quotes": [str, ...]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

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
