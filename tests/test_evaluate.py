"""`guide eval` over question sets: the documented format, reports, comparison and the gate.

Fast tests use the deterministic hash embedder; the gate tests (`real`) run the project's dev
set through the real guide, and through the same guide with a deliberately broken retriever.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from guide.cli.commands import main
from guide.evaluation.evaluate import evaluate, gate, load_thresholds, resolve_sources, source_keys
from guide.evaluation.questions import load_questions

REPO = Path(__file__).resolve().parent.parent
DEV_SET = REPO / "evals" / "dev.jsonl"
THRESHOLDS = REPO / "evals" / "thresholds.toml"
PARTNER = Path(__file__).resolve().parent / "fixtures" / "evals" / "partner_questions.jsonl"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def hash_guide(settings, hash_embedder):
    from guide.engine import Guide, ingest

    s = settings.replace(embedder="hash")
    ingest(s, embedder=hash_embedder)
    return Guide.open(s, embedder=hash_embedder)


@pytest.fixture
def hash_env(monkeypatch):
    """The CLI builds its own guide: make it the fast deterministic one."""
    monkeypatch.setenv("GUIDE_EMBEDDER", "hash")


def write_thresholds(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(*args: str):
    return CliRunner().invoke(main, ["eval", "--no-progress", *args], catch_exceptions=False)


# --- the format -------------------------------------------------------------------------------
def test_someone_elses_question_file_runs_unchanged(tmp_path, hash_env):
    only_verbatim = write_thresholds(tmp_path / "t.toml", "[questions.min]\nverbatim_rate = 1.0\n")
    out = tmp_path / "report"
    result = run_cli("--questions", str(PARTNER), "--out", str(out), "--thresholds", str(only_verbatim))
    assert result.exit_code == 0, result.output + result.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in report["rows"]] == [q.id for q in load_questions(PARTNER)]
    assert all(r["error"] is None for r in report["rows"])
    assert report["totals"]["answerable"] == 3 and report["totals"]["unanswerable"] == 2
    follow_up = next(r for r in report["rows"] if r["id"] == "ws-trust-2")
    assert follow_up["history_turns"] == 2 and follow_up["rewritten"]  # asked with its history, as the chat does
    md = (out / "report.md").read_text(encoding="utf-8")
    assert all(q.id in md for q in load_questions(PARTNER)) and "Gate: PASSED" in md
    assert (out / "report.png").read_bytes().startswith(PNG_MAGIC)
    assert "verbatim_rate" in result.output


def test_sources_may_be_named_by_url_in_any_spelling_or_by_id(hash_guide):
    keys = source_keys(hash_guide.manifest)
    named = ["http://www.coproductionscotland.org.uk/news/facing-the-challenges-of-co-production-in-difficult-times/",
             "facing-the-challenges", "https://example.org/not-a-source"]
    assert resolve_sources(named, keys) == ["facing-the-challenges", "https://example.org/not-a-source"]


def test_every_shown_quote_is_checked_and_scores_come_per_question_and_in_total(hash_guide):
    result = evaluate(hash_guide, [PARTNER], progress=False)
    t = result["totals"]
    shown = [s for r in result["rows"] for s in r.get("shown", [])]
    assert t["shown_quotes"] == len(shown) > 0
    assert t["verbatim_rate"] == 1.0 and all(s["verbatim"] and s["citation_ok"] for s in shown)
    for r in result["rows"]:
        assert r["latency_ms"] > 0 and 0 <= r["grounding"] <= 1.5
        if r["answerable"]:
            assert r["quote_recall"] in (0.0, 1.0)  # one expected quote each in this file
    assert t["latency_p50_ms"] <= t["latency_p95_ms"]


def test_each_answer_state_is_reported_per_question_and_counted(tmp_path, hash_guide):
    from guide.evaluation.report import write_report

    result = evaluate(hash_guide, [PARTNER], progress=False)
    rows = result["rows"]
    assert all(r["status"] in ("answered", "related", "not_covered") for r in rows)
    assert all((r["reason"] is None) == (r["status"] == "answered") for r in rows)
    t = result["totals"]
    unans = [r for r in rows if not r["answerable"]]
    if unans:
        assert t["misleading_rate"] == sum(r["status"] == "answered" for r in unans) / len(unans)
    ans = [r for r in rows if r["answerable"]]
    assert t["answered_share"] == sum(r["status"] == "answered" for r in ans) / len(ans)
    answered = [r for r in ans if r["status"] == "answered" and "quote_recall" in r]
    if answered:  # and how many of those answers show none of the expected passages
        assert t["answered_off_target_rate"] == sum(r["quote_recall"] == 0 for r in answered) / len(answered)
    md = write_report(result, tmp_path / "r")["md"].read_text(encoding="utf-8")
    assert "| status |" in md and "misleading_rate" in md and "answered_share" in md
    assert "| answered_off_target_rate |" in md
    assert rows[0]["status"] in md
    # why each question was hedged or declined, counted by kind of question
    hedged = [r for r in rows if r["status"] != "answered"]
    assert sum(c["answerable"] + c["unanswerable"] for c in t["reasons"].values()) == len(hedged)
    for r in hedged:
        assert t["reasons"][f"{r['status']}: {r['reason']}"]["answerable" if r["answerable"] else "unanswerable"] >= 1
        assert f"| {r['status']}: {r['reason']} |" in md


def test_a_question_the_guide_refuses_is_a_failed_row_not_a_crash(tmp_path, hash_guide):
    f = tmp_path / "q.jsonl"
    f.write_text("\n".join(json.dumps(d) for d in [
        {"id": "ok", "question": "How do we keep people's trust?", "answerable": True,
         "sources": ["facing-the-challenges"], "quotes": ["It takes time to build and can be easily lost."]},
        {"id": "too-long", "question": "trust " * 400, "answerable": True, "sources": ["facing-the-challenges"],
         "quotes": ["It takes time to build"]},
    ]), encoding="utf-8")
    result = evaluate(hash_guide, [f], progress=False)
    bad = next(r for r in result["rows"] if r["id"] == "too-long")
    assert "QuestionError" in bad["error"] and "limit" in bad["error"]
    assert result["totals"]["errors"] == 1
    ok = next(r for r in result["rows"] if r["id"] == "ok")
    assert result["totals"]["quote_recall"] == pytest.approx(ok["quote_recall"] / 2)  # the error counts as a miss
    assert not gate(result["totals"], {"min": {}, "max": {"errors": 0}})["passed"]


def test_several_question_files_get_totals_each(hash_guide):
    result = evaluate(hash_guide, [DEV_SET, PARTNER], progress=False)
    assert set(result["per_set"]) == {"dev", "partner_questions"}
    assert result["per_set"]["partner_questions"]["questions"] == 5
    assert result["totals"]["questions"] == len(load_questions(DEV_SET)) + 5
    dev = [r for r in result["rows"] if r["set"] == "dev" and r["status"] == "answered" and "quote_recall" in r]
    assert result["per_set"]["dev"]["answered_off_target_rate"] == sum(r["quote_recall"] == 0 for r in dev) / len(dev)


def test_compare_reports_the_change_against_a_previous_report(tmp_path, hash_env, monkeypatch):
    first, second = tmp_path / "before", tmp_path / "after"
    assert run_cli("--questions", str(DEV_SET), "--out", str(first), "--no-gate").exit_code == 0
    monkeypatch.setenv("GUIDE_ABSTAIN_THRESHOLD", "0.9")  # a guide that declines nearly everything
    result = run_cli("--questions", str(DEV_SET), "--out", str(second), "--no-gate", "--compare", str(first))
    assert result.exit_code == 0, result.output + result.stderr
    before = json.loads((first / "report.json").read_text(encoding="utf-8"))["totals"]
    report = json.loads((second / "report.json").read_text(encoding="utf-8"))
    change = report["comparison"]["false_abstention_rate"]
    assert change["before"] == pytest.approx(before["false_abstention_rate"])
    assert change["delta"] > 0  # declining more answerable questions shows as a change
    assert "Compared with" in (second / "report.md").read_text(encoding="utf-8")
    assert (second / "report.png").read_bytes().startswith(PNG_MAGIC)


def test_one_altered_quote_in_the_whole_dev_set_fails_the_projects_gate(tmp_path, hash_guide, monkeypatch):
    """The project's gate demands every quote verbatim: the same run passes those checks, and
    rewording a single quote of a single answer fails them."""
    def verbatim_checks(result) -> dict:
        checks = gate(result["totals"], load_thresholds(THRESHOLDS))["checks"]
        return {c["metric"]: c["ok"] for c in checks if c["metric"] in ("verbatim_rate", "citation_precision")}

    assert verbatim_checks(evaluate(hash_guide, [DEV_SET], progress=False)) == {
        "verbatim_rate": True, "citation_precision": True}
    real_ask = hash_guide.ask
    altered: list[str] = []

    def paraphrasing_ask(question, history=None, source=None):
        answer = real_ask(question, history=history, source=source)
        if answer.quotes and not altered:
            q = answer.quotes[0]
            answer.quotes[0] = replace(q, text=q.text.replace(" the ", " a ", 1) + " (paraphrased)")
            altered.append(question)
        return answer

    monkeypatch.setattr(hash_guide, "ask", paraphrasing_ask)
    result = evaluate(hash_guide, [DEV_SET], progress=False)
    assert len(altered) == 1 and 0.9 < result["totals"]["verbatim_rate"] < 1.0
    assert verbatim_checks(result) == {"verbatim_rate": False, "citation_precision": False}


def test_thresholds_file_errors_are_clear(tmp_path):
    from guide.errors import SettingsError

    bad = write_thresholds(tmp_path / "bad.toml", "[questions.min]\nquote_recall = 'high'\n")
    with pytest.raises(SettingsError, match="must map metric names to numbers"):
        load_thresholds(bad)


# --- the gate on the real guide ----------------------------------------------------------------
class WorstFirstRetriever:
    """A deliberately broken retriever: the guide's own ranking, reversed (worst passages first)."""

    @staticmethod
    def wrap(retriever):
        from guide.search.retrieval import HybridRetriever

        class _WorstFirst(HybridRetriever):
            def search(self, query, *, k=None, source_id=None, mode=None):
                everything = super().search(query, k=len(self.keyword.chunks), source_id=source_id, mode=mode)
                return list(reversed(everything))[: k or self.k]

        return _WorstFirst(vectorstore=retriever.vectorstore, embedder=retriever.embedder, keyword=retriever.keyword,
                           k=retriever.k, fetch_k=retriever.fetch_k)


