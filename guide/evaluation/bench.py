"""`make bench`: speed and memory of the guide, next to a naive baseline, printed as figures.

Run: `.venv/bin/python -m guide.evaluation.bench [--rounds N] [--no-app] [--slots N]`. Everything runs here, offline,
on the real model and real Chroma, in temporary directories. Nothing is asserted: targets
(warm p50 under 100 ms) are reported against the measured figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path



def _ms(values: list[float]) -> dict:
    from guide.evaluation.metrics import percentile

    return {"p50_ms": round(percentile(values, 50) * 1000, 1), "p95_ms": round(percentile(values, 95) * 1000, 1),
            "mean_ms": round(statistics.mean(values) * 1000, 1), "n": len(values)}


def _questions() -> list[tuple[str, list]]:
    from guide.evaluation.questions import load_questions

    from guide.settings import Settings

    return [(q.question, list(q.history)) for q in load_questions(Settings.from_env().dev_set)]


def _peak_rss_mb(who=resource.RUSAGE_SELF) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def bench_guide(tmp: Path, rounds: int) -> dict:
    from guide.search.embedding import CachedEmbeddings, MiniLMEmbeddings
    from guide.engine import Guide, ingest
    from guide.settings import Settings

    settings = Settings(index_dir=tmp / "guide-index", data_dir=tmp / "data")
    model = MiniLMEmbeddings()
    t0 = time.perf_counter()
    model.embed_query("warm up")  # load the model outside the build timing
    load_s = time.perf_counter() - t0
    embedder = CachedEmbeddings(model, settings.index_dir / "embeddings.sqlite3")
    t0 = time.perf_counter()
    report = ingest(settings, embedder=embedder)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = ingest(settings, embedder=CachedEmbeddings(model, settings.index_dir / "embeddings.sqlite3"))
    rebuild_s = time.perf_counter() - t0
    guide = Guide.open(settings, embedder=CachedEmbeddings(model, settings.index_dir / "embeddings.sqlite3"))
    qs = _questions()
    guide.ask(*qs[0])  # first answer warms caches; then every question is asked fresh each round
    times = []
    for _ in range(rounds):
        for q, history in qs:
            guide.embedder.forget_queries()  # every ask embeds its question, as a new one would
            t0 = time.perf_counter()
            guide.ask(q, history=history)
            times.append(time.perf_counter() - t0)
    return {
        "reranker": _reranker_in(guide),
        "rerank": bench_rerank(guide, qs, rounds),
        "model_load_s": round(load_s, 2),
        "index_build_s": round(build_s, 2), "passages": report.chunks, "embedded": report.embedded,
        "reingest_unchanged_s": round(rebuild_s, 2), "reingest_embedded": again.embedded,
        "warm_ask": _ms(times),
        "peak_rss_mb_bench_process": _peak_rss_mb(),
    }


def bench_own_document(rounds: int) -> dict:
    """Warm ask on a corpus without scope examples (evals/corpora/rhine, the first 40 tuning
    questions), where the answerability reader runs on every answer: a practitioner's own document."""
    from guide.evaluation.evaluate import corpus_guide
    from guide.evaluation.questions import load_questions
    from guide.settings import REPO_ROOT, Settings

    folder = REPO_ROOT / "evals" / "corpora" / "rhine"
    if not (folder / "sources.toml").is_file():
        return {"error": f"{folder} not found"}
    qs = [q.question for q in load_questions(folder / "rhine_tune.jsonl")][:40]
    with corpus_guide(Settings.from_env(), folder) as guide:
        guide.ask(qs[0])
        times = []
        for _ in range(rounds):
            for q in qs:
                guide.embedder.forget_queries()
                t0 = time.perf_counter()
                guide.ask(q)
                times.append(time.perf_counter() - t0)
        reader = getattr(guide.composer.reader, "name", None)
    return {"warm_ask": _ms(times), "reader": reader, "document": "evals/corpora/rhine (44 paragraphs)"}


def _reranker_in(guide) -> str | None:
    """The name of the reranker the ask path uses, if the composer has one."""
    for owner in (guide, guide.composer, getattr(guide.composer, "inner", None)):
        r = getattr(owner, "reranker", None)
        if r is not None:
            return r.name
    return None


