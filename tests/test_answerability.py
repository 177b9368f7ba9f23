"""Answer judgement on documents nobody labelled (issue 19): the answerability reader, the
per-source judgement, `guide eval --corpus`.

The composer tests use the invented garden document of tests/test_compose.py (never corpus/)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from guide.answer.compose import ANSWERED, RELATED
from guide.answer.scope import CORPUS_GROUP, Example, ScopeModel
from guide.evaluation import metrics as M

from tests.test_compose import ask, composer, doc, embed  # noqa: F401  (doc is a fixture)

REPO = Path(__file__).resolve().parent.parent


class ScriptedReader:
    """A reader that gives the probabilities it is told, by a word the sentence holds."""

    name = "scripted"

    def __init__(self, by_word: dict[str, float]):
        self.by_word = by_word
        self.asked: list[tuple[str, list[str]]] = []

    def probabilities(self, question, sentences):
        self.asked.append((question, list(sentences)))
        return np.asarray([max((p for w, p in self.by_word.items() if w in s.lower()), default=0.0)
                           for s in sentences], dtype=np.float32)


def test_without_scope_examples_the_reader_decides_answered_or_related(doc):  # noqa: F811
    question = "when do volunteers feel valued and stay?"
    comp = composer(doc, answer_threshold=0.3)
    comp.reader, comp.reader_threshold = ScriptedReader({"valued": 0.9}), 0.5
    a = ask(comp, question)
    assert a.status == ANSWERED and a.signals["reader"] == pytest.approx(0.9) and a.signals["scope_examples"] is False
    comp.reader = ScriptedReader({"valued": 0.2})  # the passages are about it, but no sentence answers it
    b = ask(comp, question)
    assert b.status == RELATED and b.reason == "no_answer_found" and b.quotes  # the nearest passages, labelled


def test_the_reader_judges_but_reorders_only_when_asked_to(doc):  # noqa: F811
    from guide.answer.compose import ScoringConfig

    question = "when do volunteers feel valued, and when did the rain delay planting?"
    comp = composer(doc, answer_threshold=0.3)
    before = [q.text for q in ask(comp, question).quotes]
    assert len(before) >= 2 and "Rain" not in before[0]
    comp.reader, comp.reader_threshold = ScriptedReader({"rain in april": 0.95, "valued": 0.3}), 0.5
    assert [q.text for q in ask(comp, question).quotes] == before  # by default the reader only judges
    comp.scoring = ScoringConfig(reader=1.0)
    after = ask(comp, question)
    assert after.quotes[0].text.startswith("Rain in April")  # it moved to the front


def test_where_scope_examples_cover_the_source_the_reader_is_not_asked(doc):  # noqa: F811
    question = "when do volunteers feel valued and stay?"
    comp = composer(doc, answer_threshold=0.3)
    comp.reader = reader = ScriptedReader({"valued": 0.0})
    comp.scope = ScopeModel.build([Example("volunteers feel valued", True, CORPUS_GROUP),
                                   Example("what is the hourly rate?", False, "tune")],
                                  lambda texts: [embed(t).tolist() for t in texts], sources={"garden"})
    a = ask(comp, question)
    assert a.status == ANSWERED and a.signals["scope_examples"] is True and "reader" not in a.signals
    assert reader.asked == []
    assert "scope examples" in comp.judgement("garden") and "reader" in comp.judgement("someone-elses-report")


def test_first_quote_hit_is_the_answer_in_the_first_quote_only():
    assert M.first_quote_hit(["1,230 km"], "It is about 1,230 km (760 mi) long.") == 1.0
    assert M.first_quote_hit(["1,230 km"], "It begins in the Alps.") == 0.0
    assert M.first_quote_hit(["1,230 km"], None) == 0.0  # nothing quoted
    assert M.first_quote_hit([], "anything") is None  # nothing expected: not applicable


def test_reader_settings_are_checked():
    from guide.errors import SettingsError
    from guide.settings import Settings

    assert Settings.from_env({"GUIDE_READER": "off"}).reader == "off"
    with pytest.raises(SettingsError, match="GUIDE_READER='bogus'"):
        Settings.from_env({"GUIDE_READER": "bogus"})
    with pytest.raises(SettingsError, match="GUIDE_READER_THRESHOLD"):
        Settings.from_env({"GUIDE_READER_THRESHOLD": "1.5"})


def _mini_corpus(tmp_path: Path) -> Path:
    d = tmp_path / "mycorpus"
    d.mkdir()
    (d / "sources.toml").write_text('[[source]]\nid = "garden"\ntitle = "Growing together"\nkind = "document"\n'
                                    'url = "https://example.org/garden"\nfile = "garden.md"\n', encoding="utf-8")
    from tests.test_compose import TEXT

    (d / "garden.md").write_text("---\nid: garden\ntitle: Growing together\nkind: document\n---\n\n" + TEXT,
                                 encoding="utf-8")
    rows = [{"id": "q1", "question": "Why do volunteers stay?", "answerable": True, "sources": ["garden"],
             "quotes": ["Volunteers stay when they feel valued."]},
            {"id": "q2", "question": "What did the sourdough cost?", "answerable": False}]
    (d / "garden_tune.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return d


def test_eval_on_another_corpus_uses_its_own_temporary_index_and_says_how_it_judged(tmp_path):
    corpus = _mini_corpus(tmp_path)
    index = tmp_path / "my-index"
    env = {**os.environ, "GUIDE_EMBEDDER": "hash", "GUIDE_ABSTAIN_THRESHOLD": "0.05", "GUIDE_INDEX_DIR": str(index)}
    out = tmp_path / "report"
    r = subprocess.run([sys.executable, "-m", "guide.cli", "eval", "--corpus", str(corpus), "--out", str(out),
                        "--no-progress"], capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert not index.exists()  # the user's index was never built or touched
    report = json.loads((out / "report.json").read_text())
    assert report["totals"]["questions"] == 2 and report["corpus"] == str(corpus)
    assert set(report["guide"]["judgement"]) == {"garden"} and "no scope examples" in report["guide"]["judgement"]["garden"]
    assert "How answers are judged" in (out / "report.md").read_text()
    assert "gate" not in report  # the dev set's thresholds are not this corpus's


def test_eval_corpus_without_a_manifest_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    r = subprocess.run([sys.executable, "-m", "guide.cli", "eval", "--corpus", str(tmp_path / "empty")],
                       capture_output=True, text=True, timeout=120, cwd=REPO,
                       env={**os.environ, "GUIDE_EMBEDDER": "hash"})
    assert r.returncode != 0 and "no sources.toml" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_the_readers_cut_answers_the_fewest_unanswerable_while_keeping_three_quarters_answered():
    from guide.evaluation.calibration import best_reader_threshold, reader_states

    rows = ([{"answerable": True, "base": "answered", "reader": p} for p in (0.9, 0.8, 0.7, 0.2)]
            + [{"answerable": False, "base": "answered", "reader": p} for p in (0.75, 0.3, 0.1)]
            + [{"answerable": False, "base": "not_covered", "reader": None}])
    best = best_reader_threshold(rows)
    # 0.5 (between 0.3 and 0.7) keeps 3 of 4 answerable answered (the floor) and answers 1 unanswerable
    # (0.75): no cut does better, and of the equal ones it is the lowest
    assert best["reader_threshold"] == pytest.approx(0.5) and best["answered_share"] == 0.75
    assert best["misleading_rate"] == pytest.approx(1 / 4)
    assert reader_states(rows, 0.5)[-1] == "not_covered"  # the reader never lifts or lowers another state


@pytest.mark.real
def test_the_shipped_reader_tells_the_answer_from_a_swapped_entity():
    """Sentences and questions from the evaluation tier's Rhine article (Wikipedia via SQuAD 2.0,
    CC BY-SA 4.0), which the reader was never trained on."""
    from guide.answer.answerability import OnnxReader

    reader = OnnxReader()
    sentence = ("The biggest city on the river Rhine is Cologne, Germany with a population of more than "
                "1,050,000 people.")
    answers, swapped = reader.probabilities("What is the largest city the Rhine runs through?", [sentence])[0], \
        reader.probabilities("What is the population of the Netherlands?", [sentence])[0]
    assert answers > 0.5 > swapped  # the same sentence answers one and not the other


def test_a_reader_file_that_fails_its_checksum_is_a_one_line_error(tmp_path):
    from guide.answer.answerability import MODEL_DIR, PINS, OnnxReader
    from guide.errors import ModelError

    broken = tmp_path / "answerability"
    shutil.copytree(MODEL_DIR, broken)
    data = bytearray((broken / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (broken / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="fails its sha256 check") as e:
        OnnxReader(broken, pins=PINS)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("question, fact", [
    ("How long is the Rhine?", True), ("Who wrote the blog?", True), ("The Rhine flows through which country?", True),
    ("When was Warsaw founded?", True),
    ("We've had cuts. Can we still co-produce?", False), ("How do we rebuild trust?", False),
    ("What should we ask ourselves?", False), ("Why does the blog think trust matters?", False),
])
def test_questions_asking_for_a_fact_are_told_from_advice_and_judgement(question, fact):
    from guide.answer.answerability import asks_for_a_fact

    assert asks_for_a_fact(question) is fact


def test_the_reader_judges_only_questions_that_ask_for_a_fact(doc):  # noqa: F811
    comp = composer(doc, answer_threshold=0.3)
    comp.reader = reader = ScriptedReader({})  # it would say no to everything
    assert ask(comp, "how do we keep volunteers feeling valued?").status == ANSWERED  # advice: on relevance, as before
    assert reader.asked == []
    assert ask(comp, "when do volunteers feel valued and stay?").status == RELATED and reader.asked
