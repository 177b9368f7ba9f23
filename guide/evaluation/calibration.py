"""Calibrating the two thresholds of the answer states on tuning question sets.

Every question is asked once with both thresholds disabled, recording its two scores:
`grounding` (the best evidence, or the follow-up's own support if lower) and `answerability`
(guide/answer/compose.py `ScoringConfig.answerability`). Rules that no threshold changes (a name
the sources never mention -> not_covered; an answer type, comparison or resource they do not
give -> at best related) are kept as they are. Then, pure functions choose:

1. the **not-covered threshold** (`GUIDE_ABSTAIN_THRESHOLD`, on grounding): of the cuts that
   decline at most `max_false_not_covered` of the answerable questions (a wrong "not covered"
   hides an answer the sources have), the one declining the most unanswerable ones; of equals,
   the one declining the fewest answerable ones, then the lowest;
2. the **answer threshold** (`GUIDE_ANSWER_THRESHOLD`, on answerability): the cut that answers
   the fewest unanswerable questions while keeping at least `min_answered_share` of the answerable
   ones fully answered (a hedge costs the user too). Ties go to the higher answered share.

Each threshold is the midpoint between the two scores either side of its cut. The tuning sets
are `Settings.calibration_sets` (dev, hard and the practitioner tuning halves); held-out sets are
never used. With scope examples, the answer threshold is calibrated a second time without them
(`without_scope`, from the same answers with the scope margin taken out of their answerability):
the cut a guide uses when it has none (`Settings.answer_cut_without_scope`).
"""

from __future__ import annotations

from pathlib import Path

from guide.evaluation.evaluate import scope_left_out
from guide.evaluation.questions import load_questions

NOT_COVERED_RULES = ("not_mentioned",)  # not_covered whatever the thresholds
RELATED_RULES = ("answer_type", "focus_unsupported", "opposite", "negation", "swapped", "other_time")  # at best related whatever the thresholds

MAX_FALSE_NOT_COVERED = 0.04  # the held-out target is 0.05: keep a margin, as for the answered share
MIN_ANSWERED_SHARE = 0.75  # the held-out target is 0.70: keep a margin


def score_questions(guide, path: Path) -> list[dict]:
    """One row per question: answerable, grounding, answerability and any rule that fixed its state."""
    rows = []
    comp = guide.composer
    saved = comp.threshold, comp.answer_threshold, comp.focus_when_needed
    comp.threshold, comp.answer_threshold = -1.0, -1.0  # measure without either cut
    comp.focus_when_needed = False  # and score the focus every time: any cut may be chosen
    questions = load_questions(path)
    try:
        with scope_left_out(guide, [q.question for q in questions]):  # leave this set's examples out
            rows += [_row(guide, q) for q in questions]
    finally:
        comp.threshold, comp.answer_threshold, comp.focus_when_needed = saved
    return rows


def _row(guide, q) -> dict:
    a = guide.ask(q.question, history=list(q.history))
    rule = a.reason if a.reason in NOT_COVERED_RULES + RELATED_RULES else None
    grounding = a.grounding if a.support is None else min(a.grounding, a.support)
    answerability = a.signals.get("answerability", grounding)
    # the same without the scope margin: what a guide with no scope examples would compute (with
    # both cuts disabled the margin moves no answer, so nothing needs asking twice)
    bare = answerability
    if "answerability" in a.signals and a.signals.get("scope_margin") is not None:
        bare = round(guide.composer.scoring.answerability(grounding, a.signals.get("focus_logit")), 4)
    return {"id": q.id, "answerable": q.answerable, "grounding": grounding, "answerability": answerability,
            "answerability_without_scope": bare, "rule": rule}


def _cuts(values: list[float]) -> list[float]:
    v = sorted(set(values))
    return [v[0] - 0.01] + [(a + b) / 2 for a, b in zip(v, v[1:])] + [v[-1] + 0.01]


def states(rows: list[dict], not_covered_below: float, answered_from: float) -> list[str]:
    """Pure: the state each row gets under the two thresholds."""
    out = []
    for r in rows:
        if r.get("rule") in NOT_COVERED_RULES or r["grounding"] < not_covered_below:
            out.append("not_covered")
        elif r.get("rule") in RELATED_RULES or r["answerability"] < answered_from:
            out.append("related")
        else:
            out.append("answered")
    return out


def rates(rows: list[dict], not_covered_below: float, answered_from: float) -> dict[str, float]:
    """Pure: false not-covered, answered share (answerable) and misleading rate (unanswerable)."""
    st = states(rows, not_covered_below, answered_from)
    ans = [s for s, r in zip(st, rows) if r["answerable"]]
    unans = [s for s, r in zip(st, rows) if not r["answerable"]]
    if not ans or not unans:
        raise ValueError("calibration needs both answerable and unanswerable questions")
    return {"false_not_covered_rate": ans.count("not_covered") / len(ans),
            "answered_share": ans.count("answered") / len(ans),
            "misleading_rate": unans.count("answered") / len(unans),
            "not_covered_unanswerable": unans.count("not_covered") / len(unans)}


