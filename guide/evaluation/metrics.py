"""Answer-quality metrics: pure functions, no model calls, no I/O.

Every function takes plain values (lists, dicts, strings, numbers) and returns plain values,
so each is unit-tested on its own (tests/test_metrics.py). A metric that cannot be measured
on the data given (e.g. source hit@1 on a set with no answerable questions) is `None`, never 0.

Quote matching (used by quote recall here and by the SciFact quote tier):
an expected span is *found* in a shown quote when, after whitespace normalisation and
case-folding, it is contained in the quote, or the two overlap on a contiguous run of
words covering at least half of the quote's words (both are spans of the same source, so
spans that overlap share one contiguous run).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from urllib.parse import urlsplit

import numpy as np

from guide.answer.quotes import normalise  # noqa: F401  (one definition of "verbatim up to whitespace")

_WORD = re.compile(r"\w+(?:['’]\w+)*")

QUOTE_OVERLAP = 0.5


# --- text ---------------------------------------------------------------------------------
def tokens(text: str) -> list[str]:
    """Lower-cased words, curly apostrophes folded to straight ones."""
    return [w.replace("’", "'") for w in _WORD.findall(text.lower())]


def longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest contiguous run of tokens shared by `a` and `b`."""
    if not a or not b:
        return 0
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                if cur[j] > best:
                    best = cur[j]
        prev = cur
    return best


def span_found(expected: str, quote: str, min_overlap: float = QUOTE_OVERLAP) -> bool:
    """Is the expected span shown by this quote? (contained in it, or overlapping at least
    `min_overlap` of the quote's words on one contiguous run)."""
    e, q = normalise(expected).lower().replace("’", "'"), normalise(quote).lower().replace("’", "'")
    if not e or not q:
        return False
    if e in q:
        return True
    qt = tokens(q)
    if not qt:
        return False
    return longest_common_run(tokens(e), qt) >= min_overlap * len(qt)


def quote_recall(expected: Sequence[str], shown: Sequence[str], min_overlap: float = QUOTE_OVERLAP) -> float | None:
    """Share of expected spans found in some shown quote; None when nothing is expected."""
    if not expected:
        return None
    found = sum(1 for e in expected if any(span_found(e, q, min_overlap) for q in shown))
    return found / len(expected)


def first_quote_hit(expected: Sequence[str], first: str | None, min_overlap: float = QUOTE_OVERLAP) -> float | None:
    """1.0 when the answer's first quote holds an expected span (as `quote_recall` finds it), 0.0
    when it does not or nothing was quoted; None when nothing is expected. For reading-comprehension
    sets, whose one expected span is the answer: "the answer is in the first quote"."""
    if not expected:
        return None
    return 1.0 if first is not None and any(span_found(e, first, min_overlap) for e in expected) else 0.0


@lru_cache(maxsize=8192)
def _normalised_source(text: str) -> str:
    return normalise(text)  # sources are long and checked many times: normalise each once


def is_verbatim(quote: str, source_text: str) -> bool:
    """Is `quote` a verbatim part of `source_text` (whitespace differences allowed, nothing else)?"""
    q = normalise(quote)
    return bool(q) and q in _normalised_source(source_text)


def in_corpus(quote: str, corpus_texts: Iterable[str]) -> bool:
    """Does `quote` appear word for word in some stored source?"""
    return any(is_verbatim(quote, t) for t in corpus_texts)


def verbatim_rate(quotes: Sequence[str], corpus_texts: Iterable[str]) -> float | None:
    """Share of shown quotes that appear word for word in some stored source."""
    if not quotes:
        return None
    texts = [normalise(t) for t in corpus_texts]  # once per call, not once per quote
    return sum(1 for q in quotes if (n := normalise(q)) and any(n in t for t in texts)) / len(quotes)


def citation_correct(quote: str, cited_source: str | None, cited_url: str | None,
                     texts: Mapping[str, str], urls: Mapping[str, str | None]) -> bool:
    """Does the source a quote cites really contain it, and does the link point at that source?

    `texts`: source id -> stored text; `urls`: source id -> its URL (None when it has none).
    """
    if cited_source is None or cited_source not in texts:
        return False
    if not is_verbatim(quote, texts[cited_source]):
        return False
    expected_url = urls.get(cited_source)
    if expected_url and not same_url(expected_url, cited_url):
        return False
    return True


