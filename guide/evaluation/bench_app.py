"""Load benchmark of the web chat: N visitors at once, on loopback, through the app's API.

`run_load(...)` starts real `guide serve` processes on free loopback ports and lets N simulated
visitors (one `gradio_client.Client` each, the same `/ask` event the browser uses) ask a fixed mix
of answerable and off-topic questions at the same time. Per level it reports, for the *full
answer* (from submitting the question to the last streamed update): p50, p95 and max, the
throughput (answers per second of wall time) and the errors (a failed or timed-out request, or
an answer that is the chat's "something went wrong" message or a refusal). The per-conversation
question limit (GUIDE_QUESTIONS_PER_MINUTE) is off in these apps: they measure capacity.

- Single app: N = 1, 5, 20, 50, each level against a freshly started app (so no question's
  embedding is cached from an earlier level; within a level every question is distinct).
- Two replicas: two app processes sharing one Chroma server (`chroma run`, GUIDE_CHROMA_URL)
  and one index directory; visitor i always talks to replica i % 2 (a sticky session, as a load
  balancer would keep it).

Bounded: every level asks a fixed number of questions and has a deadline; the servers are
stopped in any case. The visitors run in this process, so they share the machine's cores with
the servers, as a load generator on the same host does. Nothing is asserted: the targets are
printed next to the figures.

Run: `python -m guide.evaluation.bench_app [--levels 1,5,20,50] [--replicas-levels 20,50] [--slots 1]`
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # where `guide serve` runs
QUESTION_SETS = ("dev", "hard", "heldout", "practitioner_tune", "practitioner_heldout")
LEVELS = (1, 5, 20, 50)
REPLICA_LEVELS = (20, 50)
MIN_QUESTIONS = 20  # per level: a level with few visitors asks each of them more questions
PER_VISITOR = 3
LEVEL_DEADLINE_S = 240.0
START_DEADLINE_S = 180.0
TARGETS = {20: "0 errors, p95 <= 1.5 s", 50: "0 errors"}
ERROR_MARK = "Sorry, something went wrong"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def question_mix(n: int) -> list[tuple[str, bool]]:
    """`n` distinct (question, answerable) pairs from the project's question sets, two answerable
    to one off-topic, in a fixed order (single questions only: follow-ups need their history)."""
    from guide.evaluation.questions import load_questions
    from guide.settings import Settings

    answerable: list[str] = []
    off_topic: list[str] = []
    for name in QUESTION_SETS:
        path = Settings.from_env().evals_dir / f"{name}.jsonl"
        if path.exists():
            for q in load_questions(path):
                if not q.history:
                    (answerable if q.answerable else off_topic).append(q.question)
    answerable, off_topic = list(dict.fromkeys(answerable)), list(dict.fromkeys(off_topic))
    mix: list[tuple[str, bool]] = []
    while len(mix) < n and (answerable or off_topic):
        for _ in range(2):
            if answerable and len(mix) < n:
                mix.append((answerable.pop(0), True))
        if off_topic and len(mix) < n:
            mix.append((off_topic.pop(0), False))
    if len(mix) < n:  # more questions than the sets hold: repeat (those repeats are cache hits)
        mix += [mix[i % len(mix)] for i in range(n - len(mix))]
    return mix


def is_answer(text: str) -> bool:
    """An answer or an abstention; not an error message, and not a refusal (a single bold line,
    e.g. a question refused by the rate limit)."""
    refusal = text.startswith("**") and text.endswith("**") and "\n" not in text
    return bool(text) and ERROR_MARK not in text and not refusal


def _answer_text(output) -> str:
    messages = output[0] if isinstance(output, (tuple, list)) and output else []
    if not isinstance(messages, list) or len(messages) < 2:
        return ""
    content = messages[-1].get("content", "") if isinstance(messages[-1], dict) else ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


# --- servers -------------------------------------------------------------------------------------

@dataclass
class Server:
    """A process this benchmark started (and stops)."""

    name: str
    proc: subprocess.Popen
    url: str
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the process has used so far (Linux /proc), else None."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def tail(self) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-3:])
        except OSError:
            return ""


def _wait_http(server: Server, path: str, deadline: float) -> None:
    import httpx

    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with code {server.proc.returncode}: {server.tail()}")
        try:
            if httpx.get(server.url + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{server.name} did not answer within {START_DEADLINE_S:.0f} s: {server.tail()}")


def app_env(index_dir: Path, data_dir: Path, *, slots: int = 1, chroma_url: str | None = None,
            **settings: str) -> dict:
    """The environment of a `guide serve` process: this one's, GUIDE_* replaced by these values
    (extra `settings` by field name, e.g. embedder="hash"); what the index was built from
    (corpus, embedder, reranker) is passed on when set here."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUIDE_")}
    for key in ("GUIDE_CORPUS_DIR", "GUIDE_EMBEDDER", "GUIDE_RERANKER"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    env.update({"GUIDE_INDEX_DIR": str(index_dir), "GUIDE_DATA_DIR": str(data_dir),
                "GUIDE_ANSWER_SLOTS": str(slots), "PYTHONUNBUFFERED": "1",
                "GUIDE_QUESTIONS_PER_MINUTE": "0"})  # simulated visitors ask faster than the per-visitor limit
    env.update({f"GUIDE_{k.upper()}": str(v) for k, v in settings.items()})
    if chroma_url:
        env["GUIDE_CHROMA_URL"] = chroma_url
    return env


def start_app(name: str, env: dict, logs: Path) -> Server:
    port = _free_port()
    log = logs / f"{name}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "guide.cli", "serve", "--port", str(port)], env=env,
                                stdout=fh, stderr=subprocess.STDOUT, cwd=REPO)
    return Server(name, proc, f"http://127.0.0.1:{port}", log)


