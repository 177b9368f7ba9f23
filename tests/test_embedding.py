"""The real embedding model: questions go through its checked ONNX export, with the vectors
torch gives, and a missing, stale or damaged export costs speed, never an answer.

The export lives in the environment (one per installed model version); these tests point
their own embedders at files under tmp_path and never damage it."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from guide.search.embedding import CachedEmbeddings, MiniLMEmbeddings, make_embedder, query_encoder_path

QUESTIONS = [
    "we've had cuts - can we still co-produce?",
    "Ward manager here. How do we REBUILD trust after a consultation went badly?",
    "Who wrote it?",
    " ".join(["What does the blog say about power, money and time in co-production?"] * 40),  # past 256 tokens
]


def _sharing(model: MiniLMEmbeddings, export) -> MiniLMEmbeddings:
    """A new embedder around the already loaded torch model (no second load), using `export`."""
    other = MiniLMEmbeddings()
    other._model = model.model
    other.use_query_encoder(export)
    return other


@pytest.mark.real
def test_the_index_build_exports_the_model_and_questions_get_torchs_vectors(real_guide, minilm):
    inner = minilm.inner
    export = query_encoder_path(inner.model_id)
    assert inner.query_encoder_path == export and export.is_file() and export.with_suffix(".json").is_file()
    assert inner._encoder() is not None  # questions go through onnxruntime
    fast = np.array([inner.embed_query(q) for q in QUESTIONS])
    torch_vecs = np.array(inner.embed_documents(QUESTIONS))
    assert np.abs(fast - torch_vecs).max() < 1e-5
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)


@pytest.mark.real
def test_a_damaged_export_is_set_aside_and_questions_still_get_torchs_vectors(real_guide, minilm, tmp_path, caplog):
    good = query_encoder_path(minilm.inner.model_id)
    damaged = tmp_path / "query-encoder.onnx"
    damaged.write_bytes(b"not an onnx model")
    damaged.with_suffix(".json").write_text(good.with_suffix(".json").read_text())
    model = _sharing(minilm.inner, damaged)
    cache = CachedEmbeddings(model, tmp_path / "embeddings.sqlite3")
    with caplog.at_level(logging.WARNING, logger="guide.search.embedding"):
        vec = cache.embed_query(QUESTIONS[0])
    assert "cannot be loaded" in caplog.text and len(caplog.records) == 1
    assert np.abs(np.array(vec) - np.array(model.embed_documents(QUESTIONS[:1])[0])).max() < 1e-6
    assert cache.build_query_encoder() is True  # the next build replaces the damaged file
    assert model._encoder() is not None


@pytest.mark.real
def test_an_export_of_another_model_is_not_used_and_the_next_build_replaces_it(real_guide, minilm, tmp_path):
    good = query_encoder_path(minilm.inner.model_id)
    stale = tmp_path / "query-encoder.onnx"
    stale.write_bytes(good.read_bytes())
    meta = json.loads(good.with_suffix(".json").read_text())
    stale.with_suffix(".json").write_text(json.dumps({**meta, "model_id": "all-MiniLM-L6-v2@an-older-package"}))
    model = _sharing(minilm.inner, stale)
    cache = CachedEmbeddings(model, tmp_path / "embeddings.sqlite3")
    assert model._encoder() is None  # stale: torch embeds
    assert cache.build_query_encoder() is True
    assert json.loads(stale.with_suffix(".json").read_text())["model_id"] == model.model_id
    assert model._encoder() is not None
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


def test_an_embedder_without_an_export_builds_none(tmp_path):
    assert make_embedder("hash", tmp_path / "embeddings.sqlite3").build_query_encoder() is False