def citation_precision(citations: Sequence[tuple[str, str | None, str | None]], texts: Mapping[str, str],
                       urls: Mapping[str, str | None]) -> float | None:
    """Share of (quote, cited source id, cited url) whose cited source contains the quote."""
    if not citations:
        return None
    return sum(1 for q, s, u in citations if citation_correct(q, s, u, texts, urls)) / len(citations)


# --- sources and rankings -----------------------------------------------------------------
def canonical_url(url: str) -> str:
    """A URL reduced for comparison: no scheme, no 'www.', no fragment or trailing slash, lower-case host."""
    parts = urlsplit(url.strip())
    if not parts.netloc:  # not a URL: an id or a bare host/path
        return url.strip().rstrip("/").lower()
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    return host + path + (f"?{parts.query}" if parts.query else "")


def same_url(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and canonical_url(a) == canonical_url(b)


def first_relevant_rank(ranked: Sequence[str], relevant: Iterable[str]) -> int | None:
    """1-based rank of the first relevant item, or None."""
    rel = set(relevant)
    for i, item in enumerate(ranked, start=1):
        if item in rel:
            return i
    return None


def hit_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    r = first_relevant_rank(ranked, relevant)
    return 1.0 if r is not None and r <= k else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: Iterable[str], k: int | None = None) -> float:
    r = first_relevant_rank(ranked if k is None else ranked[:k], relevant)
    return 0.0 if r is None else 1.0 / r


def recall_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float | None:
    rel = set(relevant)
    if not rel:
        return None
    return len(rel & set(ranked[:k])) / len(rel)


def ndcg_at_k(ranked: Sequence[str], qrels: Mapping[str, int] | Iterable[str], k: int = 10) -> float | None:
    """nDCG@k with linear gains (as pytrec_eval/trec_eval `ndcg_cut`): DCG = sum rel_i / log2(i + 1)."""
    gains = dict(qrels) if isinstance(qrels, Mapping) else {d: 1 for d in qrels}
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:k]
    if not ideal:
        return None
    seen: set[str] = set()
    dcg = 0.0
    for i, d in enumerate(ranked[:k]):
        if d in seen:  # a document counts once
            continue
        seen.add(d)
        dcg += gains.get(d, 0) / math.log2(i + 2)
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg


def dedupe(items: Iterable[str]) -> list[str]:
    """Items in first-seen order, without repeats (e.g. chunks -> their documents)."""
    return list(dict.fromkeys(items))


# --- abstention ---------------------------------------------------------------------------
def abstention_scores(abstained: Sequence[bool], answerable: Sequence[bool]) -> dict[str, float | None]:
    """Abstention as a detector of unanswerable questions.

    precision: of the questions it declined, the share that were really unanswerable;
    recall: of the unanswerable questions, the share it declined;
    false_abstention_rate: of the answerable questions, the share it declined.
    """
    if len(abstained) != len(answerable):
        raise ValueError("abstained and answerable must have the same length")
    pairs = list(zip(abstained, answerable))
    declined = [a for a in pairs if a[0]]
    unans = [a for a in pairs if not a[1]]
    ans = [a for a in pairs if a[1]]
    tp = sum(1 for ab, an in pairs if ab and not an)
    return {
        "abstention_precision": tp / len(declined) if declined else None,
        "abstention_recall": tp / len(unans) if unans else None,
        "false_abstention_rate": sum(1 for ab, _ in ans if ab) / len(ans) if ans else None,
    }


# --- answer states ------------------------------------------------------------------------
ANSWER_STATES = ("answered", "related", "not_covered")