def start_chroma(path: Path, logs: Path) -> Server:
    exe = Path(sys.executable).parent / "chroma"
    port = _free_port()
    log = logs / "chroma.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([str(exe if exe.exists() else shutil.which("chroma") or "chroma"), "run",
                                 "--path", str(path), "--port", str(port), "--host", "127.0.0.1"],
                                stdout=fh, stderr=subprocess.STDOUT,
                                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    return Server("chroma", proc, f"http://127.0.0.1:{port}", log)


@contextlib.contextmanager
def running(servers: list[Server], ready_path: str = "/"):
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        for s in servers:
            _wait_http(s, ready_path, deadline)
        yield servers
    finally:
        for s in servers:
            s.stop()


# --- visitors ------------------------------------------------------------------------------------

@dataclass
class Level:
    label: str
    users: int
    questions: int
    full_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    abstained_off_topic: int = 0
    off_topic: int = 0
    wall_s: float = 0.0
    server_cpu_s: float | None = None  # CPU the app processes used during the level
    client_cpu_s: float | None = None  # CPU this process (the visitors) used

    def summary(self) -> dict:
        from guide.evaluation.metrics import percentile

        def r(v):
            return None if v is None else round(v, 1)

        return {
            "label": self.label, "users": self.users, "questions": self.questions,
            "answers": len(self.full_ms), "errors": len(self.errors), "error_examples": self.errors[:3],
            "full_answer_p50_ms": r(percentile(self.full_ms, 50)), "full_answer_p95_ms": r(percentile(self.full_ms, 95)),
            "full_answer_max_ms": r(max(self.full_ms) if self.full_ms else None),
            "throughput_per_s": round(len(self.full_ms) / self.wall_s, 2) if self.wall_s else None,
            "wall_s": round(self.wall_s, 2), "off_topic_abstained": f"{self.abstained_off_topic}/{self.off_topic}",
            "server_cpu_ms_per_answer": _per_answer(self.server_cpu_s, len(self.full_ms)),
            "client_cpu_ms_per_answer": _per_answer(self.client_cpu_s, len(self.full_ms)),
        }


def _per_answer(cpu_s: float | None, answers: int) -> float | None:
    return round(cpu_s / answers * 1000, 1) if cpu_s is not None and answers else None


def _cpu_now(servers: list[Server]) -> tuple[float | None, float]:
    import resource

    used = [s.cpu_seconds() for s in servers]
    me = resource.getrusage(resource.RUSAGE_SELF)
    return (None if None in used else sum(used)), me.ru_utime + me.ru_stime