def bench_rerank(guide, qs: list[tuple[str, list]], rounds: int) -> dict:
    """The cross-encoder on its own, one thread: load time, and the cost of scoring as many
    sentences of the passages an ask retrieves as the composer sends it (`rerank_top`; every
    sentence when the composer has no such limit): what reranking adds to one answer."""
    from guide.search.rerank import OnnxCrossEncoder

    limit = getattr(getattr(guide.composer, "scoring", None), "rerank_top", None)

    t0 = time.perf_counter()
    reranker = OnnxCrossEncoder()
    load_s = time.perf_counter() - t0
    work = []
    for q, _history in qs:
        hits = guide.retriever.search(q)
        work.append((q, [h.chunk.span_text(s.start, s.end) for h in hits for s in h.chunk.sentences][:limit]))
    reranker.score(*work[0])
    times = []
    for _ in range(rounds):
        for q, texts in work:
            t0 = time.perf_counter()
            reranker.score(q, texts)
            times.append(time.perf_counter() - t0)
    pairs = sorted(len(t) for _, t in work)
    return {"model": reranker.name, "load_s": round(load_s, 2), "per_ask": _ms(times),
            "pairs_per_ask_median": pairs[len(pairs) // 2], "pairs_per_ask_max": pairs[-1]}


def bench_cold_start(tmp: Path) -> dict:
    """A fresh process: import, load the model, open the index, answer one question."""
    env = {**os.environ, "GUIDE_INDEX_DIR": str(tmp / "guide-index"), "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "guide.cli", "ask", "How do we rebuild trust?"], env=env,
                       capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        return {"error": r.stderr.strip()[-300:]}
    return {"cold_start_to_first_answer_s": round(elapsed, 2),
            "peak_rss_mb_cold_process": _peak_rss_mb(resource.RUSAGE_CHILDREN)}


def bench_baseline(tmp: Path, rounds: int) -> dict:
    """Naive baseline: langchain_chroma similarity_search with default settings over the same passages."""
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma

    from guide.search.embedding import MiniLMEmbeddings
    from guide.engine import corpus_chunks
    from guide.settings import Settings

    _, _, chunks = corpus_chunks(Settings())
    model = MiniLMEmbeddings()
    model.embed_query("warm up")
    t0 = time.perf_counter()
    store = Chroma.from_texts([c.text for c in chunks], embedding=model, persist_directory=str(tmp / "naive"),
                              client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True,
                                                             persist_directory=str(tmp / "naive")))
    build_s = time.perf_counter() - t0
    qs = _questions()
    store.similarity_search(qs[0][0])
    times = []
    for _ in range(rounds):
        for q, _history in qs:
            t0 = time.perf_counter()
            store.similarity_search(q)
            times.append(time.perf_counter() - t0)
    return {"index_build_s": round(build_s, 2), "warm_search": _ms(times),
            "note": "returns 4 passages; no quotes, no verification, no abstention, no follow-ups"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-app", action="store_true", help="skip the web chat load benchmark")
    ap.add_argument("--slots", type=int, default=None,
                    help="answer slots per app process (default: GUIDE_ANSWER_SLOTS's default)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from guide.settings import Settings, offline_environment

    args.slots = args.slots or Settings().answer_slots

    offline_environment()
    with tempfile.TemporaryDirectory(prefix="guide-bench-") as d:
        tmp = Path(d)
        out = {"machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
               "guide": bench_guide(tmp, args.rounds)}
        out["own_document"] = bench_own_document(args.rounds)
        out["cold"] = bench_cold_start(tmp)
        out["naive_baseline"] = bench_baseline(tmp, args.rounds)
        w, bw = out["guide"]["warm_ask"], out["naive_baseline"]["warm_search"]
        out["warm_ask_over_naive"] = {k: round(w[k] / bw[k], 2) for k in ("p50_ms", "p95_ms")}
        if args.json:
            if not args.no_app:
                out["load"] = _load(tmp, args.slots, echo=lambda *a: None)
            print(json.dumps(out, indent=2))
            return 0
        _print(out)
        if not args.no_app:
            print(f"Web chat under load: real `guide serve` processes on loopback, gradio_client visitors "
                  f"({args.slots} answer slot(s) per app; load average before: {os.getloadavg()[0]:.1f})")
            _load(tmp, args.slots, echo=lambda line: print(line, flush=True))
    return 0


def _load(tmp: Path, slots: int, echo) -> dict:
    from guide.evaluation.bench_app import run_load

    try:
        return run_load(slots=slots, index_dir=tmp / "guide-index", echo=echo)
    except Exception as exc:  # report, don't hide: the figures above still stand
        echo(f"  web chat under load: error: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}


def _print(out: dict) -> None:
    g, b = out["guide"], out["naive_baseline"]
    print("Co-production Guide benchmark (real model, real Chroma, this machine)")
    print(f"  cores {out['machine']['cores']}, python {out['machine']['python']}")
    print(f"  model load                     {g['model_load_s']:.2f} s")
    print(f"  index build (cold cache)       {g['index_build_s']:.2f} s  ({g['passages']} passages, {g['embedded']} embedded)")
    print(f"  re-ingest, nothing changed     {g['reingest_unchanged_s']:.2f} s  ({g['reingest_embedded']} embedded)")
    w, bw, r = g["warm_ask"], b["warm_search"], g["rerank"]
    print(f"  warm ask (full answer)         p50 {w['p50_ms']} ms  p95 {w['p95_ms']} ms  (n={w['n']}; target p50 <= 100 ms)"
          f"  reranker in the ask path: {g['reranker'] or 'none'}")
    ratio = out["warm_ask_over_naive"]
    print(f"  warm ask / naive search        p50 x{ratio['p50_ms']}  p95 x{ratio['p95_ms']}  (same run)")
    o = out.get("own_document", {})
    if "warm_ask" in o:
        print(f"  warm ask, a document without scope examples  p50 {o['warm_ask']['p50_ms']} ms  "
              f"p95 {o['warm_ask']['p95_ms']} ms  (n={o['warm_ask']['n']}; {o['document']}; reader: {o['reader'] or 'none'})")
    print(f"  cross-encoder load             {r['load_s']:.2f} s  ({r['model']})")
    print(f"  cross-encoder per ask          p50 {r['per_ask']['p50_ms']} ms  p95 {r['per_ask']['p95_ms']} ms  "
          f"(sentences of the retrieved passages: median {r['pairs_per_ask_median']} pairs, "
          f"max {r['pairs_per_ask_max']}; one thread; part of the warm ask when a reranker is in the ask path)")
    c = out["cold"]
    if "error" in c:
        print(f"  cold start                     error: {c['error']}")
    else:
        print(f"  cold start to first answer     {c['cold_start_to_first_answer_s']:.2f} s  (peak RSS {c['peak_rss_mb_cold_process']} MB)")
    print(f"  peak RSS, bench process        {g['peak_rss_mb_bench_process']} MB")
    print(f"  naive baseline build           {b['index_build_s']:.2f} s")
    print(f"  naive baseline warm search     p50 {bw['p50_ms']} ms  p95 {bw['p95_ms']} ms  ({b['note']})")


if __name__ == "__main__":
    sys.exit(main())
