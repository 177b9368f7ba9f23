"""Faults of the language model server, against real loopback servers: unreachable, slow, slow to
finish, answering with an error, or sending garbage. Each time the user gets the extractive
answer with a one-line notice within GUIDE_LLM_TIMEOUT + 1 s: no hang, no trace, no key shown."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from guide.answer.llm import NOTICES
from guide.evaluation.llamacpp import free_port
from guide.settings import Settings

pytestmark = pytest.mark.llm
REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 1.0
QUESTION = "How can we keep people's trust when difficult decisions are being made?"
SECRET = "sk-test-secret-4b1d"


class FakeServer:
    """A tiny OpenAI-look-alike on 127.0.0.1 that misbehaves in one way (bounded: it stops by itself)."""

    def __init__(self, behaviour: str):
        self.behaviour = behaviour
        self.stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        b = self.behaviour
        if b == "slow":  # says nothing for a long time
            self.stop.wait(30)
            return
        if b == "error":
            return self._send(h, 500, "application/json", b'{"error": {"message": "model crashed"}}')
        if b == "html":
            return self._send(h, 200, "text/html", b"<html><body>Welcome to nginx!</body></html>")
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        if b == "bad-json":
            h.wfile.write(b"data: {this is not json\n\ndata: [DONE]\n\n")
            return
        if b == "trickle":  # a token every 0.3 s: each read is quick, the whole answer never ends
            for _ in range(100):
                if self.stop.is_set():
                    return
                chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                         "choices": [{"index": 0, "delta": {"content": "trust "}, "finish_reason": None}]}
                try:
                    h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    h.wfile.flush()
                except OSError:
                    return
                self.stop.wait(0.3)

    @staticmethod
    def _send(h, code, ctype, body):
        h.send_response(code)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def close(self):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from guide.engine import ingest

    base = tmp_path_factory.mktemp("faults")
    corpus = base / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    cfg = Settings(corpus_dir=corpus, index_dir=base / "index", data_dir=base / "data", embedder="hash",
                   abstain_threshold=0.05)
    ingest(cfg)
    return cfg


def ask_with(cfg: Settings, url: str):
    from guide.engine import Guide

    guide = Guide.open(cfg.replace(llm_url=url, llm_timeout=TIMEOUT, llm_api_key=SECRET))
    t = time.monotonic()
    answer = guide.ask(QUESTION)
    return answer, time.monotonic() - t


@pytest.mark.parametrize("behaviour, kind", [
    ("unreachable", "unreachable"),
    ("slow", "timeout"),
    ("trickle", "timeout"),
    ("error", "error"),
    ("html", "garbage"),
    ("bad-json", "garbage"),
])
def test_a_misbehaving_server_means_the_quotes_alone_within_the_timeout(built, behaviour, kind):
    server = None if behaviour == "unreachable" else FakeServer(behaviour)
    url = server.url if server else f"http://127.0.0.1:{free_port()}/v1"
    try:
        answer, seconds = ask_with(built, url)
    finally:
        if server:
            server.close()
    assert seconds < TIMEOUT + 1.0
    assert answer.quotes and not answer.abstained and answer.summary == []
    assert answer.llm["fallback"] == kind and answer.llm["status"] == "fallback"
    text = answer.to_text()
    assert NOTICES[kind].format(timeout=TIMEOUT) in text and "Traceback" not in text
    assert SECRET not in text + answer.to_markdown() + json.dumps(answer.to_dict())


def test_guide_ask_with_a_server_down_prints_the_quotes_and_a_notice_and_never_the_key(built):
    env = {**os.environ, "GUIDE_CORPUS_DIR": str(built.corpus_dir), "GUIDE_INDEX_DIR": str(built.index_dir),
           "GUIDE_DATA_DIR": str(built.data_dir), "GUIDE_EMBEDDER": "hash", "GUIDE_ABSTAIN_THRESHOLD": "0.05",
           "GUIDE_LLM_URL": f"http://127.0.0.1:{free_port()}/v1", "GUIDE_LLM_API_KEY": SECRET,
           "GUIDE_LLM_TIMEOUT": "2"}
    for extra in ((), ("--json",)):
        r = subprocess.run([sys.executable, "-m", "guide.cli", "ask", QUESTION, *extra], capture_output=True,
                           text=True, env=env, cwd=REPO, timeout=180)
        assert r.returncode == 0 and "Traceback" not in r.stderr
        assert SECRET not in r.stdout + r.stderr and len(r.stderr.strip().splitlines()) <= 1
        if extra:
            d = json.loads(r.stdout)
            assert d["quotes"] and d["llm"]["fallback"] == "unreachable" and d["summary"] == []
        else:
            assert NOTICES["unreachable"] in r.stdout and "“" in r.stdout