def status_scores(statuses: Sequence[str], answerable: Sequence[bool]) -> dict[str, float | None]:
    """How honest the three answer states are (guide/answer/compose.py: answered | related | not_covered).

    misleading_rate: of the unanswerable questions, the share `answered` (presented as an answer);
    false_not_covered_rate: of the answerable questions, the share `not_covered`;
    answered_share: of the answerable questions, the share fully `answered` (a hedge costs too);
    related_share: of all questions, the share `related`; related_share_answerable /
    related_share_unanswerable: the same within each kind.
    """
    if len(statuses) != len(answerable):
        raise ValueError("statuses and answerable must have the same length")
    unknown = set(statuses) - set(ANSWER_STATES)
    if unknown:
        raise ValueError(f"unknown answer states: {sorted(unknown)}")
    ans = [s for s, a in zip(statuses, answerable) if a]
    unans = [s for s, a in zip(statuses, answerable) if not a]

    def share(items: Sequence[str], state: str) -> float | None:
        return sum(1 for s in items if s == state) / len(items) if items else None

    return {
        "misleading_rate": share(unans, "answered"),
        "false_not_covered_rate": share(ans, "not_covered"),
        "answered_share": share(ans, "answered"),
        "related_share": share(list(statuses), "related"),
        "related_share_answerable": share(ans, "related"),
        "related_share_unanswerable": share(unans, "related"),
    }


def reason_counts(statuses: Sequence[str], reasons: Sequence[str | None],
                  answerable: Sequence[bool]) -> dict[str, dict[str, int]]:
    """Why questions were not presented as answers: for each reason an answer was `related` or
    `not_covered` (compose.py's reasons: weak_support, no_answer_found, opposite, swapped...),
    how many answerable and unanswerable questions it covered. The unanswerable ones are the
    check's catches; the answerable ones are what it cost. Most frequent first."""
    if not len(statuses) == len(reasons) == len(answerable):
        raise ValueError("statuses, reasons and answerable must have the same length")
    counts: dict[str, dict[str, int]] = {}
    for status, reason, ok in zip(statuses, reasons, answerable):
        if status == "answered":
            continue
        c = counts.setdefault(f"{status}: {reason or 'unstated'}", {"answerable": 0, "unanswerable": 0})
        c["answerable" if ok else "unanswerable"] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])))


def off_target_rate(statuses: Sequence[str], recalls: Sequence[float | None]) -> float | None:
    """Of the answerable questions fully `answered` (with expected quotes: `recalls` is each one's
    quote recall), the share whose shown quotes hold none of the expected spans: the answer label
    on the wrong passage. The answered share counts these as successes; this says how many are not.
    None when no such question was answered."""
    if len(statuses) != len(recalls):
        raise ValueError("statuses and recalls must have the same length")
    answered = [r for s, r in zip(statuses, recalls) if s == "answered" and r is not None]
    return sum(1 for r in answered if r == 0) / len(answered) if answered else None


# --- distributions ------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear interpolation; None for no values."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


