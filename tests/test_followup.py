"""Elliptical follow-ups are resolved against earlier turns without an LLM."""

from __future__ import annotations

from guide.answer.followup import resolve

TRUST = [{"role": "user", "content": "how do we rebuild trust?"},
         {"role": "assistant", "content": "“What actions can we take to ensure trust is maintained?” [1]"}]


def test_first_question_is_searched_as_asked():
    r = resolve("How do we rebuild trust?", [])
    assert r.query == "How do we rebuild trust?" and not r.rewritten


def test_pronoun_follow_up_folds_in_the_previous_question():
    r = resolve("what should we ask ourselves about it?", TRUST)
    assert r.rewritten and "rebuild trust" in r.query and r.query.startswith("what should we ask ourselves")
    assert r.own_terms == ()  # "ask ourselves" asks for something; it names no topic


def test_new_topic_follow_up_is_searched_on_its_own():
    r = resolve("and what about burnout?", TRUST)
    assert not r.rewritten and r.query == "and what about burnout?"


def test_assistant_turns_are_not_searched_and_chains_resolve():
    history = TRUST + [{"role": "user", "content": "why does that matter?"}, {"role": "assistant", "content": "..."}]
    r = resolve("any case study on it?", history)
    assert "rebuild trust" in r.query and "What actions" not in r.query


def test_a_complete_new_question_is_not_rewritten():
    r = resolve("How do we keep volunteers involved after job losses?", TRUST)
    assert not r.rewritten
