"""Calibrating the abstention threshold on a development question set.

For every question the grounding score is computed once; the threshold is then chosen to
maximise balanced accuracy (answer the answerable, abstain on the rest). The chosen value
is the midpoint of the best interval, so it is not fitted to one question's score.
"""

from __future__ import annotations

from pathlib import Path

from .questions import load_questions


def score_questions(guide, path: Path) -> list[dict]:
    """(id, answerable, grounding, own-topic support, rule) per question, the threshold disabled.

    `rule` names an abstention that no threshold changes (a named thing the sources never
    mention, or an answer type they cannot give)."""
    rows = []
    saved = guide.composer.threshold
    guide.composer.threshold = -1.0  # never abstain while measuring
    try:
        for q in load_questions(path):
            a = guide.ask(q.question, history=list(q.history))
            rows.append({"id": q.id, "answerable": q.answerable, "grounding": a.grounding,
                         "support": a.support, "rule": a.reason if a.abstained else None})
    finally:
        guide.composer.threshold = saved
    return rows


def best_threshold(rows: list[dict]) -> dict:
    """Pure: the threshold maximising balanced accuracy over (answerable, score) rows."""
    scores = sorted({round(r["score"], 4) for r in rows})
    pos = [r["score"] for r in rows if r["answerable"]]
    neg = [r["score"] for r in rows if not r["answerable"]]
    if not pos or not neg:
        raise ValueError("calibration needs both answerable and unanswerable questions")
    cands = [scores[0] - 0.01] + [(a + b) / 2 for a, b in zip(scores, scores[1:])] + [scores[-1] + 0.01]
    best = None
    for t in cands:
        tpr = sum(s >= t for s in pos) / len(pos)
        tnr = sum(s < t for s in neg) / len(neg)
        bal = (tpr + tnr) / 2
        if best is None or bal > best["balanced_accuracy"] + 1e-9:
            best = {"threshold": t, "balanced_accuracy": bal, "answered": tpr, "abstained": tnr, "interval": [t, t]}
        elif abs(bal - best["balanced_accuracy"]) <= 1e-9:
            best["interval"][1] = t
    t = best["threshold"]
    all_scores = pos + neg
    lo = max((s for s in all_scores if s < t), default=t)
    hi = min((s for s in all_scores if s >= t), default=t)
    best["interval"] = [round(lo, 4), round(hi, 4)]
    best["threshold"] = round((lo + hi) / 2, 4)
    return best


def calibrate_threshold(guide, path: Path) -> dict:
    rows = score_questions(guide, path)
    for r in rows:
        r["score"] = min(r["grounding"], r["support"]) if r["support"] is not None else r["grounding"]
        if r["rule"] in ("not_mentioned", "answer_type"):
            r["score"] = -1.0  # abstains whatever the threshold
    result = best_threshold(rows)
    result["questions"] = len(rows)
    result["current"] = guide.settings.abstain_threshold
    return result