def best_thresholds(rows: list[dict], *, max_false_not_covered: float = MAX_FALSE_NOT_COVERED,
                    min_answered_share: float = MIN_ANSWERED_SHARE) -> dict:
    """Pure: the two thresholds (see the module's docstring) and the rates they give on `rows`."""
    free = [r for r in rows if r.get("rule") not in NOT_COVERED_RULES]
    nc_cuts = [t for t in _cuts([r["grounding"] for r in free])
               if rates(rows, t, -99.0)["false_not_covered_rate"] <= max_false_not_covered + 1e-12]
    # the cut that declines the most unanswerable questions; of equals, the one declining the
    # fewest answerable ones, then the lowest (never decline an answerable question for nothing)
    def nc_key(t: float) -> tuple:
        m = rates(rows, t, -99.0)
        return (m["not_covered_unanswerable"], -m["false_not_covered_rate"], -t)

    not_covered_below = max(nc_cuts, key=nc_key) if nc_cuts else min(r["grounding"] for r in free) - 0.01
    best = None
    for t in _cuts([r["answerability"] for r in free]):
        m = rates(rows, not_covered_below, t)
        if m["answered_share"] < min_answered_share - 1e-12:
            continue
        key = (m["misleading_rate"], -m["answered_share"])
        if best is None or key < best[0]:
            best = (key, t)
    answered_from = best[1] if best else not_covered_below
    return {"abstain_threshold": round(not_covered_below, 4), "answer_threshold": round(answered_from, 4),
            **rates(rows, not_covered_below, answered_from)}


def calibrate_thresholds(guide, paths: Path | list[Path], **bounds) -> dict:
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    rows = [r for p in paths for r in score_questions(guide, p)]
    result = best_thresholds(rows, **bounds)
    s = guide.settings
    result["questions"] = len(rows)
    result["sets"] = [str(p) for p in paths]
    comp = guide.composer
    cut = comp.answer_threshold  # the cut in effect (Guide.assemble: with or without scope examples)
    result["current"] = {"abstain_threshold": s.abstain_threshold, "answer_threshold": cut,
                         **rates(rows, s.abstain_threshold, cut)}
    if comp.scope is not None:
        # the answer threshold for a guide without scope examples (Settings.answer_cut_without_scope)
        bare = [{**r, "answerability": r["answerability_without_scope"]} for r in rows]
        result["without_scope"] = best_thresholds(bare, **bounds)
        result["without_scope"]["current"] = {"answer_threshold": s.answer_cut_without_scope,
                                              **rates(bare, s.abstain_threshold, s.answer_cut_without_scope)}
    return result


# --- the answerability reader's threshold (issue 19) ----------------------------------------------
def reader_rows(guide, path: Path) -> list[dict]:
    """One row per question of a corpus without scope examples: answerable, the state without the
    reader's cut (`base`), and the reader's probability (None when it was not consulted)."""
    comp = guide.composer
    saved = comp.reader_threshold
    comp.reader_threshold = 0.0  # measure without the reader's cut
    try:
        rows = []
        for q in load_questions(path):
            a = guide.ask(q.question, history=list(q.history))
            rows.append({"id": q.id, "answerable": q.answerable, "base": a.status, "reader": a.signals.get("reader")})
        return rows
    finally:
        comp.reader_threshold = saved


def reader_states(rows: list[dict], cut: float) -> list[str]:
    """Pure: the state each row gets when the reader's cut is `cut`."""
    return ["related" if r["base"] == "answered" and r["reader"] is not None and r["reader"] < cut else r["base"]
            for r in rows]


def best_reader_threshold(rows: list[dict], *, min_answered_share: float = MIN_ANSWERED_SHARE) -> dict:
    """Pure: the reader's cut that answers the fewest unanswerable questions while at least
    `min_answered_share` of the answerable ones stay answered (ties: the higher answered share),
    as for the answer threshold; and the rates it gives."""
    def measure(cut: float) -> dict:
        st = reader_states(rows, cut)
        ans = [s for s, r in zip(st, rows) if r["answerable"]]
        unans = [s for s, r in zip(st, rows) if not r["answerable"]]
        return {"answered_share": ans.count("answered") / len(ans),
                "misleading_rate": unans.count("answered") / len(unans),
                "false_not_covered_rate": ans.count("not_covered") / len(ans)}

    values = [r["reader"] for r in rows if r["reader"] is not None]
    best = None
    for cut in [0.0] + _cuts(values):
        m = measure(cut)
        if m["answered_share"] < min_answered_share - 1e-12:
            continue
        key = (m["misleading_rate"], -m["answered_share"])
        if best is None or key < best[0]:
            best = (key, cut, m)
    cut, m = (best[1], best[2]) if best else (0.0, measure(0.0))
    return {"reader_threshold": round(cut, 4), **m}


def calibrate_reader(settings, corpora: list[Path], **bounds) -> dict:
    """The reader's threshold from the tuning halves (`*_tune.jsonl`) of corpora nobody labelled
    (evals/corpora/*/), each in its own temporary index without scope examples."""
    from guide.evaluation.evaluate import corpus_guide

    rows: list[dict] = []
    per: dict[str, dict] = {}
    for d in corpora:
        tunes = sorted(Path(d).glob("*_tune.jsonl"))
        with corpus_guide(settings, Path(d)) as guide:
            found = [r for t in tunes for r in reader_rows(guide, t)]
        per[Path(d).name] = {"questions": len(found), "current": _reader_rates(found, settings.reader_threshold)}
        rows += found
    result = best_reader_threshold(rows, **bounds)
    result["questions"] = len(rows)
    result["current"] = _reader_rates(rows, settings.reader_threshold)
    result["per_corpus"] = per
    return result


def _reader_rates(rows: list[dict], cut: float) -> dict:
    st = reader_states(rows, cut)
    ans = [s for s, r in zip(st, rows) if r["answerable"]]
    unans = [s for s, r in zip(st, rows) if not r["answerable"]]
    return {"reader_threshold": cut, "answered_share": round(ans.count("answered") / max(1, len(ans)), 4),
            "misleading_rate": round(unans.count("answered") / max(1, len(unans)), 4),
            "false_not_covered_rate": round(ans.count("not_covered") / max(1, len(ans)), 4)}
