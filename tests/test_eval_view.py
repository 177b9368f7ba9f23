"""The web chat's Evaluate tab (guide/eval_view.py, wired in guide/app.py): run a question set
through the chat's own guide and show the summary and the chart.

Uses the deterministic hash embedder, so it runs in seconds."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from guide.web.eval_view import NOTHING_CHOSEN, project_sets, run_evaluation
from guide.evaluation.questions import load_questions
from guide.settings import Settings

REPO = Path(__file__).resolve().parent.parent
DEV_SET = REPO / "evals" / "dev.jsonl"
PARTNER = Path(__file__).resolve().parent / "fixtures" / "evals" / "partner_questions.jsonl"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LABELS = ("source hit@1", "quote recall", "misleading rate", "answered share", "answered without an expected quote",
          "false not covered", "verbatim rate", "citation precision", "abstention precision",
          "abstention recall", "false abstention rate", "latency p50")


@pytest.fixture
def hash_guide(settings, hash_embedder):
    from guide.engine import Guide, ingest

    s = settings.replace(embedder="hash", abstain_threshold=0.05, answer_threshold=0.05)
    ingest(s, embedder=hash_embedder)
    return Guide.open(s, embedder=hash_embedder)


class SpyGuide:
    """The hash guide, counting the questions asked through it."""

    def __init__(self, guide):
        self._guide = guide
        self.asked: list[str] = []

    def ask(self, question, **kwargs):
        self.asked.append(question)
        return self._guide.ask(question, **kwargs)

    def __getattr__(self, name):
        return getattr(self._guide, name)


def thresholds(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "thresholds.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_the_projects_question_sets_are_offered_dev_first():
    sets = project_sets(Settings().evals_dir)
    assert sets[0] == "dev.jsonl"
    assert set(sets) == {p.name for p in (REPO / "evals").glob("*.jsonl")} >= {"dev.jsonl", "hard.jsonl",
                                                                                 "heldout.jsonl"}


def test_a_project_set_runs_through_the_given_guide_and_the_report_is_written(hash_guide, tmp_path):
    spy = SpyGuide(hash_guide)
    view = run_evaluation(spy, set_name="dev.jsonl", out_root=tmp_path / "reports")
    dev = load_questions(DEV_SET)
    assert spy.asked == [q.question for q in dev]  # every question, through the chat's guide object
    assert view.png is not None and view.png.read_bytes().startswith(PNG_MAGIC)
    assert view.report_dir.parent == tmp_path / "reports"
    report = json.loads((view.report_dir / "report.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in report["rows"]] == [q.id for q in dev]
    assert report["gate"]["passed"] is view.passed  # the gate of evals/thresholds.toml was applied
    md = view.markdown
    assert f"{len(dev)} questions" in md and "dev.jsonl" in md
    assert ("Gate passed" in md) is view.passed and ("Gate failed" in md) is (not view.passed)
    for label in LABELS:
        assert f"| {label}" in md
    hit = report["totals"]["source_hit_at_1"]
    assert f"| source hit@1 | {hit:.3f} | ≥ 0.90" in md  # the numbers are the report's
    # ... and the figure that matters most, with its bound from the thresholds file
    mis = report["totals"]["misleading_rate"]
    assert f"| misleading rate | {mis:.3f} | ≤ 0.15" in md
    # the tab says how each source's answers were judged (scope examples or not; issue 19)
    from guide.answer.render import escape_md

    assert report["guide"]["judgement"] and "How answers are judged" in md
    assert all(f"**{escape_md(sid)}**: {escape_md(how)}" in md for sid, how in report["guide"]["judgement"].items())
    assert "\n\n| metric |" in md  # the table still starts a block of its own
    # why questions were hedged or declined, as the report counts them
    for reason, c in report["totals"]["reasons"].items():
        assert f"| {reason.replace('_', ' ')} | {c['answerable']} | {c['unanswerable']} |" in md
    assert "\n\n| state: reason |" in md


def test_a_failing_gate_names_the_failing_metric(hash_guide, tmp_path):
    strict = thresholds(tmp_path, "[questions.min]\nverbatim_rate = 1.0\nsource_hit_at_1 = 1.01\n")
    view = run_evaluation(hash_guide, upload=PARTNER, thresholds=strict, out_root=tmp_path)
    assert view.passed is False
    failing = next(line for line in view.markdown.splitlines() if line.startswith("**Failing:**"))
    assert "source\\_hit\\_at\\_1" in failing and "needs ≥ 1.01" in failing
    assert "verbatim" not in failing  # a metric that passes is not named as failing

    lenient = thresholds(tmp_path, "[questions.min]\nverbatim_rate = 1.0\n")
    view = run_evaluation(hash_guide, upload=PARTNER, thresholds=lenient, out_root=tmp_path)
    assert view.passed is True and "Gate passed" in view.markdown and "Failing" not in view.markdown


def test_an_uploaded_file_is_used_instead_of_the_chosen_set(hash_guide, tmp_path):
    spy = SpyGuide(hash_guide)
    view = run_evaluation(spy, set_name="dev.jsonl", upload=str(PARTNER), out_root=tmp_path)
    assert spy.asked == [q.question for q in load_questions(PARTNER)]
    assert "partner\\_questions.jsonl" in view.markdown and "dev.jsonl" not in view.markdown


def test_a_malformed_upload_gets_one_line_naming_the_line(hash_guide, tmp_path):
    upload = tmp_path / "gradio-cache" / "mine.jsonl"
    upload.parent.mkdir()
    upload.write_text('{"id": "a", "question": "What is co-production?", "answerable": true}\n'
                      "# a comment\n"
                      '{"id": "b", "question": "Unclosed", "answerable": true\n', encoding="utf-8")
    spy = SpyGuide(hash_guide)
    view = run_evaluation(spy, upload=upload, out_root=tmp_path / "reports")
    assert "mine.jsonl, line 3" in view.markdown and "not valid JSON" in view.markdown
    assert "\n" not in view.markdown.strip() and "Traceback" not in view.markdown
    assert str(upload.parent) not in view.markdown  # the server's temp path is not shown
    assert view.png is None and spy.asked == []  # nothing was asked, no report written
    assert not (tmp_path / "reports").exists()

    upload.write_text('{"id": "a", "question": "Why?"}\n', encoding="utf-8")
    view = run_evaluation(hash_guide, upload=upload)
    assert "mine.jsonl, line 1" in view.markdown and "'answerable' is required" in view.markdown


def test_text_from_the_file_is_escaped(hash_guide, tmp_path):
    upload = tmp_path / "<b>team.jsonl"
    line = '{"id": "<img src=x onerror=alert(1)>", "question": "What is co-production?", "answerable": true}\n'
    upload.write_text(line + line, encoding="utf-8")  # a duplicate id: the message quotes the id
    view = run_evaluation(hash_guide, upload=upload)
    assert "<img" not in view.markdown and "<b>" not in view.markdown
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in view.markdown and "line 2" in view.markdown


def test_nothing_chosen_or_an_unknown_set_says_what_to_do(hash_guide):
    spy = SpyGuide(hash_guide)
    assert run_evaluation(spy).markdown == NOTHING_CHOSEN
    view = run_evaluation(spy, set_name="../../etc/passwd")
    assert "No question set called" in view.markdown and view.png is None
    assert spy.asked == []


def test_the_evaluate_tab_runs_through_the_app_api(hash_guide):
    from gradio_client import Client, handle_file

    from guide.web.app import launch
    from guide.web.chat import Chat

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo, url = launch(Chat(hash_guide), host="127.0.0.1", port=port, block=False)
    try:
        client = Client(url, verbose=False, download_files=False)
        try:
            md, chart = client.predict(None, handle_file(str(PARTNER)), api_name="/evaluate")
            set_md, set_chart = client.predict("hard.jsonl", None, api_name="/evaluate")
        finally:
            client.close()
    finally:
        demo.close()
    assert "partner\\_questions.jsonl" in md and "5 questions" in md and "| verbatim rate |" in md
    chart_path = chart["path"] if isinstance(chart, dict) else chart
    assert str(chart_path).endswith("report.png")
    n_hard = len(load_questions(REPO / "evals" / "hard.jsonl"))
    assert "hard.jsonl" in set_md and f"{n_hard} questions" in set_md and set_chart is not None
