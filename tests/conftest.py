"""Shared fixtures. Every test gets its own state directories (index, data) in a temp dir, so
nothing a test does touches the developer's index/ or data/. The real model is loaded once
per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from guide.settings import offline_environment  # noqa: E402  (sets the environment first)

offline_environment()

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEV_SET = REPO / "evals" / "dev.jsonl"


def pytest_runtest_setup(item):
    """`@pytest.mark.needs_data(path, ..., what="...")`: the test needs one of these paths (a data
    set from ../shared). Missing, it skips and says why; under CI (`CI=true`) it FAILS, so a
    broken checkout of the data cannot pass by skipping."""
    for mark in item.iter_markers("needs_data"):
        if any(Path(p).exists() for p in mark.args):
            continue
        message = f"{mark.kwargs.get('what', 'data')} not found at {mark.args[0]}"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"{message}; under CI a missing data set is a failure, not a skip", pytrace=False)
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path, monkeypatch):
    """Send every state path to a temp dir (like simonw/llm's user_path fixture)."""
    for key in list(os.environ):
        if key.startswith("GUIDE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("GUIDE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("GUIDE_DATA_DIR", str(tmp_path / "data"))
    yield


@pytest.fixture
def settings(tmp_path):
    from guide.settings import Settings

    return Settings.from_env()


@pytest.fixture
def hash_embedder(tmp_path):
    from guide.search.embedding import CachedEmbeddings, HashEmbeddings

    return CachedEmbeddings(HashEmbeddings(), tmp_path / "emb-cache.sqlite3")


@pytest.fixture(scope="session")
def minilm(tmp_path_factory):
    """The real all-MiniLM-L6-v2, loaded once, with a session-wide embedding cache."""
    from guide.search.embedding import CachedEmbeddings, MiniLMEmbeddings

    return CachedEmbeddings(MiniLMEmbeddings(), tmp_path_factory.mktemp("emb") / "cache.sqlite3")


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory):
    from guide.settings import Settings

    base = tmp_path_factory.mktemp("real")
    return Settings(index_dir=base / "index", data_dir=base / "data")


@pytest.fixture(scope="session")
def real_guide(real_settings, minilm):
    """A Guide over the real corpus, real model and a real Chroma index in a temp dir."""
    from guide.engine import Guide, ingest

    ingest(real_settings, embedder=minilm)
    return Guide.open(real_settings, embedder=minilm)
