"""The index: incremental, atomic, and clear about what is wrong. Real Chroma, fake embeddings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from guide.search.embedding import CachedEmbeddings, HashEmbeddings
from guide.engine import Guide, ingest
from guide.errors import IndexCorruptError, IndexMissingError
from guide.settings import Settings

REPO = Path(__file__).resolve().parent.parent

EXTRA_DOC = """---
title: Invented test document
---
# Invented test document

## Meetings

This paragraph is invented for a test about meetings and agendas.

## Budgets

This paragraph is invented for a test about budgets and money.
"""


@pytest.fixture
def corpus(tmp_path):
    d = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", d)
    (d / "extra.md").write_text(EXTRA_DOC, encoding="utf-8")
    with open(d / "sources.toml", "a", encoding="utf-8") as f:
        f.write('\n[[source]]\nid = "extra"\ntitle = "Invented test document"\nkind = "document"\nfile = "extra.md"\n')
    return d


@pytest.fixture
def cfg(corpus, tmp_path):
    # the abstention threshold is calibrated for the real model; the fake embedder scores lower
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedder="hash", abstain_threshold=0.05, answer_threshold=0.05)


def fresh_embedder(cfg, model=HashEmbeddings):
    return CachedEmbeddings(model(), cfg.index_dir / "embeddings.sqlite3")


def test_second_ingest_does_no_embedding_work(cfg):
    first = ingest(cfg, embedder=fresh_embedder(cfg))
    assert first.rebuilt and first.embedded == first.chunks > 10
    again = ingest(cfg, embedder=fresh_embedder(cfg))
    assert not again.rebuilt and again.embedded == 0 and again.collection == first.collection


def test_changed_source_re_embeds_only_its_changed_chunks(cfg, corpus):
    first = ingest(cfg, embedder=fresh_embedder(cfg))
    p = corpus / "extra.md"
    p.write_text(p.read_text().replace("budgets and money", "budgets, money and cuts"), encoding="utf-8")
    second = ingest(cfg, embedder=fresh_embedder(cfg))
    assert second.rebuilt and second.collection != first.collection
    assert second.embedded == 1
    g = Guide.open(cfg, embedder=fresh_embedder(cfg))
    assert any("budgets, money and cuts" in c.text for c in g.chunks) and not g.stale


def test_a_different_model_rebuilds_everything(cfg):
    class OtherModel(HashEmbeddings):
        model_id = "hash-bow-384/v2"

    first = ingest(cfg, embedder=fresh_embedder(cfg))
    second = ingest(cfg, embedder=fresh_embedder(cfg, OtherModel))
    assert second.rebuilt and second.embedded == second.chunks == first.chunks


def test_editing_a_sources_url_and_title_reaches_the_index_and_the_answers(cfg, corpus):
    blog_url = "https://coproductionscotland.org.uk/news/facing-the-challenges-of-co-production-in-difficult-times"
    ingest(cfg, embedder=fresh_embedder(cfg))
    manifest = corpus / "sources.toml"
    text = manifest.read_text(encoding="utf-8")
    assert text.count(f'url = "{blog_url}"') == 1
    text = text.replace(f'url = "{blog_url}"', 'url = "https://example.org/moved-blog"')
    text = text.replace('title = "Facing the challenges of co-production in difficult times"',
                        'title = "Facing the challenges (renamed)"')
    manifest.write_text(text, encoding="utf-8")
    report = ingest(cfg, embedder=fresh_embedder(cfg))
    assert report.rebuilt  # not "index up to date"
    g = Guide.open(cfg, embedder=fresh_embedder(cfg))
    assert not g.stale
    a = g.ask("Why does trust matter so much in co-production?")
    assert a.quotes and {q.source_id for q in a.quotes} == {"facing-the-challenges"}
    assert all(q.link.startswith("https://example.org/moved-blog#:~:text=") for q in a.quotes)
    assert all(q.title == "Facing the challenges (renamed)" for q in a.quotes)
    assert blog_url not in a.to_text()


def test_a_failed_build_leaves_the_previous_index_serving(cfg, corpus):
    from guide.engine import corpus_chunks
    from guide.search.store import Store, open_client

    ingest(cfg, embedder=fresh_embedder(cfg))
    before = Guide.open(cfg, embedder=fresh_embedder(cfg))
    (corpus / "extra.md").write_text(EXTRA_DOC.replace("meetings", "gatherings"), encoding="utf-8")
    _, _, chunks = corpus_chunks(cfg)
    store = Store(open_client(cfg.index_dir, None, create=True))

    class Broken(HashEmbeddings):  # the changed passage is not cached: embedding it fails mid-build
        def embed_documents(self, texts):
            raise RuntimeError("simulated failure")

    with pytest.raises(RuntimeError, match="simulated failure"):
        store.build(chunks, fresh_embedder(cfg, Broken))
    after = Guide.open(cfg, embedder=fresh_embedder(cfg))
    assert after.index_info["collection"] == before.index_info["collection"]
    assert after.stale  # the corpus changed but the old index is still served, and says so
    trust = after.ask("Why does trust matter so much in co-production?")
    assert trust.quotes and all(q.verified for q in trust.quotes)  # unchanged sources still answer
    changed = after.ask("What about meetings and agendas?", source="extra")
    # the stored text moved under the old offsets: nothing unverifiable is shown as a quote
    assert not any("meetings" in q.text for q in changed.quotes)
    assert changed.abstained and changed.reason == "unverified"
    names = [c.name for c in store.client.list_collections()]
    assert not any(n not in (before.index_info["collection"], "guide-pointer") for n in names)


def test_no_index_says_how_to_build_it(cfg):
    with pytest.raises(IndexMissingError, match="guide ingest"):
        Guide.open(cfg, embedder=fresh_embedder(cfg))


def test_corrupt_index_says_how_to_rebuild(cfg):
    db = cfg.index_dir / "chroma" / "chroma.sqlite3"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexCorruptError, match="guide ingest"):
        Guide.open(cfg, embedder=fresh_embedder(cfg))
