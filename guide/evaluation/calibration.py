"""Calibrating the abstention threshold on question sets.

For every question the grounding score is computed once with abstention disabled; the
threshold is then chosen to maximise balanced accuracy (answer the answerable, abstain on
the rest), as the midpoint between the two scores either side of the best cut.
"""

from __future__ import annotations

from pathlib import Path

from guide.evaluation.questions import load_questions

# The sets calibrated on are `Settings.calibration_sets` (dev + hard; never the held-out set).
RULES = ("not_mentioned", "answer_type")  # abstentions that no threshold changes


def score_questions(guide, path: Path) -> list[dict]:
    """One row per question: answerable, and the score the threshold is compared with.

    A question a rule abstains on (a named thing the sources never mention, an answer type
    they cannot give) scores -1: it abstains whatever the threshold."""
    rows = []
    saved = guide.composer.threshold
    guide.composer.threshold = -1.0  # never abstain on the score while measuring
    try:
        for q in load_questions(path):
            a = guide.ask(q.question, history=list(q.history))
            score = a.grounding if a.support is None else min(a.grounding, a.support)
            if a.abstained and a.reason in RULES:
                score = -1.0
            rows.append({"id": q.id, "answerable": q.answerable, "score": score})
    finally:
        guide.composer.threshold = saved
    return rows


def balanced_accuracy(rows: list[dict], threshold: float) -> float:
    """Pure: mean of the answered rate (answerable) and the abstained rate (unanswerable)."""
    pos = [r["score"] for r in rows if r["answerable"]]
    neg = [r["score"] for r in rows if not r["answerable"]]
    if not pos or not neg:
        raise ValueError("calibration needs both answerable and unanswerable questions")
    return (sum(s >= threshold for s in pos) / len(pos) + sum(s < threshold for s in neg) / len(neg)) / 2


def best_threshold(rows: list[dict]) -> dict:
    """Pure: the threshold maximising balanced accuracy over (answerable, score) rows."""
    scores = sorted({r["score"] for r in rows})
    cuts = [scores[0] - 0.01] + [(a + b) / 2 for a, b in zip(scores, scores[1:])] + [scores[-1] + 0.01]
    best_t = max(cuts, key=lambda t: balanced_accuracy(rows, t))
    lo = max((s for s in scores if s < best_t), default=best_t)
    hi = min((s for s in scores if s >= best_t), default=best_t)
    pos = [r for r in rows if r["answerable"]]
    neg = [r for r in rows if not r["answerable"]]
    return {
        "threshold": round(best_t, 4),
        "balanced_accuracy": balanced_accuracy(rows, best_t),
        "answered": sum(r["score"] >= best_t for r in pos) / len(pos),
        "abstained": sum(r["score"] < best_t for r in neg) / len(neg),
        "interval": [round(lo, 4), round(hi, 4)],
    }


def calibrate_threshold(guide, paths: Path | list[Path]) -> dict:
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    rows = [r for p in paths for r in score_questions(guide, p)]
    result = best_threshold(rows)
    result["questions"] = len(rows)
    result["current"] = guide.settings.abstain_threshold
    result["at_current"] = balanced_accuracy(rows, guide.settings.abstain_threshold)
    return result
