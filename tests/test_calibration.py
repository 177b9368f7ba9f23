"""Choosing the two thresholds of the answer states (pure functions, hand-built rows)."""

import pytest

from guide.evaluation.calibration import best_thresholds, rates, states


def row(answerable, grounding, answerability=None, rule=None):
    return {"answerable": answerable, "grounding": grounding,
            "answerability": grounding if answerability is None else answerability, "rule": rule}


ROWS = ([row(True, g) for g in (0.2, 0.5, 0.6, 0.7, 0.8)]
        + [row(False, 0.1), row(False, 0.3), row(False, 0.55), row(False, 0.9, rule="not_mentioned"),
           row(False, 0.75, rule="focus_unsupported")])


def test_rules_fix_a_state_whatever_the_thresholds():
    st = states(ROWS, -1.0, -1.0)
    assert st[-2] == "not_covered" and st[-1] == "related" and st[:5] == ["answered"] * 5


def test_the_not_covered_cut_hides_no_answer_and_the_answer_cut_keeps_the_answered_share():
    r = best_thresholds(ROWS, max_false_not_covered=0.0, min_answered_share=0.8)
    assert r["abstain_threshold"] == pytest.approx(0.15)  # below every answerable question
    assert r["false_not_covered_rate"] == 0.0
    # 4 of 5 answerable answered (0.8): the cut between 0.3 and 0.5 (0.3 becomes related; 0.55 misleads)
    assert r["answer_threshold"] == pytest.approx(0.4) and r["answered_share"] == 0.8
    assert r["misleading_rate"] == pytest.approx(1 / 5)
    strict = best_thresholds(ROWS, max_false_not_covered=0.0, min_answered_share=0.6)
    assert strict["misleading_rate"] == 0.0 and strict["answered_share"] == pytest.approx(0.6)


def test_rates_need_both_kinds_of_question():
    with pytest.raises(ValueError):
        rates([row(True, 0.5)], 0.1, 0.2)


def test_the_not_covered_cut_never_declines_an_answerable_question_for_nothing():
    rows = [row(True, 0.2), row(True, 0.25), row(True, 0.6), row(False, 0.1), row(False, 0.5)]
    # declining the 0.2 answerable question is allowed (1 of 3) but declines no more unanswerable ones
    r = best_thresholds(rows, max_false_not_covered=0.34, min_answered_share=0.0)
    assert r["abstain_threshold"] == pytest.approx(0.15) and r["false_not_covered_rate"] == 0.0
    assert r["not_covered_unanswerable"] == 0.5