def distribution(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, mean, min, p25, p50, p75, max of a list of numbers."""
    if not values:
        return {"n": 0, "mean": None, "min": None, "p25": None, "p50": None, "p75": None, "max": None}
    a = np.asarray(values, dtype=float)
    return {
        "n": int(a.size), "mean": float(a.mean()), "min": float(a.min()), "p25": float(np.percentile(a, 25)),
        "p50": float(np.percentile(a, 50)), "p75": float(np.percentile(a, 75)), "max": float(a.max()),
    }


def latency_summary(ms: Sequence[float]) -> dict[str, float | None]:
    return {"latency_p50_ms": percentile(ms, 50), "latency_p95_ms": percentile(ms, 95)}


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


# --- confidence intervals -----------------------------------------------------------------
def bootstrap_ci(values: Sequence[float], *, n_resamples: int = 10_000, confidence: float = 0.95,
                 seed: int = 0) -> dict[str, float]:
    """Mean and percentile bootstrap CI of a per-query metric (fixed seed: same input, same output)."""
    a = np.asarray(values, dtype=float)
    if a.size == 0:
        raise ValueError("no values")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a.size, size=(n_resamples, a.size))
    means = a[idx].mean(axis=1)
    lo, hi = np.percentile(means, [(1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100])
    return {"mean": float(a.mean()), "lo": float(lo), "hi": float(hi)}


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, n_resamples: int = 10_000,
                     confidence: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Paired bootstrap of mean(a) - mean(b) over the same queries.

    Returns the difference, its percentile CI and `p`: a two-sided bootstrap p-value
    (twice the share of resampled differences on the other side of zero, capped at 1).
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.size == 0:
        raise ValueError("paired samples must be non-empty and of equal length")
    d = x - y
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, d.size, size=(n_resamples, d.size))
    means = d[idx].mean(axis=1)
    lo, hi = np.percentile(means, [(1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100])
    diff = float(d.mean())
    other_side = np.mean(means <= 0) if diff > 0 else np.mean(means >= 0)
    return {"diff": diff, "lo": float(lo), "hi": float(hi), "p": float(min(1.0, 2 * other_side)),
            "wins": int((d > 0).sum()), "losses": int((d < 0).sum()), "ties": int((d == 0).sum())}


# --- the language model's part (guide eval --llm) ---------------------------------------------
def llm_scores(rows: Sequence[Mapping]) -> dict[str, float | int | None]:
    """Totals over the rows' `llm` parts ({status, written, removed, shown, shown_supported,
    citations, citations_supported, first_token_ms, answer_ms}); {} when no row has one.

    llm_supported_sentence_rate: shown sentences that pass the support check when re-checked
    (1.0 by construction); llm_written_supported_rate: of every sentence the model wrote, the
    share that passed (the model's own rate); llm_citation_precision: ALCE's citation precision
    over shown sentences (a citation counts when its quote alone supports the sentence, or when
    the sentence is not supported without it)."""
    parts = [r["llm"] for r in rows if r.get("llm")]
    if not parts:
        return {}
    replied = [p for p in parts if p["status"] != "fallback"]
    shown = sum(p["shown"] for p in replied)
    written = sum(p["written"] for p in replied)
    citations = sum(p["citations"] for p in replied)
    first = [p["first_token_ms"] for p in parts if p.get("first_token_ms") is not None]
    total = [p["answer_ms"] for p in parts]
    return {
        "llm_answers": len(parts),
        "llm_sentences_written": written,
        "llm_sentences_shown": shown,
        "llm_supported_sentence_rate": sum(p["shown_supported"] for p in replied) / shown if shown else None,
        "llm_written_supported_rate": shown / written if written else None,
        "llm_citation_precision": sum(p["citations_supported"] for p in replied) / citations if citations else None,
        "llm_removed_per_answer": mean(p["removed"] for p in replied),
        "llm_answers_with_sentences": sum(1 for p in replied if p["shown"]),
        "llm_none_survived": sum(1 for p in parts if p["status"] == "none_survived"),
        "llm_judged_not_covered": sum(1 for p in parts if p["status"] == "not_covered"),
        "llm_fallbacks": len(parts) - len(replied),
        "llm_first_token_ms_p50": percentile(first, 50),
        "llm_first_token_ms_p95": percentile(first, 95),
        "llm_answer_ms_p50": percentile(total, 50),
        "llm_answer_ms_p95": percentile(total, 95),
    }


# --- thresholds ---------------------------------------------------------------------------
def check_thresholds(totals: Mapping[str, object], minimums: Mapping[str, float],
                     maximums: Mapping[str, float] | None = None) -> list[dict]:
    """Each threshold as {metric, value, bound, kind, ok, note}. A metric that could not be
    measured on this set (None) is reported as skipped and does not fail; a metric name that
    the totals do not have at all fails (a typo must not pass silently)."""
    out: list[dict] = []
    for kind, bounds in (("min", minimums), ("max", maximums or {})):
        for name, bound in bounds.items():
            if name not in totals:
                out.append({"metric": name, "value": None, "bound": bound, "kind": kind, "ok": False,
                            "note": "unknown metric"})
                continue
            value = totals[name]
            if value is None:
                out.append({"metric": name, "value": None, "bound": bound, "kind": kind, "ok": True,
                            "note": "not measurable on this set (skipped)"})
                continue
            v = float(value)  # type: ignore[arg-type]
            ok = v >= bound - 1e-12 if kind == "min" else v <= bound + 1e-12
            out.append({"metric": name, "value": v, "bound": bound, "kind": kind, "ok": ok, "note": ""})
    return out
