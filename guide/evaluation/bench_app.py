"""Timing the web chat end to end: `bench_app(n)` starts the real app on a free loopback port,
asks `n` questions through its API (gradio_client, the same event the browser uses) and
measures, per question:

- time to first streamed token: from submitting the question to the first update that carries
  answer text (the question echo that comes before it does not count);
- full answer time: from submitting to the last update of the stream.

Answers stream at the app's own pace (`Chat.pace`, as `guide serve` runs it), so these are the
times a visitor sees. Each question is asked in a fresh conversation (`/clear` in between).
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import time
from pathlib import Path

SERVE_PACE = 0.02  # what `guide serve` uses


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _questions(n: int) -> list[str]:
    from guide.web.chat import STARTER_QUESTIONS
    from guide.evaluation.questions import load_questions
    from guide.settings import Settings

    dev = Settings.from_env().dev_set
    qs = [q.question for q in load_questions(dev)] if dev.exists() else list(STARTER_QUESTIONS)
    return [qs[i % len(qs)] for i in range(n)]


def _answer_text(output) -> str:
    messages = output[0] if isinstance(output, (tuple, list)) and output else []
    if not isinstance(messages, list) or len(messages) < 2:
        return ""
    content = messages[-1].get("content", "") if isinstance(messages[-1], dict) else ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _summary(values: list[float]) -> dict:
    from guide.evaluation.metrics import distribution, percentile

    if not values:
        return {}
    d = distribution(values)
    return {"median_ms": round(d["p50"], 1), "mean_ms": round(d["mean"], 1), "p95_ms": round(percentile(values, 95), 1),
            "min_ms": round(d["min"], 1), "max_ms": round(d["max"], 1)}


def bench_app(n_questions: int = 10, *, settings=None, pace: float = SERVE_PACE) -> dict:
    """Start the app, ask `n_questions` through it, return timings (milliseconds)."""
    import os

    from guide.settings import offline_environment

    offline_environment()
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from gradio_client import Client

    from guide.web.app import launch
    from guide.web.chat import Chat
    from guide.cli.web import open_guide
    from guide.settings import Settings

    settings = settings or Settings.from_env()
    t0 = time.perf_counter()
    guide = open_guide(settings, build_if_missing=True, echo=lambda *a, **k: None)
    guide.embedder.embed_query("co-production")  # load the model, as `guide serve` does before it listens
    startup_ms = (time.perf_counter() - t0) * 1000
    chat = Chat(guide, store=None, pace=pace)
    demo, url = launch(chat, host="127.0.0.1", port=_free_port(), block=False)
    first_ms: list[float] = []
    total_ms: list[float] = []
    per_question: list[dict] = []
    try:
        client = Client(url, verbose=False, download_files=False)
        try:
            for q in _questions(n_questions):
                client.predict(api_name="/clear")
                start = time.perf_counter()
                first = None
                updates = 0
                for out in client.submit(q, api_name="/ask"):
                    updates += 1
                    if first is None and _answer_text(out):
                        first = time.perf_counter()
                end = time.perf_counter()
                f_ms = ((first or end) - start) * 1000
                t_ms = (end - start) * 1000
                first_ms.append(f_ms)
                total_ms.append(t_ms)
                per_question.append({"question": q, "first_token_ms": round(f_ms, 1), "total_ms": round(t_ms, 1),
                                     "updates": updates})
        finally:
            client.close()
    finally:
        with contextlib.redirect_stdout(io.StringIO()):  # gradio prints "Closing server…" on stdout
            demo.close()
    return {
        "questions": n_questions,
        "startup_ms": round(startup_ms, 1),
        "stream_pace_s": pace,
        "time_to_first_token": _summary(first_ms),
        "full_answer": _summary(total_ms),
        "per_question": per_question,
    }


if __name__ == "__main__":  # pragma: no cover
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    print(json.dumps(bench_app(n), indent=2))
