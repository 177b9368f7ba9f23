"""The feedback store (guide/feedback.py) and `guide feedback export`."""

from __future__ import annotations

import csv
import json
import multiprocessing
import threading

import pytest
from click.testing import CliRunner

from guide.web.feedback import MAX_COMMENT_CHARS, FeedbackError, FeedbackStore

SOURCES = [{"marker": 1, "title": "Facing the challenges of co-production in difficult times",
            "link": "https://coproductionscotland.org.uk/news/x#:~:text=Trust", "verified": True}]


def record(i: int, who: str = "t") -> dict:
    """A record whose every field says which writer and which number it is (to catch interleaving)."""
    tag = f"{who}-{i}"
    return dict(session_id=f"session-{who}", turn_id=tag, question=f"question {tag}", answer=f"answer {tag}",
                query=f"query {tag}", abstained=i % 2 == 0, rating="up" if i % 3 else "down",
                comment=f"comment {tag}", sources=[{"marker": 1, "text": f"quote {tag}"}])


def assert_whole(r: dict) -> None:
    tag = r["turn_id"]
    assert r["session_id"] == "session-" + tag.rsplit("-", 1)[0]
    assert (r["question"], r["answer"], r["query"], r["comment"]) == (
        f"question {tag}", f"answer {tag}", f"query {tag}", f"comment {tag}")
    assert r["sources"] == [{"marker": 1, "text": f"quote {tag}"}]


def test_a_record_is_stored_whole_in_a_wal_database(tmp_path):
    store = FeedbackStore(tmp_path / "data" / "feedback.sqlite3")
    rid = store.add(session_id="s", turn_id="t1", question="How do we keep trust?", answer="“Trust is…” [1]",
                    query="trust", abstained=False, rating="up", comment="  useful  ", sources=SOURCES)
    assert store.journal_mode() == "wal"
    r = store.get(rid)
    assert r["question"] == "How do we keep trust?" and r["answer"] == "“Trust is…” [1]"
    assert r["rating"] == "up" and r["comment"] == "useful" and r["abstained"] is False
    assert r["sources"] == SOURCES and r["created_at"] and r["updated_at"] is None


def test_a_rating_or_comment_can_be_changed_and_bad_values_are_refused(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    rid = store.add(session_id="s", turn_id="t", question="q", answer="a", rating="up")
    store.update(rid, rating="down", comment="missed the point")
    r = store.get(rid)
    assert (r["rating"], r["comment"]) == ("down", "missed the point") and r["updated_at"]
    with pytest.raises(FeedbackError, match="rating must be one of"):
        store.add(session_id="s", turn_id="t", question="q", answer="a", rating="meh")
    with pytest.raises(FeedbackError, match=f"the limit is {MAX_COMMENT_CHARS:,}"):
        store.update(rid, comment="x" * (MAX_COMMENT_CHARS + 1))
    with pytest.raises(FeedbackError, match="no feedback record"):
        store.update(rid + 100, rating="up")
    assert store.count() == 1 and store.get(rid)["comment"] == "missed the point"


def test_concurrent_threads_never_lose_or_interleave_a_record(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    stores = [FeedbackStore(path) for _ in range(2)]  # two app instances on one file, too
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for i in range(25):
                store = stores[w % 2]
                rid = store.add(**record(i, f"w{w}"))
                if i % 5 == 0:
                    store.update(rid, comment=f"comment w{w}-{i}")  # same value: updates stay in their row
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    records = FeedbackStore(path).records()
    assert len(records) == 200
    assert len({r["turn_id"] for r in records}) == 200
    for r in records:
        assert_whole(r)


def _process_writer(path: str, who: str, n: int) -> None:
    store = FeedbackStore(path)
    for i in range(n):
        store.add(**record(i, who))


def _rating_app(path: str, who: str, start, threads: int = 4, per_thread: int = 25) -> None:
    """One app process: `threads` visitors at once, each rating answers and commenting on them
    (an add, then an update); 2 writes per answer, threads * per_thread * 2 writes in all."""
    store = FeedbackStore(path, timeout=60)
    start.wait(60)

    def visitor(t: int) -> None:
        for i in range(per_thread):
            rid = store.add(**record(t * per_thread + i, who))
            store.update(rid, rating="down", comment=f"changed {who}-{t * per_thread + i}")

    pool = [threading.Thread(target=visitor, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def test_two_app_processes_rating_and_commenting_at_once_lose_nothing(tmp_path):
    """Two real processes x 200 writes each (100 ratings, each then changed with a comment), all
    started at the same moment on one SQLite file: every row and every change is there."""
    path = str(tmp_path / "feedback.sqlite3")
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_rating_app, args=(path, f"app{k}", start)) for k in (1, 2)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=180)
        assert p.exitcode == 0
    records = FeedbackStore(path).records()
    assert len(records) == 200 and len({r["turn_id"] for r in records}) == 200
    for r in records:
        assert r["rating"] == "down" and r["comment"] == "changed " + r["turn_id"] and r["updated_at"]
        assert r["question"] == f"question {r['turn_id']}" and r["session_id"] == "session-" + r["turn_id"].rsplit("-", 1)[0]


def test_concurrent_processes_never_lose_or_interleave_a_record(tmp_path):
    path = str(tmp_path / "feedback.sqlite3")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(path, f"p{k}", 30)) for k in range(3)]
    for p in procs:
        p.start()
    _process_writer(path, "main", 30)
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    records = FeedbackStore(path).records()
    assert len(records) == 120
    for r in records:
        assert_whole(r)


