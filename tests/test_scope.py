"""Out-of-scope detection over labelled examples (guide/answer/scope.py), with hand-built vectors.

The example texts are invented for these tests; they are not, and never enter, corpus/."""

from __future__ import annotations

import json

import numpy as np
import pytest

from guide.answer.compose import ANSWERED, RELATED, ScoringConfig
from guide.answer.scope import CORPUS_GROUP, Example, ScopeModel, examples_from_sets, excluding
from guide.evaluation.evaluate import QuestionSet, run_sets, scope_left_out
from guide.evaluation.questions import EvalQuestion

from tests.test_compose import ask, composer, doc, embed  # noqa: F401  (doc is a fixture)


def unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def model() -> ScopeModel:
    examples = [Example("volunteers stay when valued", True, CORPUS_GROUP),
                Example("how do we keep volunteers?", True, "tune"),
                Example("what is the hourly rate for volunteers?", False, "tune"),
                Example("which grant should we apply for?", False, "other")]
    return ScopeModel(examples, np.stack([unit(1, 0, 0), unit(1, 0.2, 0), unit(0, 1, 0), unit(0, 0, 1)]))


def test_the_margin_is_nearest_in_scope_minus_nearest_out_of_scope():
    m = model()
    assert m.margin(unit(1, 0.1, 0)) > 0.5  # next to what the sources answer
    assert m.margin(unit(0.1, 1, 0)) < -0.5  # next to a question they do not answer
    # leaving a group out removes its examples: without "tune", the nearest unanswerable is "other"
    assert m.margin(unit(0.1, 1, 0), exclude={"tune"}) > m.margin(unit(0.1, 1, 0))
    with excluding({"tune"}):
        assert m.margin(unit(0.1, 1, 0)) == m.margin(unit(0.1, 1, 0), exclude={"tune"})
    assert m.margin(unit(0.1, 1, 0)) < -0.5  # outside the context manager: all examples again
    assert m.margin(unit(1, 0, 0), exclude={"tune", "other"}) is None  # no out-of-scope example left


def test_the_groups_holding_a_sets_questions_are_found_by_their_words_not_their_file_name():
    m = model()
    assert m.groups_with(["What is the HOURLY rate for volunteers"]) == {"tune"}
    assert m.groups_with(["volunteers stay when valued"]) == frozenset()  # the corpus is never left out
    assert m.groups_with(["a question nobody wrote"]) == frozenset()


def test_examples_come_from_single_questions_of_the_sets_that_exist(tmp_path):
    f = tmp_path / "tune.jsonl"
    rows = [{"id": "a", "question": "how do we keep volunteers?", "answerable": True, "sources": [], "quotes": []},
            {"id": "b", "question": "and then?", "answerable": True, "sources": [], "quotes": [],
             "history": [{"role": "user", "content": "how do we keep volunteers?"},
                         {"role": "assistant", "content": "..."}]},
            {"id": "c", "question": "hourly rate?", "answerable": False, "sources": [], "quotes": []}]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    got = examples_from_sets([f, tmp_path / "missing.jsonl"])
    assert got == [Example("how do we keep volunteers?", True, "tune"), Example("hourly rate?", False, "tune")]
    assert got[0].sources == ()


def test_a_question_next_to_an_unanswerable_example_is_related_not_answered(doc):  # noqa: F811
    question = "how do we keep volunteers? they feel valued when?"
    plain = composer(doc, answer_threshold=0.3)
    assert ask(plain, question).status == ANSWERED
    scoped = composer(doc, answer_threshold=0.3)
    scoped.scoring = ScoringConfig(scope=1.0)
    examples = [Example("rain delayed planting", True, CORPUS_GROUP),
                Example(question, False, "tune")]  # the very question, labelled unanswerable
    scoped.scope = ScopeModel.build(examples, lambda texts: [embed(t).tolist() for t in texts], sources={"garden"})
    a = ask(scoped, question)
    assert a.status == RELATED and a.reason == "weak_support" and a.signals["scope_margin"] < 0
    assert a.signals["scope_examples"] is True
    with excluding({"tune"}):  # measured as a held-out question would be: no example left out of scope
        b = ask(scoped, question)
    assert b.status == ANSWERED and b.signals["scope_margin"] is None


