"""The SciFact benchmark tier. Reads the public data set from the settings' scifact_dir
(../shared/datasets/scifact); the data-dependent tests skip, saying why, when it is absent
(and fail under CI=true: see tests/conftest.py).
`make test` runs a reduced, fixed-seed slice; `make bench-scifact` runs the whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from guide.evaluation.scifact import parse_sentence_list

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _scifact_dir() -> Path:
    from guide.settings import Settings

    return Settings.from_env().scifact_dir


SCIFACT_DIR = _scifact_dir()  # read once, before the per-test fixture clears GUIDE_* variables
needs_data = pytest.mark.needs_data(SCIFACT_DIR / "scifact.zip", SCIFACT_DIR / "corpus_train.csv",
                                    what="the SciFact data set (set GUIDE_SCIFACT_DIR to the folder holding scifact.zip)")


def test_sentence_lists_are_read_literal_by_literal():
    # Two literals on one line are two sentences (Python would glue them into one string).
    raw = "['First finding (n = 3).' 'Second, with a \"quote\".'\n \"It's the third.\"]"
    assert parse_sentence_list(raw) == ['First finding (n = 3).', 'Second, with a "quote".', "It's the third."]


@pytest.fixture(scope="module")
def data():
    from guide.evaluation.scifact import load_scifact

    return load_scifact(SCIFACT_DIR)


@needs_data
@pytest.mark.scifact
def test_the_test_split_is_read_as_published(data):
    # The data set's README: 5,183 abstracts, 300 claims, 339 relevance pairs, 188 claims with evidence.
    d = data.describe()
    assert (d["abstracts"], d["claims"], d["relevance_pairs"], d["claims_with_evidence"]) == (5183, 300, 339, 188)
    for c in data.claims:
        for doc, idx in c.evidence.items():
            assert doc in c.cited
            assert all(0 <= i < len(data.abstracts[doc].sentences) for i in idx), (c.id, doc, idx)


@needs_data
@pytest.mark.scifact
def test_gold_sentences_map_to_spans_of_the_indexed_text(data):
    from guide.search.chunking import chunk_document
    from guide.evaluation.scifact import to_document

    for a in list(data.abstracts.values())[:400]:
        doc, spans = to_document(a)
        assert len(spans) == len(a.sentences)
        for s, sp in zip(a.sentences, spans):
            assert doc.text[sp.start:sp.end].split() == s.split()
        (chunk,) = chunk_document(doc)  # the abstract stays one passage, searched with its title
        assert chunk.search_text.startswith(a.title) and chunk.text.split() == " ".join(a.sentences).split()


@needs_data
@pytest.mark.scifact
def test_the_slice_is_fixed_by_its_seed_and_keeps_every_cited_abstract(data):
    from guide.evaluation.scifact import subset

    a, b = subset(data, 30, seed=13), subset(data, 30, seed=13)
    assert [c.id for c in a.claims] == [c.id for c in b.claims] and set(a.abstracts) == set(b.abstracts)
    assert [c.id for c in subset(data, 30, seed=14).claims] != [c.id for c in a.claims]
    assert all(d in a.abstracts for c in a.claims for d in c.cited)
    assert len(a.abstracts) == len({d for c in a.claims for d in c.cited}) + 300


@needs_data
@pytest.mark.scifact
def test_benchmark_command_on_a_slice_writes_its_report(tmp_path, monkeypatch):
    from guide.cli.commands import main

    monkeypatch.setenv("GUIDE_EMBEDDER", "hash")
    monkeypatch.setenv("GUIDE_SCIFACT_DIR", str(SCIFACT_DIR))  # the data the mark found
    monkeypatch.setenv("GUIDE_RERANKER", "fake")
    out = tmp_path / "bench"
    result = CliRunner().invoke(main, ["eval", "--benchmark", "scifact", "--limit", "8", "--rerank-claims", "5",
                                       "--no-progress", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["kind"] == "scifact" and not report["full"] and report["data"]["claims"] == 8
    assert "gate" not in report  # published-number thresholds apply to the full set only
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "not comparable" in md and "0.665" in md and "0.6451" in md
    assert "| hybrid_rerank |" in md and "0.688" in md and "Evidence sentences" in md
    assert report["setup"]["reranker"] == "fake (word overlap)"
    # reranked: a fixed-seed sample of 5 claims, compared with the hybrid on the same 5
    assert report["setup"]["rerank_claims"] == 5 and "sample of 5 of the 8 claims" in md
    from guide.evaluation.scifact import headline

    flat = headline(report)  # a threshold on hybrid_rerank_* must not judge a sample: it is skipped (None)
    assert flat["hybrid_rerank_ndcg_at_10"] is None and flat["hybrid_rerank_sample_ndcg_at_10"] is not None
    paired, summary = report["retrieval"]["paired_bootstrap"], report["retrieval"]["summary"]
    rr = paired["hybrid_rerank_vs_hybrid"]["ndcg_at_10"]
    assert rr["wins"] + rr["losses"] + rr["ties"] == 5
    for other in ("bm25", "dense"):  # each comparison pairs the right two rankers
        diff = summary["hybrid"]["ndcg_at_10"] - summary[other]["ndcg_at_10"]
        assert paired[f"hybrid_vs_{other}"]["ndcg_at_10"]["diff"] == pytest.approx(diff)
    assert (out / "report.png").read_bytes().startswith(PNG_MAGIC)


# --- the reduced slice with the real model (what `make test` runs) ----------------------------
@pytest.fixture(scope="module")
def slice_runs(tmp_path_factory, minilm):
    """The same fixed-seed slice run twice over one index and one embedding cache."""
    from guide.evaluation.scifact import run_benchmark
    from guide.settings import Settings

    # the data the mark found (GUIDE_SHARED_DIR / GUIDE_SCIFACT_DIR are cleared for each test)
    settings = Settings(index_dir=tmp_path_factory.mktemp("scifact") / "index", scifact_dir=SCIFACT_DIR)
    # the real cross-encoder, over the hybrid top 10 only (the full run reads deeper), to stay quick
    first = run_benchmark(settings, limit=30, seed=13, embedder=minilm, progress=False, rerank_depth=10)
    second = run_benchmark(settings, limit=30, seed=13, embedder=minilm, progress=False, rerank_depth=10)
    return first, second


@needs_data
@pytest.mark.scifact
@pytest.mark.real
def test_each_ranker_finds_the_cited_abstracts(slice_runs):
    first, _ = slice_runs
    s = first["retrieval"]["summary"]
    n_docs = first["data"]["abstracts"]
    for mode in ("bm25", "dense", "hybrid"):
        # far above chance (about 10 / n_docs for recall@10)
        assert s[mode]["recall_at_10"] > 20 * 10 / n_docs, (mode, s[mode])
        assert 0 <= s[mode]["ndcg_at_10"] <= 1 and s[mode]["recall_at_10"] <= s[mode]["recall_at_100"]
        ci = s[mode]["ndcg_at_10_ci"]
        assert ci["lo"] <= s[mode]["ndcg_at_10"] <= ci["hi"]
    # reranking the top 10 re-orders them: the same documents in the top 10 and the top 100
    rr, hy = s["hybrid_rerank"], s["hybrid"]
    assert (rr["recall_at_10"], rr["recall_at_100"]) == (hy["recall_at_10"], hy["recall_at_100"])
    assert first["retrieval"]["rerank"]["depth"] == 10
    for name, per in first["retrieval"]["paired_bootstrap"].items():
        b = per["ndcg_at_10"]
        assert b["lo"] <= b["diff"] <= b["hi"]
        assert b["wins"] + b["losses"] + b["ties"] == 30
    assert set(first["retrieval"]["paired_bootstrap"]) == {"hybrid_vs_bm25", "hybrid_vs_dense", "hybrid_rerank_vs_hybrid"}
    # a slice is easier than the full corpus: it must not claim to reproduce the published anchors
    assert not any(a["reproduced"] for a in first["anchors"].values())


@needs_data
@pytest.mark.scifact
@pytest.mark.real
def test_the_cross_encoder_finds_evidence_sentences_far_above_chance(slice_runs):
    first, _ = slice_runs
    s = first["sentences"]["summary"]
    assert s["pairs"] == len(first["sentences"]["rows"]) > 10
    assert s["cross_encoder_p_at_1"] > 2 * s["chance_p_at_1"]
    ci = s["cross_encoder_p_at_1_ci"]
    assert ci["lo"] <= s["cross_encoder_p_at_1"] <= ci["hi"]


@needs_data
@pytest.mark.scifact
@pytest.mark.real
def test_quote_tier_quotes_abstracts_verbatim(slice_runs):
    first, _ = slice_runs
    q = first["quotes"]
    s = q["summary"]
    with_evidence = [c for c in first["retrieval"]["rows"]]
    assert s["shown_quotes"] > 0 and s["verbatim_rate"] == 1.0 and s["citation_precision"] == 1.0
    assert s["end_to_end"]["claims"] + s["no_evidence"]["claims"] == len(with_evidence) == 30
    assert s["gold_abstract"]["pairs"] == len(q["gold_abstract"]) > 0
    for row in q["gold_abstract"]:  # related answers show their nearest passages; not-covered ones none
        assert (row["status"] == "not_covered") == (row["first_quote"] is None)
        assert row["abstained"] == (row["status"] != "answered")
        assert not row["first_quote_gold"] or row["status"] != "not_covered"


@needs_data
@pytest.mark.scifact
@pytest.mark.real
def test_a_second_run_embeds_nothing_and_gives_the_same_numbers(slice_runs, tmp_path):
    from guide.evaluation.report import write_report
    from guide.evaluation.scifact import headline

    first, second = slice_runs
    assert first["embedding"]["texts_embedded"] > 0
    assert second["embedding"] == {"texts_embedded": 0, "index_rebuilt": False}
    assert headline(second) == headline(first)
    paths = write_report(second, tmp_path / "r")
    assert paths["png"].read_bytes().startswith(PNG_MAGIC)
    assert "SciFact" in paths["md"].read_text(encoding="utf-8")