@pytest.mark.real
def test_dev_set_passes_its_thresholds(real_guide):
    result = evaluate(real_guide, [DEV_SET], progress=False)
    verdict = gate(result["totals"], load_thresholds(THRESHOLDS))
    failed = [c for c in verdict["checks"] if not c["ok"]]
    assert verdict["passed"], f"dev set below its thresholds: {failed}"
    assert result["totals"]["verbatim_rate"] == 1.0


@pytest.mark.real
def test_a_broken_retriever_makes_the_gate_fail(tmp_path, real_guide, monkeypatch):
    from guide.engine import Guide

    broken = Guide(real_guide.settings, real_guide.manifest, real_guide.texts, real_guide.chunks,
                   WorstFirstRetriever.wrap(real_guide.retriever), real_guide.composer, real_guide.embedder,
                   real_guide.index_info, real_guide.stale)
    monkeypatch.setattr(Guide, "open", classmethod(lambda cls, settings=None, **kw: broken))
    result = run_cli("--out", str(tmp_path / "broken"))  # the project's dev set and thresholds
    assert result.exit_code != 0
    assert "gate failed" in result.stderr
    report = json.loads((tmp_path / "broken" / "report.json").read_text(encoding="utf-8"))
    failed = {c["metric"] for c in report["gate"]["checks"] if not c["ok"]}
    assert failed & {"quote_recall", "source_hit_at_1", "source_mrr", "false_abstention_rate"}
    assert "Gate: FAILED" in (tmp_path / "broken" / "report.md").read_text(encoding="utf-8")
