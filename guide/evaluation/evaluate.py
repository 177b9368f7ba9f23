"""Running question sets through the guide and scoring the answers.

Every question goes through `Guide.ask(question, history=..., source=None)`, the path the
web chat uses. Question files use the shared format (guide/questions.py, evals/README.md);
any file in that format works. Scores come from the pure functions in guide/metrics.py.

    result = evaluate(guide, [Path("evals/dev.jsonl")])
    result["gate"] = gate(result["totals"], load_thresholds(Path("evals/thresholds.toml")))
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from guide.evaluation import metrics as M
from guide.errors import GuideError, SettingsError
from guide.evaluation.questions import EvalQuestion, load_questions

HIT_KS = (1, 3, 5)


@dataclass(frozen=True)
class QuestionSet:
    name: str
    path: Path
    questions: list[EvalQuestion]


def load_sets(paths: Sequence[Path]) -> list[QuestionSet]:
    """Load each file (named by its stem; a repeated stem gets its parent folder's name too)."""
    sets: list[QuestionSet] = []
    names: set[str] = set()
    for p in paths:
        p = Path(p)
        name = p.stem
        if name in names:
            name = f"{p.parent.name}/{p.stem}"
        n, base = 2, name
        while name in names:
            name, n = f"{base}#{n}", n + 1
        names.add(name)
        sets.append(QuestionSet(name, p, load_questions(p)))
    return sets


@contextlib.contextmanager
def corpus_guide(settings, corpus_dir: Path):
    """A guide over `corpus_dir`'s own corpus (its `sources.toml` and documents), built in a
    temporary index that is removed afterwards: the user's index, embedding cache and data are
    not touched. It has no scope examples (the tuning sets are about the blog, not this corpus),
    as for a practitioner's own documents; no language model either (`guide eval --llm` is for
    the guide's own corpus)."""
    from guide.engine import Guide, ingest

    corpus_dir = _corpus_folder(corpus_dir)
    with tempfile.TemporaryDirectory(prefix="guide-eval-corpus-") as tmp:
        s = settings.replace(corpus_dir=corpus_dir, index_dir=Path(tmp) / "index", data_dir=Path(tmp) / "data",
                             chroma_url=None, llm_url=None)
        ingest(s)
        yield Guide.open(s, scope=False)


def _corpus_folder(corpus_dir: Path) -> Path:
    corpus_dir = Path(corpus_dir)
    if not (corpus_dir / "sources.toml").is_file():
        raise SettingsError(f"{corpus_dir}: no sources.toml there; --corpus takes a folder laid out like corpus/ "
                            f"(see evals/corpora/README.md)")
    return corpus_dir


def corpus_question_files(corpus_dir: Path) -> list[Path]:
    """The question files that come with a corpus folder: every `*.jsonl` in it."""
    files = sorted(_corpus_folder(corpus_dir).glob("*.jsonl"))
    if not files:
        raise SettingsError(f"{corpus_dir}: no question files (*.jsonl) there; give them with --questions")
    return files


# --- one answer -----------------------------------------------------------------------------
def shown_quotes(answer) -> list:
    """Every quote the user sees: the answer's quotes, the questions to reflect on and the
    further-reading lines (all are presented as the source's own words)."""
    return list(answer.quotes) + list(answer.key_questions) + [r.quote for r in answer.further_reading]


def source_keys(manifest) -> dict[str, str]:
    """Ways a question file may name a source (its URL or its id) -> the source id."""
    keys: dict[str, str] = {}
    for s in manifest.sources:
        keys[M.canonical_url(s.id)] = s.id
        if s.url:
            keys[M.canonical_url(s.url)] = s.id
    return keys


def resolve_sources(names: Iterable[str], keys: dict[str, str]) -> list[str]:
    """Expected sources as ids; a name the guide does not know stays as written (it can never match)."""
    return M.dedupe(keys.get(M.canonical_url(n), n) for n in names if n.strip())


def ranked_sources(answer) -> list[str]:
    """Sources cited by the answer, in the order of their first quote."""
    return M.dedupe(q.source_id for q in sorted(answer.quotes, key=lambda q: q.marker))


def score_answer(q: EvalQuestion, answer, *, keys: dict[str, str], texts: dict[str, str],
                 urls: dict[str, str | None]) -> dict:
    """The per-question row (pure: the answer is already made)."""
    shown = shown_quotes(answer)
    expected = resolve_sources(q.sources, keys)
    ranked = ranked_sources(answer)
    row: dict = {
        "status": answer.status,
        "reason": answer.reason,
        "scope_examples": answer.signals.get("scope_examples"),
        "reader": answer.signals.get("reader"),
        "abstained": bool(answer.abstained),
        "grounding": float(answer.grounding),
        "query": answer.query,
        "rewritten": bool(answer.rewritten),
        "cited_sources": ranked,
        "shown": [
            {
                "text": s.text, "source_id": s.source_id, "kind": s.kind, "marker": s.marker,
                "verbatim": M.in_corpus(s.text, texts.values()),
                "citation_ok": M.citation_correct(s.text, s.source_id, s.link or s.url, texts, urls),
            }
            for s in shown
        ],
    }
    if q.answerable and expected:
        rank = M.first_relevant_rank(ranked, expected)
        row["source_rank"] = rank
        for k in HIT_KS:
            row[f"source_hit_at_{k}"] = M.hit_at_k(ranked, expected, k)
        row["source_rr"] = M.reciprocal_rank(ranked, expected)
    if q.answerable and q.quotes:
        texts_shown = [s.text for s in shown]
        row["quote_recall"] = M.quote_recall(q.quotes, texts_shown)
        row["quotes_missed"] = [e for e in q.quotes if not any(M.span_found(e, t) for t in texts_shown)]
        first = min(answer.quotes, key=lambda x: x.marker, default=None)
        row["first_quote_hit"] = M.first_quote_hit(q.quotes, first.text if first is not None else None)
    return row


def ask_one(guide, q: EvalQuestion, set_name: str, *, keys, texts, urls) -> dict:
    base = {"set": set_name, "id": q.id, "question": q.question, "answerable": q.answerable,
            "history_turns": len(q.history), "expected_sources": list(q.sources), "expected_quotes": list(q.quotes)}
    t0 = time.perf_counter()
    try:
        answer = guide.ask(q.question, history=[dict(t) for t in q.history], source=None)
    except GuideError as exc:  # e.g. an over-long question: a failure of this row, not of the run
        return base | {"error": f"{type(exc).__name__}: {exc}", "latency_ms": (time.perf_counter() - t0) * 1000}
    latency = (time.perf_counter() - t0) * 1000
    row = base | {"error": None, "latency_ms": latency} | score_answer(q, answer, keys=keys, texts=texts, urls=urls)
    if answer.llm is not None:
        row["llm"] = llm_part(answer, getattr(getattr(guide, "writer", None), "scorer", None))
    return row


def llm_part(answer, scorer) -> dict:
    """What the language model did for one answer, with the shown sentences re-checked and each
    of their citations judged as in ALCE (needs the support scorer: the cross-encoder)."""
    from guide.answer.support import CITATION, check

    info = answer.llm
    quotes = {q.marker: q.text for q in answer.quotes}
    shown = [s.text for s in answer.summary]
    ok = sum(v.ok for v in check(shown, quotes, answer.question, scorer)) if shown else 0
    citations = supported = 0
    for s in answer.summary:
        bare = CITATION.sub("", s.text).rstrip()
        for m in s.markers:
            citations += 1
            alone = check([f"{bare} [{m}]"], quotes, answer.question, scorer)[0].ok
            rest = [f"[{o}]" for o in s.markers if o != m]
            without = bool(rest) and check([f"{bare} {''.join(rest)}"], quotes, answer.question, scorer)[0].ok
            supported += alone or not without
    return {"status": info["status"], "fallback": info.get("fallback"), "written": info["written"],
            "removed": info["removed"], "removed_reasons": info.get("removed_reasons", {}), "shown": len(shown),
            "shown_supported": ok, "citations": citations, "citations_supported": supported,
            "first_token_ms": answer.timings.get("llm_first_token_ms"), "answer_ms": answer.timings.get("total_ms")}


def run_sets(guide, sets: Sequence[QuestionSet], *, progress: bool = True) -> list[dict]:
    from tqdm import tqdm

    keys = source_keys(guide.manifest)
    urls = {s.id: s.url for s in guide.manifest.sources}
    texts = dict(guide.texts)
    total = sum(len(s.questions) for s in sets)
    rows: list[dict] = []
    with tqdm(total=total, desc="asking", unit="question", disable=not progress, leave=False) as bar:
        for qs in sets:
            with scope_left_out(guide, [q.question for q in qs.questions]):
                for q in qs.questions:
                    bar.set_postfix_str(f"{qs.name}:{q.id}", refresh=False)
                    rows.append(ask_one(guide, q, qs.name, keys=keys, texts=texts, urls=urls))
                    bar.update(1)
    return rows


def scope_left_out(guide, questions: Sequence[str]):
    """A tuning set is measured without its own scope examples (guide/answer/scope.py): the
    example groups holding any of its questions are left out while it is asked, as in
    leave-one-set-out. A held-out set shares no question with them, so nothing is left out."""
    from guide.answer.scope import excluding

    scope = getattr(getattr(guide, "composer", None), "scope", None)
    return excluding(scope.groups_with(questions) if scope is not None else ())


def judgement_modes(guide) -> dict[str, str]:
    """{source id: how its answers are judged} for every source with text (Composer.judgement)."""
    comp = getattr(guide, "composer", None)
    if comp is None or not hasattr(comp, "judgement"):
        return {}
    return {sid: comp.judgement(sid) for sid in sorted(getattr(guide, "texts", {}))}


# --- totals -------------------------------------------------------------------------------
def summarise(rows: Sequence[dict]) -> dict:
    """Totals over rows. Rates are None when they cannot be measured on these rows."""
    ok = [r for r in rows if not r.get("error")]
    answerable = [r for r in ok if r["answerable"]]
    unanswerable = [r for r in ok if not r["answerable"]]
    shown = [s for r in ok for s in r["shown"]]
    t: dict = {
        "questions": len(rows),
        "answerable": sum(1 for r in rows if r["answerable"]),
        "unanswerable": sum(1 for r in rows if not r["answerable"]),
        "errors": len(rows) - len(ok),
    }
    src_rows = applicable(rows, "source_hit_at_1", "expected_sources")
    for k in HIT_KS:
        t[f"source_hit_at_{k}"] = M.mean(r.get(f"source_hit_at_{k}", 0.0) for r in src_rows)
    t["source_mrr"] = M.mean(r.get("source_rr", 0.0) for r in src_rows)
    quote_rows = applicable(rows, "quote_recall", "expected_quotes")
    t["quote_recall"] = M.mean(r.get("quote_recall", 0.0) for r in quote_rows)
    t["first_quote_hit"] = M.mean(r.get("first_quote_hit", 0.0) for r in quote_rows)
    # the same, only over the answers that showed quotes (answered or related)
    t["quote_recall_shown"] = M.mean(r["quote_recall"] for r in quote_rows
                                     if r.get("status") in ("answered", "related"))
    t["answered_off_target_rate"] = M.off_target_rate([r.get("status", "") for r in quote_rows],
                                                      [r.get("quote_recall", 0.0) for r in quote_rows])
    t["shown_quotes"] = len(shown)
    t["verbatim_rate"] = M.mean(1.0 if s["verbatim"] else 0.0 for s in shown)
    t["citation_precision"] = M.mean(1.0 if s["citation_ok"] else 0.0 for s in shown)
    t.update(M.status_scores([r["status"] for r in ok], [r["answerable"] for r in ok]))
    t.update(M.abstention_scores([r["abstained"] for r in ok], [r["answerable"] for r in ok]))
    t["reasons"] = M.reason_counts([r["status"] for r in ok], [r.get("reason") for r in ok],
                                   [r["answerable"] for r in ok])
    t["grounding_answerable"] = M.distribution([r["grounding"] for r in answerable])
    t["grounding_unanswerable"] = M.distribution([r["grounding"] for r in unanswerable])
    t.update(M.latency_summary([r["latency_ms"] for r in rows]))
    t.update(M.llm_scores(ok))
    return t


def applicable(rows: Sequence[dict], key: str, expected: str) -> list[dict]:
    """Rows a metric applies to. A question that errored counts (as a miss, scored 0) wherever
    it would have applied: answerable, with expected sources / quotes."""
    return [r for r in rows if key in r or (r.get("error") and r["answerable"] and r[expected])]


def evaluate(guide, paths: Sequence[Path], *, progress: bool = True) -> dict:
    """Run every question file through the guide; rows, totals, and totals per file."""
    sets = load_sets(paths)
    t0 = time.perf_counter()
    rows = run_sets(guide, sets, progress=progress)
    s = guide.settings
    return {
        "kind": "questions",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sets": [{"name": qs.name, "path": str(qs.path), "questions": len(qs.questions)} for qs in sets],
        "guide": {
            "model_id": getattr(guide.embedder, "model_id", None),
            "index": {k: v for k, v in dict(guide.index_info or {}).items() if k in ("collection", "fingerprint", "built_at", "chunks")},
            "index_stale": bool(getattr(guide, "stale", False)),
            "top_k": s.top_k, "max_quotes": s.max_quotes, "abstain_threshold": s.abstain_threshold,
            "answer_threshold": guide.composer.answer_threshold,
            "scope_examples": getattr(guide.composer, "scope", None) is not None,
            # for each source the guide has read: how its answers are judged (scope examples or not)
            "judgement": judgement_modes(guide),
            "llm": getattr(getattr(guide, "writer", None), "name", None),
        },
        "seconds": round(time.perf_counter() - t0, 2),
        "totals": summarise(rows),
        "per_set": {qs.name: summarise([r for r in rows if r["set"] == qs.name]) for qs in sets} if len(sets) > 1 else {},
        "rows": rows,
    }


# --- the gate -----------------------------------------------------------------------------
def load_thresholds(path: Path, section: str = "questions") -> dict[str, dict[str, float]]:
    """{"min": {...}, "max": {...}} from `[<section>.min]` / `[<section>.max]` tables."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: thresholds file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    sect = data.get(section, {})
    out: dict[str, dict[str, float]] = {}
    for kind in ("min", "max"):
        table = sect.get(kind, {})
        if not isinstance(table, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in table.values()):
            raise SettingsError(f"{path}: [{section}.{kind}] must map metric names to numbers")
        out[kind] = {k: float(v) for k, v in table.items()}
    return out


def gate(totals: dict, thresholds: dict[str, dict[str, float]]) -> dict:
    checks = M.check_thresholds(totals, thresholds.get("min", {}), thresholds.get("max", {}))
    return {"passed": all(c["ok"] for c in checks), "checks": checks}


def compare(current: dict, previous: dict) -> dict[str, dict]:
    """Change of every flat number the two reports share: {metric: {now, before, delta}}."""
    a, b = flat_numbers(current), flat_numbers(previous)
    return {k: {"now": a[k], "before": b[k], "delta": a[k] - b[k]} for k in a if k in b}


def flat_numbers(result: dict) -> dict[str, float]:
    if result.get("kind") == "scifact":
        from guide.evaluation.scifact import headline

        src = headline(result)
    else:
        src = result.get("totals", {})
    return {k: float(v) for k, v in src.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
