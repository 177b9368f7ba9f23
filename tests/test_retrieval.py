"""Hybrid retrieval over a real Chroma index (fake, deterministic embeddings): fusion,
source filter and diversity, and the LangChain interfaces."""

from __future__ import annotations

import pytest

from guide.search.chunking import Chunk, Span
from guide.search.retrieval import RRF_K, HybridRetriever, KeywordIndex
from tests.test_store import EXTRA_DOC, corpus, fresh_embedder  # noqa: F401  (fixtures)


@pytest.fixture
def guide(corpus, tmp_path):  # noqa: F811
    from guide.engine import Guide, ingest
    from guide.settings import Settings

    cfg = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedder="hash", abstain_threshold=0.05, answer_threshold=0.05)
    ingest(cfg, embedder=fresh_embedder(cfg))
    return Guide.open(cfg, embedder=fresh_embedder(cfg))


def test_hybrid_fuses_dense_and_keyword_ranks(guide):
    hits = guide.retriever.search("budgets and money")
    top = hits[0]
    assert top.chunk.source_id == "extra" and "budgets" in top.chunk.text
    assert top.dense_rank is not None and top.bm25_rank is not None
    assert top.score == pytest.approx(1 / (RRF_K + top.dense_rank + 1) + 1 / (RRF_K + top.bm25_rank + 1))
    for sid in {h.chunk.source_id for h in hits}:  # diversity may interleave sources, never reorder one
        scores = [h.score for h in hits if h.chunk.source_id == sid]
        assert scores == sorted(scores, reverse=True)


def test_single_rankers_are_available_for_evaluation(guide):
    bm25 = guide.retriever.search("trust", mode="bm25")
    assert bm25 and all(h.dense is None for h in bm25) and "trust" in bm25[0].chunk.text.lower()
    dense = guide.retriever.search("trust", mode="dense")
    assert dense and all(h.bm25 is None for h in dense)


def test_filter_to_one_source(guide):
    hits = guide.retriever.search("trust budgets meetings", source_id="extra", k=10)
    assert hits and {h.chunk.source_id for h in hits} == {"extra"}


def test_diversity_caps_one_source_when_others_compete():
    def chunk(i, sid):
        return Chunk(f"c{i}", sid, None, "T", ("T",), "paragraph", i, i + 1, f"text {i}", (Span(i, i + 1),))

    from guide.search.retrieval import Hit

    ranked = [Hit(chunk(i, "a"), 1 - i / 10) for i in range(5)] + [Hit(chunk(9, "b"), 0.1)]
    r = HybridRetriever.model_construct(k=4, max_per_source=None)
    out = r._diversify(ranked, 4)
    assert [h.chunk.source_id for h in out] == ["a", "a", "b", "a"]


def test_langchain_retriever_and_runnable(guide):
    docs = guide.retriever.invoke("How do we keep people's trust?")
    assert docs and docs[0].metadata["source_id"] and docs[0].page_content
    answer = guide.as_runnable().invoke({"question": "Why does trust matter?", "history": []})
    direct = guide.ask("Why does trust matter?")
    assert answer.to_dict() | {"timings": {}} == direct.to_dict() | {"timings": {}}


def test_keyword_index_ignores_stopword_only_queries():
    idx = KeywordIndex([Chunk("c", "s", None, "T", (), "paragraph", 0, 5, "trust", (Span(0, 5),))])
    assert idx.scores("what is the") is None and idx.scores("trust")[0] > 0