def run_visitors(servers: list[Server], users: int, *, label: str, per_user: int | None = None,
                 deadline_s: float = LEVEL_DEADLINE_S) -> Level:
    """`users` visitors at once, visitor i on urls[i % len(urls)], each asking its questions in
    turn in one conversation, as a visitor does."""
    from gradio_client import Client

    urls = [s.url for s in servers]
    per_user = per_user or max(PER_VISITOR, -(-MIN_QUESTIONS // users))
    mix = question_mix(users * per_user)
    level = Level(label, users, len(mix))
    lock = threading.Lock()
    # A browser waits for a busy server; gradio_client's default 5 s read timeout would not.
    clients = [Client(urls[i % len(urls)], verbose=False, download_files=False, httpx_kwargs={"timeout": 120})
               for i in range(users)]
    start_gate = threading.Barrier(users)
    t_end = time.monotonic() + deadline_s

    def visitor(i: int) -> None:
        client = clients[i]
        mine = mix[i * per_user:(i + 1) * per_user]
        start_gate.wait(timeout=60)
        for question, answerable in mine:
            remaining = t_end - time.monotonic()
            if remaining <= 0:
                with lock:
                    level.errors.append("deadline reached before the question was asked")
                continue
            try:
                t0 = time.perf_counter()
                job = client.submit(question, api_name="/ask")
                try:
                    final = job.result(timeout=remaining)  # waits on the job's future (no polling)
                except TimeoutError:
                    job.cancel()
                    raise TimeoutError("level deadline reached mid-answer") from None
                t1 = time.perf_counter()
                text = _answer_text(final)
                if not is_answer(text):
                    raise RuntimeError(f"not an answer: {text[:120]!r}")
                with lock:
                    level.full_ms.append((t1 - t0) * 1000)
                    if not answerable:
                        level.off_topic += 1
                        level.abstained_off_topic += "don't cover" in text
            except Exception as exc:  # noqa: BLE001 — every failure is counted, none stops the level
                with lock:
                    level.errors.append(f"{type(exc).__name__}: {str(exc)[:160]}")

    try:
        t0 = time.perf_counter()
        server0, client0 = _cpu_now(servers)
        with ThreadPoolExecutor(max_workers=users) as pool:
            list(pool.map(visitor, range(users)))
        level.wall_s = time.perf_counter() - t0
        server1, client1 = _cpu_now(servers)
        level.server_cpu_s = None if server0 is None or server1 is None else server1 - server0
        level.client_cpu_s = client1 - client0
    finally:
        for c in clients:
            with contextlib.suppress(Exception):
                c.close()
    return level


# --- the benchmark -------------------------------------------------------------------------------

def build_index(index_dir: Path, chroma_url: str | None = None) -> None:
    from guide.engine import ingest
    from guide.settings import Settings

    ingest(Settings.from_env(index_dir=index_dir, chroma_url=chroma_url))


def run_load(*, levels=LEVELS, replica_levels=REPLICA_LEVELS, slots: int = 2, index_dir: Path | None = None,
             echo=print) -> dict:
    """Run the load levels; returns {"single": [...], "replicas": [...]} of level summaries."""
    from guide.settings import offline_environment

    offline_environment()
    out: dict = {"slots": slots, "single": [], "replicas": []}
    with tempfile.TemporaryDirectory(prefix="guide-load-") as d:
        tmp = Path(d)
        logs = tmp / "logs"
        logs.mkdir()
        if index_dir is None:
            index_dir = tmp / "index"
            echo("  building the index for the load benchmark…")
            build_index(index_dir)
        for n in levels:
            server = start_app("app", app_env(index_dir, tmp / "data-single", slots=slots), logs)
            try:
                with running([server]):
                    out["single"].append(run_visitors([server], n, label="single app").summary())
            except RuntimeError as exc:
                out["single"].append({"label": "single app", "users": n, "error": str(exc)})
            echo(format_level(out["single"][-1]))
        if replica_levels:
            chroma = start_chroma(tmp / "chroma-server", logs)
            try:
                with running([chroma], "/api/v2/heartbeat"):
                    build_index(index_dir, chroma.url)  # once, into the server; both replicas read it
                    for n in replica_levels:
                        apps = [start_app(f"replica{i}", app_env(index_dir, tmp / "data-replicas", slots=slots,
                                                              chroma_url=chroma.url), logs) for i in (1, 2)]
                        try:
                            with running(apps):
                                out["replicas"].append(run_visitors(apps, n, label="2 replicas + Chroma server")
                                                       .summary())
                        except RuntimeError as exc:
                            out["replicas"].append({"label": "2 replicas + Chroma server", "users": n,
                                                    "error": str(exc)})
                        echo(format_level(out["replicas"][-1]))
            except RuntimeError as exc:
                out["replicas"].append({"label": "2 replicas + Chroma server", "users": 0, "error": str(exc)})
                echo(format_level(out["replicas"][-1]))
    return out


def format_level(s: dict) -> str:
    head = f"  {s['label']:<27} {s['users']:>3} users"
    if "error" in s:
        return f"{head}  could not run: {s['error']}"
    target = TARGETS.get(s["users"], "") if s["label"] == "single app" else ("0 errors" if s["users"] else "")
    return (f"{head}  {s['answers']:>3}/{s['questions']:<3} answers  full answer p50 {s['full_answer_p50_ms']} ms"
            f"  p95 {s['full_answer_p95_ms']} ms  max {s['full_answer_max_ms']} ms  "
            f"{s['throughput_per_s']} answers/s  errors {s['errors']}  "
            f"CPU per answer: app {s['server_cpu_ms_per_answer']} ms, visitors {s['client_cpu_ms_per_answer']} ms"
            + (f"  (target: {target})" if target else "")
            + (f"\n      e.g. {s['error_examples'][0]}" if s["errors"] else ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", default=",".join(map(str, LEVELS)), help="visitors at once, per level")
    ap.add_argument("--replicas-levels", default=",".join(map(str, REPLICA_LEVELS)),
                    help="levels for two replicas over one Chroma server ('' to skip)")
    ap.add_argument("--slots", type=int, default=None, help="GUIDE_ANSWER_SLOTS of the apps (default: its default)")
    ap.add_argument("--index-dir", type=Path, default=None, help="a built index to serve (default: build one)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from guide.settings import Settings

    args.slots = args.slots or Settings().answer_slots

    def levels(text: str) -> list[int]:
        return [int(x) for x in text.split(",") if x.strip()]

    print(f"Web chat under load (loopback, {os.cpu_count()} cores, {args.slots} answer slot(s) per app)")
    out = run_load(levels=levels(args.levels), replica_levels=levels(args.replicas_levels), slots=args.slots,
                   index_dir=args.index_dir)
    if args.json:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