def test_export_writes_csv_and_json_that_read_back(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    store.add(session_id="s", turn_id="t1", question="How, “exactly”,\nshould we start?", answer="a\n“b”",
              rating="up", comment="=HYPERLINK(\"http://evil\")", sources=SOURCES)
    store.add(session_id="s", turn_id="t2", question="q2", answer="a2", rating="down")
    assert store.export(tmp_path / "out.json", "json") == 2
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert [d["turn_id"] for d in data] == ["t1", "t2"]
    assert data[0]["question"] == "How, “exactly”,\nshould we start?" and data[0]["sources"] == SOURCES
    assert store.export(tmp_path / "out.csv", "csv") == 2
    with open(tmp_path / "out.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["question"] == "How, “exactly”,\nshould we start?"
    assert json.loads(rows[0]["sources"]) == SOURCES
    assert rows[0]["comment"].startswith("'=")  # a spreadsheet shows it as text, never runs it
    assert rows[1]["rating"] == "down" and rows[1]["comment"] == ""
    with pytest.raises(FeedbackError, match="csv or json"):
        store.export(tmp_path / "out.xml", "xml")


def test_guide_feedback_export_command(tmp_path):
    from guide.cli.commands import main
    from guide.settings import Settings

    store = FeedbackStore(Settings.from_env().feedback_db)  # GUIDE_DATA_DIR points to a temp dir
    store.add(session_id="s", turn_id="t", question="q", answer="a", rating="up", sources=SOURCES)
    runner = CliRunner()
    out = tmp_path / "exports" / "fb.csv"
    result = runner.invoke(main, ["feedback", "export", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 1 feedback record to" in result.output
    assert list(csv.DictReader(out.open(encoding="utf-8")))[0]["rating"] == "up"
    result = runner.invoke(main, ["feedback", "export", "--out", str(tmp_path / "fb.json")])
    assert result.exit_code == 0 and json.loads((tmp_path / "fb.json").read_text())[0]["question"] == "q"


def test_an_unusable_data_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(FeedbackError, match="GUIDE_DATA_DIR"):
        FeedbackStore(blocker / "feedback.sqlite3")


def test_visitors_questions_rated_down_become_a_question_set_to_label(tmp_path):
    from guide.cli.commands import main
    from guide.errors import CorpusError
    from guide.evaluation.questions import load_questions
    from guide.settings import Settings

    runner = CliRunner()
    out = tmp_path / "visitors_unlabelled.jsonl"
    result = runner.invoke(main, ["feedback", "questions", "--out", str(out)])
    assert result.exit_code == 1 and "no feedback yet" in result.output and not out.exists()

    store = FeedbackStore(Settings.from_env().feedback_db)  # GUIDE_DATA_DIR points to a temp dir
    store.add(session_id="s", turn_id="1", question="Can we co-produce with people in prison?", answer="“…” [1]",
              abstained=False, rating="down", comment="not about prisons", sources=SOURCES)
    store.add(session_id="s", turn_id="2", question="How do we keep trust?", answer="“…” [1]", rating="up",
              sources=SOURCES)
    store.add(session_id="t", turn_id="3", question="can we  co-produce with people in PRISON?", answer="…",
              rating="down", sources=SOURCES)
    store.add(session_id="s", turn_id="4", question="and what about them?", query="and what about them? — prison",
              answer="…", abstained=True, rating="down", sources=SOURCES)
    result = runner.invoke(main, ["feedback", "questions", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 2 questions" in result.output and "_tune.jsonl" in result.output
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines() if not x.startswith("#")]
    assert [x["question"] for x in lines] == ["Can we co-produce with people in prison?", "and what about them?"]
    assert lines[0]["answerable"] is None and lines[0]["guide_said"] == "answered"
    assert lines[0]["comment"] == "not about prisons" and "query" not in lines[0]
    assert lines[1]["guide_said"] == "declined" and lines[1]["query"] == "and what about them? — prison"
    # unlabelled, the file is refused with its first unlabelled line named
    with pytest.raises(CorpusError, match=r"line 7.*answerable"):
        load_questions(out)
    labelled = out.read_text(encoding="utf-8").replace('"answerable": null', '"answerable": false')
    out.with_name("visitors_tune.jsonl").write_text(labelled, encoding="utf-8")
    assert [q.answerable for q in load_questions(out.with_name("visitors_tune.jsonl"))] == [False, False]
    # never over an existing file: it may hold someone's labels
    before = out.read_text(encoding="utf-8")
    result = runner.invoke(main, ["feedback", "questions", "--all-ratings", "--out", str(out)])
    assert result.exit_code == 1 and "already exists; nothing was written" in result.output
    assert out.read_text(encoding="utf-8") == before
    result = runner.invoke(main, ["feedback", "questions", "--all-ratings", "--out", str(tmp_path / "all.jsonl")])
    assert result.exit_code == 0 and "wrote 3 questions" in result.output
