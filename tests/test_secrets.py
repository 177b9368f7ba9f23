"""A secret (GUIDE_LLM_API_KEY, any *_API_KEY/*_TOKEN/*SECRET*/*PASSWORD* variable, a password in
a URL) never appears in logs, error lines, --json output or reports.

Each test sets the key to a sentinel, makes it flow into the text the way a real failure does
(an LLM server's "Incorrect API key provided: sk-..." reply, a Chroma URL with a password) and
greps what a person would see."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from guide.errors import GuideError
from guide.redact import MASK, redact

SENTINEL = "sk-SENTINEL-7f3a9c1e5b2d"
PASSWORD = "chroma-SENTINEL-pw-4411"
REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "tests" / "fixtures" / "evals" / "partner_questions.jsonl"


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("GUIDE_LLM_API_KEY", SENTINEL)


def test_redact_masks_secret_variables_bearer_tokens_and_url_passwords(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijkl")
    text = (f"401 Incorrect API key provided: {SENTINEL}; Authorization: Bearer abc.def-ghi_jkl; "
            f"http://guide:{PASSWORD}@127.0.0.1:8000/x; hf_abcdefghijkl")
    out = redact(text)
    assert SENTINEL not in out and PASSWORD not in out and "abc.def-ghi_jkl" not in out and "hf_abc" not in out
    assert out.count(MASK) == 4 and "http://guide:[redacted]@127.0.0.1:8000/x" in out
    monkeypatch.setenv("SOME_FLAG_TOKEN", "1")  # too short to be a secret: ordinary text stays
    assert redact("version 1.0, 1 question") == "version 1.0, 1 question"


def test_an_error_line_does_not_show_a_password_in_the_chroma_url(monkeypatch):
    from guide.cli import main

    monkeypatch.setenv("GUIDE_CHROMA_URL", f"http://guide:{PASSWORD}@127.0.0.1:9")
    monkeypatch.setenv("GUIDE_EMBEDDER", "hash")
    for args in (["ingest"], ["ask", "how do we rebuild trust?", "--json"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1
        assert "cannot reach the Chroma server at http://guide:[redacted]@127.0.0.1:9" in result.output
        assert PASSWORD not in result.output and SENTINEL not in result.output


def test_a_logged_llm_failure_in_the_web_chat_does_not_show_the_key(tmp_path):
    """`guide serve`'s output: the process guards stdout/stderr, configures logging as serve does,
    and the chat logs an engine failure (with its traceback) whose message holds the key."""
    script = textwrap.dedent(f"""
        from guide.redact import guard_output
        guard_output()
        import logging
        from guide.cli.context import SERVER_LOG_FORMAT, configure_logging
        configure_logging(level=logging.INFO, fmt=SERVER_LOG_FORMAT)
        from guide.settings import Settings
        from guide.web.chat import Chat, ChatSession

        class KeyEchoingGuide:  # what an OpenAI-compatible server says about a wrong key
            settings = Settings(embedder="hash")
            texts = {{}}
            def sources(self):
                return []
            def ask(self, *args, **kwargs):
                raise RuntimeError("Error code: 401 - Incorrect API key provided: {SENTINEL}")

        turn = Chat(KeyEchoingGuide()).ask(ChatSession(), "how do we rebuild trust?")
        print("shown:", turn.markdown)
        print("json:", {{"error": "Incorrect API key provided: {SENTINEL}"}})
    """)
    env = {k: v for k, v in __import__("os").environ.items()}
    env["GUIDE_LLM_API_KEY"] = SENTINEL
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Incorrect API key provided: [redacted]" in run.stderr and "Traceback" in run.stderr  # logged, masked
    assert "Sorry, something went wrong" in run.stdout and "Incorrect API key provided: [redacted]" in run.stdout
    assert SENTINEL not in run.stdout + run.stderr


def test_an_eval_report_does_not_show_the_key(settings, hash_embedder, tmp_path):
    from guide.engine import Guide, ingest
    from guide.evaluation.evaluate import evaluate
    from guide.evaluation.report import write_report

    s = settings.replace(embedder="hash", abstain_threshold=0.05)
    ingest(s, embedder=hash_embedder)
    guide = Guide.open(s, embedder=hash_embedder)

    class KeyEchoingGuide:
        def __getattr__(self, name):
            return getattr(guide, name)

        def ask(self, *args, **kwargs):
            raise GuideError(f"the LLM server refused the request: Incorrect API key provided: {SENTINEL}")

    result = evaluate(KeyEchoingGuide(), [QUESTIONS], progress=False)
    assert any(SENTINEL in (r["error"] or "") for r in result["rows"])  # it did reach the result
    paths = write_report(result, tmp_path / "report")
    written = paths["json"].read_text() + paths["md"].read_text()
    assert SENTINEL not in written
    rows = json.loads(paths["json"].read_text())["rows"]
    assert all("Incorrect API key provided: [redacted]" in r["error"] for r in rows)


def test_settings_never_print_the_key():
    from guide.settings import Settings

    s = Settings.from_env()
    assert SENTINEL not in repr(s) and SENTINEL not in str(s)


class KeyEchoingLLM:
    """An OpenAI-compatible server on 127.0.0.1 that refuses the key and quotes it back, as
    OpenAI's own "Incorrect API key provided: sk-..." reply does."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import threading

        self.seen_keys: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                outer.seen_keys.append(key)
                body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}.",
                                             "type": "invalid_request_error", "code": "invalid_api_key"}}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_an_llm_server_that_quotes_the_key_back_leaks_it_nowhere(tmp_path):
    """`guide ask`, `guide ask --json` and `guide eval` (its output and report files) with a real
    LLM client talking to a server that puts the key in its error message."""
    import os
    import shutil

    from guide.engine import ingest
    from guide.settings import Settings

    shutil.copytree(REPO / "corpus", tmp_path / "corpus")
    cfg = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", data_dir=tmp_path / "data",
                   embedder="hash", abstain_threshold=0.05)
    ingest(cfg)
    server = KeyEchoingLLM()
    env = {**os.environ, "GUIDE_CORPUS_DIR": str(cfg.corpus_dir), "GUIDE_INDEX_DIR": str(cfg.index_dir),
           "GUIDE_DATA_DIR": str(cfg.data_dir), "GUIDE_EMBEDDER": "hash", "GUIDE_ABSTAIN_THRESHOLD": "0.05",
           "GUIDE_LLM_URL": server.url, "GUIDE_LLM_API_KEY": SENTINEL, "GUIDE_LLM_TIMEOUT": "10",
           "GUIDE_DEBUG": "1"}
    out_dir = tmp_path / "report"
    runs = [["ask", "How do we keep people's trust?"], ["ask", "How do we keep people's trust?", "--json"],
            ["eval", "--questions", str(QUESTIONS), "--out", str(out_dir), "--no-gate", "--no-progress"]]
    try:
        seen = ""
        for args in runs:
            r = subprocess.run([sys.executable, "-m", "guide.cli", *args], capture_output=True, text=True, env=env,
                               cwd=tmp_path, timeout=300)
            assert r.returncode == 0, r.stderr[-2000:]
            seen += r.stdout + r.stderr
    finally:
        server.close()
    assert server.seen_keys and set(server.seen_keys) == {SENTINEL}  # the key was sent, and came back
    seen += "".join(p.read_text(errors="replace") for p in out_dir.iterdir() if p.suffix in (".json", ".md"))
    assert "“" in seen  # the quotes were still given
    assert SENTINEL not in seen
