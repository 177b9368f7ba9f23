"""Re-indexing while serving: a running `guide serve` keeps answering while `guide ingest` (another
process) adds a document and swaps the collection, and its next answer quotes the new text, with
no restart. Also with two app replicas over one Chroma server.

Real processes on loopback (`guide serve`, `guide ingest`, `chroma run`), the deterministic hash
embedder and fake reranker so the index builds in seconds."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from guide.evaluation.bench_app import _answer_text, app_env, is_answer, running, start_app, start_chroma
from guide.engine import ingest
from guide.settings import Settings

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parent.parent
# A document that exists only in this test (written to a temp folder, never to corpus/).
INVENTED = ("# Invented test handbook\n\n## Lighthouses\n\n"
            "This invented test paragraph says the lamp rota is agreed by every lighthouse keeper together.\n")
NEW_SENTENCE = "the lamp rota is agreed by every lighthouse keeper together"
NEW_QUESTION = "Who agrees the lamp rota for the lighthouse keepers?"
TRUST_Q = "Why does trust matter in co-production?"
SETTINGS = {"embedder": "hash", "abstain_threshold": "0.05", "reranker": "fake"}


def ask(client, question: str) -> str:
    return _answer_text(client.submit(question, api_name="/ask").result(timeout=120))


@pytest.fixture
def corpus(tmp_path) -> Path:
    shutil.copytree(REPO / "corpus", tmp_path / "corpus")
    return tmp_path / "corpus"


def reingest_with_new_document(tmp_path: Path, env: dict) -> None:
    """`guide ingest PATH` in its own process: adds the document to the corpus and swaps the index."""
    doc = tmp_path / "lighthouse.md"
    doc.write_text(INVENTED, encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "guide.cli", "ingest", str(doc)], env=env, capture_output=True,
                       text=True, timeout=300, cwd=REPO)
    assert r.returncode == 0, r.stderr[-500:]
    assert "indexed" in r.stdout


class Visitor(threading.Thread):
    """Keeps asking while the index is rebuilt; records every answer."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        from gradio_client import Client

        self.client = Client(url, verbose=False, download_files=False)
        self.answers: list[str] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.answers.append(ask(self.client, TRUST_Q))
            except Exception as exc:  # noqa: BLE001 — reported by the test
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=180)
        self.client.close()


def test_a_running_app_serves_a_rebuilt_index_from_the_next_question(tmp_path, corpus):
    from gradio_client import Client

    cfg = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", data_dir=tmp_path / "data",
                   embedder="hash", abstain_threshold=0.05, reranker="fake")
    ingest(cfg)
    env = app_env(cfg.index_dir, cfg.data_dir, corpus_dir=corpus, **SETTINGS)
    (tmp_path / "logs").mkdir()
    app = start_app("app", env, tmp_path / "logs")
    with running([app]):
        client = Client(app.url, verbose=False, download_files=False)
        try:
            assert NEW_SENTENCE not in ask(client, NEW_QUESTION)
            visitor = Visitor(app.url)
            visitor.start()
            try:
                reingest_with_new_document(tmp_path, env)
            finally:
                visitor.finish()
            # it kept answering while the collection was swapped
            assert visitor.errors == [] and visitor.answers
            assert all(is_answer(a) and "“" in a for a in visitor.answers)
            answer = ask(client, NEW_QUESTION)  # the next question: the new text, same process
            assert NEW_SENTENCE in answer and is_answer(answer)
            assert "“" in ask(client, TRUST_Q)  # and the blog is still quoted
        finally:
            client.close()
    assert app.proc.returncode is not None  # stopped by the test: it was the same process throughout


def test_two_replicas_over_one_chroma_server_both_serve_the_rebuilt_index(tmp_path, corpus):
    from gradio_client import Client

    (tmp_path / "logs").mkdir()
    chroma = start_chroma(tmp_path / "chroma-data", tmp_path / "logs")
    with running([chroma], "/api/v2/heartbeat"):
        cfg = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", data_dir=tmp_path / "data",
                       chroma_url=chroma.url, embedder="hash", abstain_threshold=0.05, reranker="fake")
        ingest(cfg)
        env = app_env(cfg.index_dir, cfg.data_dir, chroma_url=chroma.url, corpus_dir=corpus, **SETTINGS)
        apps = [start_app(f"replica{i}", env, tmp_path / "logs") for i in (1, 2)]
        with running(apps):
            clients = [Client(a.url, verbose=False, download_files=False) for a in apps]
            try:
                assert all(NEW_SENTENCE not in ask(c, NEW_QUESTION) for c in clients)
                reingest_with_new_document(tmp_path, env)
                for c in clients:
                    assert NEW_SENTENCE in ask(c, NEW_QUESTION)
            finally:
                for c in clients:
                    c.close()
