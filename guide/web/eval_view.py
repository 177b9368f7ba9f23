"""The web chat's "Evaluate" tab: run a question set through the chat's own guide and summarise
the report. Behaviour only (no Gradio here); guide/app.py wires it to widgets.

    view = run_evaluation(guide, set_name="dev.jsonl")      # or upload="/path/to/mine.jsonl"
    view.markdown, view.png                                   # summary for people, report.png
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from guide.answer.render import escape_md
from guide.errors import CorpusError, GuideError

log = logging.getLogger(__name__)

# (totals key, label, digits) of the metrics the summary shows, in this order.
SUMMARY_METRICS = (
    ("source_hit_at_1", "source hit@1", 3),
    ("quote_recall", "quote recall", 3),
    ("misleading_rate", "misleading rate", 3),
    ("answered_share", "answered share", 3),
    ("answered_off_target_rate", "answered without an expected quote", 3),
    ("false_not_covered_rate", "false not covered", 3),
    ("verbatim_rate", "verbatim rate", 3),
    ("citation_precision", "citation precision", 3),
    ("abstention_precision", "abstention precision", 3),
    ("abstention_recall", "abstention recall", 3),
    ("false_abstention_rate", "false abstention rate", 3),
    ("latency_p50_ms", "latency p50 (ms)", 0),
)

NOTHING_CHOSEN = "Choose one of the project's question sets, or upload a question file (.jsonl), then press Run."
FRIENDLY_ERROR = "Sorry, the evaluation could not be run. The details are in the server's log."


@dataclass(frozen=True)
class EvalView:
    """What the tab shows: a Markdown summary and the report's chart (None when nothing ran)."""

    markdown: str
    png: Path | None = None
    report_dir: Path | None = None
    passed: bool | None = None


def project_sets(sets_dir: Path) -> list[str]:
    """The project's question sets: the .jsonl file names in evals/, sorted (dev first when present)."""
    names = sorted(p.name for p in Path(sets_dir).glob("*.jsonl") if p.is_file())
    return sorted(names, key=lambda n: n != "dev.jsonl")


def run_evaluation(guide, *, set_name: str | None = None, upload: str | Path | None = None,
                   sets_dir: Path | None = None, thresholds: Path | None = None, out_root: Path | None = None,
                   progress: bool = False) -> EvalView:
    """Run one question set (an uploaded file wins over a chosen project set) through `guide`, check
    the gate, write report.json/.md/.png into a fresh folder under `out_root` (default: the system's
    temp dir) and summarise. Never raises: problems come back as a one-line message."""
    from guide.evaluation.evaluate import evaluate, gate, load_thresholds
    from guide.evaluation.questions import load_questions
    from guide.evaluation.report import write_report

    sets_dir = Path(sets_dir or guide.settings.evals_dir)  # default: the guide's own evals folder
    thresholds = Path(thresholds or sets_dir / "thresholds.toml")
    if upload:
        path = Path(upload)
        shown_name = path.name
    elif set_name:
        if set_name not in project_sets(sets_dir):
            return EvalView(f"**No question set called {escape_md(set_name)}.** Choose one from the list.")
        path = Path(sets_dir) / set_name
        shown_name = set_name
    else:
        return EvalView(NOTHING_CHOSEN)

    try:
        questions = load_questions(path)
    except CorpusError as exc:
        return EvalView(_malformed_message(shown_name, exc))
    try:
        limits = load_thresholds(Path(thresholds))
    except GuideError as exc:
        return EvalView(f"**The thresholds file cannot be used:** {escape_md(str(exc))}")

    try:
        result = evaluate(guide, [path], progress=progress)
        result["gate"] = gate(result["totals"], limits) | {"file": str(thresholds)}
        out_dir = _new_out_dir(out_root, path.stem)
        written = write_report(result, out_dir)
    except Exception:  # an engine or disk failure: a friendly line here, the traceback in the log
        log.exception("evaluation of %s failed", path)
        return EvalView(f"**{FRIENDLY_ERROR}**")
    return EvalView(summary_markdown(result, shown_name, len(questions), written["md"]), png=written["png"],
                    report_dir=out_dir, passed=result["gate"]["passed"])


def _malformed_message(name: str, exc: CorpusError) -> str:
    """One line naming the file (by its own name, not the server's temp path) and the line."""
    text = str(exc)
    prefix = f"{exc.path}" + (f", line {exc.line}" if exc.line is not None else "") + ": "
    if exc.path is not None and text.startswith(prefix):
        text = text[len(prefix):]
    where = f"{name}, line {exc.line}" if exc.line is not None else name
    return f"**Cannot run {escape_md(where)}:** {escape_md(text)}. See evals/README.md for the format."


def _new_out_dir(out_root: Path | None, stem: str) -> Path:
    root = Path(out_root) if out_root else Path(tempfile.gettempdir()) / "guide-eval-reports"
    root.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)[:40] or "questions"
    return Path(tempfile.mkdtemp(prefix=f"{time.strftime('%Y%m%d-%H%M%S')}-{safe}-", dir=root))


def summary_markdown(result: dict, name: str, n_questions: int, report_md: Path) -> str:
    """The Evaluate tab's summary (rendered by guide/answer/templates/eval_summary.md.j2)."""
    from guide.answer.render import eval_summary_markdown
    from guide.evaluation.report import fmt

    checks = {c["metric"]: c for c in result["gate"]["checks"]}
    rows = []
    for key, label, digits in SUMMARY_METRICS:
        c = checks.get(key)
        bound = "—" if c is None else ("≥ " if c["kind"] == "min" else "≤ ") + fmt(c["bound"], 2)
        rows.append({"label": label, "value": fmt(result["totals"].get(key), digits), "bound": bound,
                     "fails": c is not None and not c["ok"]})
    failing = [_failure(c) for c in result["gate"]["checks"] if not c["ok"]]
    return eval_summary_markdown(result, name=name, n_questions=n_questions, report_md=report_md, rows=rows,
                                 failing=failing)


def _failure(c: dict) -> str:
    from guide.evaluation.report import fmt

    if c["note"] == "unknown metric":
        return f"{c['metric']} (unknown metric in the thresholds file)"
    sign = "≥" if c["kind"] == "min" else "≤"
    return f"{c['metric']} = {fmt(c['value'])} (needs {sign} {fmt(c['bound'], 2)})"