def test_scope_examples_about_another_source_do_not_judge_this_one(doc):  # noqa: F811
    """The tuning sets are about the blog: a question answered from a practitioner's own document
    is judged without their margin (and says so), not pushed down by examples about the blog."""
    question = "how do we keep volunteers? they feel valued when?"
    scoped = composer(doc, answer_threshold=0.3)
    scoped.scoring = ScoringConfig(scope=1.0)
    examples = [Example("rain delayed planting", True, CORPUS_GROUP), Example(question, False, "tune")]
    scoped.scope = ScopeModel.build(examples, lambda texts: [embed(t).tolist() for t in texts], sources={"the-blog"})
    a = ask(scoped, question)
    assert a.status == ANSWERED and a.signals["scope_margin"] is None and a.signals["scope_examples"] is False


class RecordingGuide:
    """Records which scope groups were left out while each question was asked."""

    def __init__(self, scope: ScopeModel):
        self.composer = type("C", (), {"scope": scope})()
        self.left_out: list[frozenset] = []
        self.manifest = type("M", (), {"sources": []})()
        self.texts: dict = {}

    def ask(self, question, history=None, source=None):
        from guide.answer import scope as scope_module

        self.left_out.append(scope_module._EXCLUDED.get())
        raise RuntimeError("stop here")  # the row's scoring is not what this test is about


def test_an_eval_of_a_tuning_set_leaves_its_own_examples_out_and_a_held_out_set_leaves_none():
    g = RecordingGuide(model())
    tuning = QuestionSet("copy-of-tune", None, [EvalQuestion("t1", "what is the hourly rate for volunteers?", False)])
    held = QuestionSet("heldout", None, [EvalQuestion("h1", "a question nobody wrote", True)])
    for qs in (tuning, held):
        with pytest.raises(RuntimeError):
            run_sets(g, [qs], progress=False)
    assert g.left_out == [frozenset({"tune"}), frozenset()]
    with scope_left_out(object(), ["anything"]):  # a guide without a scope model: nothing to leave out
        pass


class BagEmbedder:
    def embed_documents(self, texts):
        return [embed(t).tolist() for t in texts]


def _write(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_the_guide_builds_its_scope_from_the_tuning_sets_and_a_broken_file_only_turns_it_off(tmp_path, doc, caplog):  # noqa: F811
    from guide.engine import scope_for
    from guide.search.chunking import chunk_document
    from guide.settings import Settings

    settings = Settings(evals_dir=tmp_path, embedder="minilm")
    chunks = chunk_document(doc)
    _write(tmp_path / "dev.jsonl", [
        {"id": "a", "question": "how do we keep volunteers?", "answerable": True, "sources": ["https://example.org/garden/"],
         "quotes": []},
        {"id": "b", "question": "what is the hourly rate?", "answerable": False, "sources": [], "quotes": []}])
    scope = scope_for(settings, chunks, BagEmbedder())
    groups = {e.group for e in scope.examples}
    assert groups == {CORPUS_GROUP, "dev"} and sum(not e.in_scope for e in scope.examples) == 1
    assert scope.covers("garden") and not scope.covers("my-own-report")  # the source its questions name, by URL
    assert scope_for(settings.replace(embedder="hash"), chunks, BagEmbedder()) is None  # not calibrated for it

    (tmp_path / "dev.jsonl").write_text('{"id": "a", "question": \n')  # a broken tuning file
    with caplog.at_level("WARNING"):
        assert scope_for(settings, chunks, BagEmbedder()) is None
    assert "scope examples not used" in caplog.text
