"""The public benchmark tier: SciFact (Wadden et al., EMNLP 2020), the BEIR test split.

Read from `Settings().scifact_dir` (default `../shared/datasets/scifact`, holding `scifact.zip`
or its CSVs), never copied into the repository. Each abstract becomes a `corpus.Document`
("# <paper title>" then the abstract sentences joined by spaces, one paragraph) and goes
through the guide's own chunking, store (Chroma) and retriever, so the title and abstract are
both searched, as in the published BEIR/MTEB anchors. Document score = best chunk.

Three tiers:
- retrieval: nDCG@10, recall@10/100 and MRR@10 of BM25 alone, dense alone, the guide's hybrid
  and the hybrid top RERANK_DEPTH re-ordered by the cross-encoder (guide/search/rerank.py) on
  the 300 claims, next to the published numbers, with paired bootstrap CIs;
- evidence sentences: given the gold abstract, is the sentence the cross-encoder (or MiniLM
  cosine) ranks first a gold evidence sentence;
- quotes: through `Guide.ask` (the chat's path), how often the first quote is a gold evidence
  sentence, given the gold abstract (`source=`) and end to end, and how often the guide
  abstains when the cited abstract has no evidence for the claim.

Embeddings and cross-encoder scores are cached on disk under `<index_dir>/scifact/`, and each
slice keeps its own Chroma index there, so a second run does no embedding work.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import os
import random
import re
import time
import tokenize
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from guide.evaluation import metrics as M
from guide.search.chunking import Chunk, Span, chunk_document
from guide.sources.corpus import Document, Manifest, Source
from guide.errors import CorpusError

PUBLISHED = {
    # document level, BEIR SciFact test (300 claims); see the data set's README.
    "bm25": {"ndcg_at_10": 0.665, "source": "BEIR paper (Elasticsearch BM25, title + abstract)"},
    "dense": {"ndcg_at_10": 0.6451, "recall_at_100": 0.925, "source": "MTEB, all-MiniLM-L6-v2"},
    "other": {
        "bm25_anserini_multifield": 0.6647,
        "bm25_anserini_flat": 0.6789,
        "bge_small_en_v1_5": 0.7128,
        "bm25_ce_rerank": 0.688,
        "rrf_bm25_bge_base": 0.7440,
    },
}
ANCHOR_TOLERANCE = {"bm25": 0.02, "dense": 0.01}
MODES = ("bm25", "dense", "hybrid")
RERANKED = "hybrid_rerank"  # the cross-encoder over the hybrid top RERANK_DEPTH (guide/search/rerank.py)
RERANK_DEPTH = 20  # hybrid candidates the cross-encoder re-scores per claim: chosen on train claims (docs/decisions.md)
DEPTH = 100  # ranking depth for recall@100; each ranker fetches this many passages
DEFAULT_SEED = 13
DEFAULT_DISTRACTORS = 300
SOURCE_PREFIX = "scifact-"

_WS_CHARS = str.maketrans({"\n": " ", "\r": " ", "\t": " ", "\f": " ", "\v": " "})


# --- data ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Abstract:
    doc_id: str
    title: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    cited: tuple[str, ...]  # BEIR relevance: every cited abstract is relevant (gain 1)
    evidence: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False, hash=False)
    labels: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def has_evidence(self) -> bool:
        return bool(self.evidence)


@dataclass
class SciFact:
    abstracts: dict[str, Abstract]
    claims: list[Claim]
    origin: str = ""

    def describe(self) -> dict:
        return {
            "origin": self.origin,
            "abstracts": len(self.abstracts),
            "claims": len(self.claims),
            "claims_with_evidence": sum(1 for c in self.claims if c.has_evidence),
            "relevance_pairs": sum(len(c.cited) for c in self.claims),
        }


def parse_sentence_list(raw: str) -> list[str]:
    """The `abstract` column: a Python-style list of string literals printed across lines.

    Read literal by literal with Python's tokenizer. (Joining lines and `literal_eval`-ing the
    whole list would silently glue two literals that share a line -- `'a' 'b'` is one string
    in Python -- and shift every later sentence index, which happens in 86 abstracts.)
    """
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(raw).readline):
            if tok.type == tokenize.STRING:
                out.append(ast.literal_eval(tok.string))
    except (tokenize.TokenError, SyntaxError, ValueError) as exc:
        raise ValueError(f"cannot read the sentence list ({exc})") from None
    return out


def _ids(raw: str) -> list[str]:
    return re.findall(r"\d+", raw or "")


def _open_csv(root: Path, name: str) -> list[dict]:
    root = Path(root)
    candidates = [root] if root.is_file() else [root / "scifact.zip", root / name]
    for c in candidates:
        if c.is_file() and c.suffix == ".zip":
            with zipfile.ZipFile(c) as z:
                member = next((m for m in z.namelist() if m.rsplit("/", 1)[-1] == name), None)
                if member is None:
                    continue
                with z.open(member) as f:
                    return list(csv.DictReader(io.TextIOWrapper(f, encoding="utf-8", newline="")))
        if c.is_file() and c.name == name:
            with c.open(encoding="utf-8", newline="") as f:
                return list(csv.DictReader(f))
    raise CorpusError(f"SciFact file {name} not found (looked in {', '.join(map(str, candidates))}). "
                      f"Set GUIDE_SCIFACT_DIR to the folder holding scifact.zip.", path=root)


def load_scifact(root: Path, claims_file: str = "claims_validation.csv") -> SciFact:
    """Abstracts (corpus_train.csv) and the BEIR test claims (claims_validation.csv)."""
    abstracts: dict[str, Abstract] = {}
    for row in _open_csv(root, "corpus_train.csv"):
        doc_id = row["doc_id"].strip()
        try:
            sents = parse_sentence_list(row["abstract"])
        except ValueError as exc:
            raise CorpusError(f"abstract {doc_id}: {exc}", path=root) from None
        abstracts[doc_id] = Abstract(doc_id, " ".join(row["title"].split()), tuple(sents))
    claims: dict[str, dict] = {}
    for row in _open_csv(root, claims_file):
        cid = row["id"].strip()
        c = claims.setdefault(cid, {"text": row["claim"], "cited": [], "evidence": {}, "labels": {}})
        for d in _ids(row.get("cited_doc_ids", "")):
            if d not in c["cited"]:
                c["cited"].append(d)
        doc = (row.get("evidence_doc_id") or "").strip()
        if doc:
            sents = {int(i) for i in _ids(row.get("evidence_sentences", ""))}
            c["evidence"][doc] = tuple(sorted(set(c["evidence"].get(doc, ())) | sents))
            c["labels"][doc] = row.get("evidence_label", "")
    out = [Claim(cid, c["text"], tuple(c["cited"]), c["evidence"], c["labels"])
           for cid, c in sorted(claims.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else kv[0])]
    missing = {d for c in out for d in c.cited if d not in abstracts}
    if missing:
        raise CorpusError(f"claims cite {len(missing)} abstracts missing from the corpus (e.g. {sorted(missing)[:3]})",
                          path=root)
    return SciFact(abstracts, out, origin=str(root))


def subset(data: SciFact, n_claims: int, *, distractors: int = DEFAULT_DISTRACTORS, seed: int = DEFAULT_SEED) -> SciFact:
    """A fixed-seed slice: `n_claims` claims, every abstract they cite, and `distractors` others."""
    rng = random.Random(seed)
    claims = sorted(rng.sample(data.claims, min(n_claims, len(data.claims))), key=lambda c: data.claims.index(c))
    needed = {d for c in claims for d in (*c.cited, *c.evidence)}
    others = sorted(set(data.abstracts) - needed, key=lambda d: int(d) if d.isdigit() else d)
    keep = needed | set(rng.sample(others, min(distractors, len(others))))
    abstracts = {d: a for d, a in data.abstracts.items() if d in keep}
    return SciFact(abstracts, claims, origin=f"{data.origin} (slice: {len(claims)} claims, seed {seed}, "
                                             f"{len(keep) - len(needed)} distractors)")


def source_id(doc_id: str) -> str:
    return SOURCE_PREFIX + doc_id


def doc_of(source: str) -> str:
    return source[len(SOURCE_PREFIX):] if source.startswith(SOURCE_PREFIX) else source


def to_document(a: Abstract) -> tuple[Document, list[Span]]:
    """The abstract as a guide Document, and the span of each SciFact sentence in its text.

    Text: "# <title>" then the sentences joined by spaces as one paragraph, so the guide's
    chunker keeps the abstract whole and searches "<title>\\n<abstract>" (title + text, as the
    published anchors do). Line breaks inside sentences become spaces (same length, so the
    offsets hold and the quotes are verbatim).
    """
    title = a.title or f"SciFact abstract {a.doc_id}"
    head = f"# {title}\n\n"
    parts: list[str] = []
    spans: list[Span] = []
    pos = len(head)
    for s in a.sentences:
        s = s.translate(_WS_CHARS)
        if parts:
            parts.append(" ")
            pos += 1
        spans.append(Span(pos, pos + len(s)))
        parts.append(s)
        pos += len(s)
    text = head + "".join(parts) + "\n"
    src = Source(id=source_id(a.doc_id), title=f"SciFact abstract {a.doc_id}", kind="document",
                 organisation="SciFact (AllenAI), ODC-By 1.0")
    return Document(source=src, text=text, meta={"doc_id": a.doc_id}, path=Path(f"scifact/{a.doc_id}")), spans


# --- the index ----------------------------------------------------------------------------
@dataclass
class BenchIndex:
    data: SciFact
    docs: dict[str, Document]  # source id -> document
    gold_spans: dict[str, list[Span]]  # source id -> the SciFact sentence spans
    chunks: list[Chunk]
    retriever: object  # HybridRetriever ranking to DEPTH (benchmark rankings)
    guide: object  # a Guide over the SciFact documents (the chat's ask path, its own retriever)
    embedder: object
    build: object  # store.BuildReport

    def gold_sentence(self, doc_id: str, i: int) -> str:
        sid = source_id(doc_id)
        sp = self.gold_spans[sid][i]
        return self.docs[sid].text[sp.start:sp.end]


def slice_name(data: SciFact) -> str:
    h = hashlib.sha256("\x1f".join(sorted(data.abstracts)).encode()).hexdigest()[:10]
    return f"docs{len(data.abstracts)}-{h}"


def build_index(data: SciFact, settings, embedder, *, progress: bool = True) -> BenchIndex:
    """Chunk, embed (cached), store and open retrievers over the abstracts of `data`."""
    from guide.engine import Guide
    from guide.search.store import Store, open_client

    docs: dict[str, Document] = {}
    spans: dict[str, list[Span]] = {}
    for a in data.abstracts.values():
        d, sp = to_document(a)
        docs[d.id], spans[d.id] = d, sp
    chunks = [c for d in docs.values() for c in chunk_document(d)]
    client = open_client(Path(settings.index_dir) / "scifact" / slice_name(data), None, create=True)
    store = Store(client, "scifact")
    _say(progress, f"indexing {len(docs):,} abstracts ({len(chunks):,} passages) ...")
    report = store.build(chunks, _Progress(embedder, len(chunks), "embedding abstracts", progress))
    texts = {sid: d.text for sid, d in docs.items()}
    manifest = Manifest(path=Path(data.origin or "scifact"), sources=[d.source for d in docs.values()])
    # the blog's scope examples (guide/answer/scope.py) say nothing about biomedical claims
    guide = Guide.assemble(settings, manifest, texts, chunks, client, store.current(), embedder, scope=False)
    # the ranking benchmark reads deeper than an answer does, over the same store and keyword index
    bench = guide.retriever.model_copy(update={"k": DEPTH, "fetch_k": DEPTH})
    return BenchIndex(data, docs, spans, chunks, bench, guide, embedder, report)


class _Progress:
    """Passes embedding calls through to the embedder, advancing a progress bar (Store.build
    embeds in batches of 256 and reads `.model_id` and `.misses`)."""

    def __init__(self, inner, total: int, desc: str, enabled: bool):
        self.inner = inner
        self.model_id = inner.model_id
        self._bar_args = dict(total=total, desc=desc, unit="text", disable=not enabled, leave=False)
        self.bar = None

    @property
    def misses(self) -> int:
        return getattr(self.inner, "misses", 0)

    def embed_documents(self, texts):
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(**self._bar_args)
        out = self.inner.embed_documents(texts)
        self.bar.update(len(texts))
        if self.bar.n >= (self.bar.total or 0):
            self.bar.close()
        return out


def _say(enabled: bool, msg: str) -> None:
    if enabled:
        import sys

        print(msg, file=sys.stderr, flush=True)


# --- retrieval tier -----------------------------------------------------------------------
_STANDARD_WORD = re.compile(r"\w+")


def standard_tokens(text: str) -> list[str]:
    """A standard analyzer: lower-cased words, no stopwords, no stemming (Lucene/Elasticsearch
    `standard`, near enough). Used only to check the BM25 anchor with the guide's BM25 machinery."""
    return _STANDARD_WORD.findall(text.lower())


def standard_keyword_index(chunks: list[Chunk]):
    """The guide's KeywordIndex (bm25s over the same passages) with `standard_tokens`."""
    from guide.search.retrieval import KeywordIndex

    return KeywordIndex(chunks, tokenize=standard_tokens)


def rank_documents(retriever, query: str, mode: str, depth: int = DEPTH) -> list[str]:
    """SciFact doc ids, best first (a document ranks where its best passage ranks)."""
    hits = retriever.search(query, k=depth, mode=mode)
    return M.dedupe(doc_of(h.chunk.source_id) for h in hits)[:depth]


def abstract_text(a: Abstract) -> str:
    """What the cross-encoder reads for an abstract: title and text (as BEIR's reranking does)."""
    return f"{a.title} {' '.join(a.sentences)}".strip()


def rerank_documents(reranker, query: str, ranked: list[str], texts: dict[str, str],
                     depth: int = RERANK_DEPTH, fuse: Iterable[list[str]] = ()) -> list[str]:
    """The top `depth` of `ranked` re-ordered, then the rest of `ranked` unchanged.

    Without `fuse`: in cross-encoder order. With `fuse` (other rankings of the same query, e.g.
    BM25's and dense's): by reciprocal rank fusion (k=60, as the hybrid) of those rankings and
    the cross-encoder's, so the cross-encoder is a third voice in the hybrid's vote."""
    from guide.search.retrieval import RRF_K

    head = ranked[:depth]
    if not head:
        return list(ranked)
    scores = reranker.score(query, [texts[d] for d in head])
    order = np.argsort(-scores, kind="stable")
    by_score = [head[i] for i in order]
    votes = [{d: n for n, d in enumerate(r, start=1)} for r in fuse]
    if votes:
        votes.append({d: n for n, d in enumerate(by_score, start=1)})
        by_score = sorted(head, key=lambda d: -sum(1.0 / (RRF_K + v[d]) for v in votes if d in v))
    return by_score + list(ranked[depth:])


def exact_dense_rankings(ix: BenchIndex, depth: int = DEPTH) -> Callable[[str], list[str]]:
    """Brute-force cosine over every passage (a diagnostic: separates HNSW search from the model)."""
    mat = np.asarray(ix.embedder.embed_documents([c.search_text for c in ix.chunks]), dtype=np.float32)
    owners = [doc_of(c.source_id) for c in ix.chunks]

    def rank(query: str) -> list[str]:
        q = np.asarray(ix.embedder.embed_query(query), dtype=np.float32)
        order = np.argsort(-(mat @ q), kind="stable")
        return M.dedupe(owners[i] for i in order[: depth * 2])[:depth]

    return rank


def query_metrics(ranked: list[str], relevant: Iterable[str]) -> dict[str, float]:
    rel = list(relevant)
    return {
        "ndcg_at_10": M.ndcg_at_k(ranked, rel, 10),
        "recall_at_10": M.recall_at_k(ranked, rel, 10),
        "recall_at_100": M.recall_at_k(ranked, rel, 100),
        "mrr_at_10": M.reciprocal_rank(ranked, rel, 10),
    }


RETRIEVAL_METRICS = ("ndcg_at_10", "recall_at_10", "recall_at_100", "mrr_at_10")


def retrieval_tier(ix: BenchIndex, *, progress: bool = True, seed: int = 0, exact: bool = True,
                   reranker=None, rerank_depth: int = RERANK_DEPTH, rerank_claims: int | None = None) -> dict:
    """BM25, dense and hybrid rankings of every claim; with a reranker, also the hybrid top
    `rerank_depth` re-ordered by RRF of BM25, dense and the reranker (RERANKED, timed per
    claim) and, as a diagnostic, by the reranker alone. `rerank_claims` = rerank only a
    fixed-seed sample of that many claims (the cross-encoder is the slow part); RERANKED is
    then compared with the hybrid on the same claims."""
    from tqdm import tqdm

    modes = MODES + ((RERANKED,) if reranker is not None else ())
    per_query: dict[str, list[dict]] = {m: [] for m in modes}
    texts = {d: abstract_text(a) for d, a in ix.data.abstracts.items()} if reranker is not None else {}
    rerank_ms: list[float] = []
    ce_only_rows: list[dict] = []
    scored0 = getattr(reranker, "misses", None)
    claims = ix.data.claims
    sample = ({c.id for c in random.Random(seed).sample(claims, rerank_claims)}
              if rerank_claims is not None and rerank_claims < len(claims) else {c.id for c in claims})
    hybrid_same: list[dict] = []  # the hybrid on the reranked claims, for the paired comparison
    rows: list[dict] = []
    exact_rank = exact_dense_rankings(ix) if exact else None
    exact_rows: list[dict] = []
    standard = ix.retriever.model_copy(update={"keyword": standard_keyword_index(ix.chunks)}) if exact else None
    standard_rows: list[dict] = []
    for c in tqdm(claims, desc=f"retrieval ({len(modes)} rankers)", unit="claim", disable=not progress,
                  leave=False):
        row = {"claim_id": c.id, "relevant": list(c.cited)}
        rankings: dict[str, list[str]] = {}
        for mode in modes:
            if mode == RERANKED:
                if c.id not in sample:
                    continue
                hybrid_same.append(per_query["hybrid"][-1])
                hybrid, fuse = rankings["hybrid"], (rankings["bm25"], rankings["dense"])
                t0 = time.perf_counter()
                ranked = rerank_documents(reranker, c.text, hybrid, texts, rerank_depth, fuse=fuse)
                rerank_ms.append((time.perf_counter() - t0) * 1000)
                ce_only_rows.append(query_metrics(rerank_documents(reranker, c.text, hybrid, texts, rerank_depth),
                                                  c.cited))
            else:
                ranked = rank_documents(ix.retriever, c.text, mode)
            rankings[mode] = ranked
            qm = query_metrics(ranked, c.cited)
            per_query[mode].append(qm)
            row[mode] = qm | {"top": ranked[:3], "first_relevant_rank": M.first_relevant_rank(ranked, c.cited)}
        if exact_rank is not None:
            exact_rows.append(query_metrics(exact_rank(c.text), c.cited))
        if standard is not None:
            standard_rows.append(query_metrics(rank_documents(standard, c.text, "bm25"), c.cited))
        rows.append(row)
    summary: dict[str, dict] = {}
    for mode in modes:
        summary[mode] = {k: M.mean(q[k] for q in per_query[mode]) for k in RETRIEVAL_METRICS}
        summary[mode]["ndcg_at_10_ci"] = M.bootstrap_ci([q["ndcg_at_10"] for q in per_query[mode]], seed=seed)
    # (ranker, the ranker it is compared with, that ranker's rows on the same claims)
    pairs = [("hybrid", "bm25", per_query["bm25"]), ("hybrid", "dense", per_query["dense"])]
    if reranker is not None:
        pairs.append((RERANKED, "hybrid", hybrid_same))
    paired = {
        f"{a}_vs_{b}": {
            k: M.paired_bootstrap([q[k] for q in per_query[a]], [q[k] for q in other], seed=seed)
            for k in ("ndcg_at_10", "mrr_at_10")
        }
        for a, b, other in pairs
    }
    out = {"summary": summary, "paired_bootstrap": paired, "rows": rows}
    if reranker is not None:
        scored = None if scored0 is None else reranker.misses - scored0  # pairs not found in the score cache
        out["rerank"] = {"model": reranker.name, "depth": rerank_depth, "ms_per_claim": M.distribution(rerank_ms),
                         "pairs_scored": scored, "claims": len(hybrid_same),
                         "hybrid_same_claims": {k: M.mean(q[k] for q in hybrid_same) for k in RETRIEVAL_METRICS},
                         "fusion": "RRF (k=60) of the BM25, dense and cross-encoder ranks over the hybrid top depth",
                         "cross_encoder_order_only": {k: M.mean(q[k] for q in ce_only_rows) for k in RETRIEVAL_METRICS}}
    if exact_rows:
        out["diagnostics"] = {
            "dense_exact_search": {k: M.mean(q[k] for q in exact_rows) for k in RETRIEVAL_METRICS},
            "bm25_standard_tokens": {k: M.mean(q[k] for q in standard_rows) for k in RETRIEVAL_METRICS},
        }
    return out


def anchor_check(summary: dict, full: bool, diagnostics: dict | None = None) -> dict:
    """Is the guide's BM25 within 0.02 of 0.665 and its dense within 0.01 of 0.645?

    Also checks the two diagnostics that isolate the causes of a miss: BM25 with a standard
    tokenizer (the guide's BM25 machinery, the anchor's analysis) and dense with exact search.
    """
    rows = {"bm25": ("bm25", summary["bm25"]), "dense": ("dense", summary["dense"])}
    for name, mode in (("bm25_standard_tokens", "bm25"), ("dense_exact_search", "dense")):
        if diagnostics and name in diagnostics:
            rows[name] = (mode, diagnostics[name])
    out = {}
    for name, (mode, m) in rows.items():
        ours = m["ndcg_at_10"]
        pub = PUBLISHED[mode]["ndcg_at_10"]
        tol = ANCHOR_TOLERANCE[mode]
        out[name] = {"ours": ours, "published": pub, "delta": ours - pub, "tolerance": tol,
                     "reproduced": bool(full and abs(ours - pub) <= tol), "comparable": full}
    return out


# --- evidence-sentence tier ---------------------------------------------------------------
def sentence_tier(ix: BenchIndex, reranker, *, progress: bool = True, seed: int = 0) -> dict:
    """Given the gold abstract, is the sentence ranked first a gold evidence sentence (P@1)?

    The cross-encoder's order against MiniLM cosine, over every (claim, gold abstract) pair,
    with no answer composition and no abstention: the ranking the quote choice can start from.
    """
    from tqdm import tqdm

    rows: list[dict] = []
    pairs = [(c, doc, idx) for c in ix.data.claims for doc, idx in c.evidence.items()]
    for c, doc, idx in tqdm(pairs, desc="evidence sentences", unit="pair", disable=not progress, leave=False):
        sents = [ix.gold_sentence(doc, i) for i in range(len(ix.gold_spans[source_id(doc)]))]
        ce = reranker.score(c.text, sents)
        q = np.asarray(ix.embedder.embed_query(c.text), dtype=np.float32)
        cos = np.asarray(ix.embedder.embed_documents(sents), dtype=np.float32) @ q
        top_ce, top_cos = int(np.argmax(ce)), int(np.argmax(cos))
        rows.append({"claim_id": c.id, "doc_id": doc, "gold": list(idx), "sentences": len(sents),
                     "cross_encoder_top": top_ce, "cosine_top": top_cos,
                     "cross_encoder_hit": top_ce in idx, "cosine_hit": top_cos in idx})
    if not rows:
        return {"summary": {"pairs": 0}, "rows": rows}
    ce_hits = [1.0 if r["cross_encoder_hit"] else 0.0 for r in rows]
    cos_hits = [1.0 if r["cosine_hit"] else 0.0 for r in rows]
    summary = {
        "pairs": len(rows),
        "cross_encoder_p_at_1": M.mean(ce_hits),
        "cross_encoder_p_at_1_ci": M.bootstrap_ci(ce_hits, seed=seed),
        "cosine_p_at_1": M.mean(cos_hits),
        "cosine_p_at_1_ci": M.bootstrap_ci(cos_hits, seed=seed),
        "cross_encoder_vs_cosine": M.paired_bootstrap(ce_hits, cos_hits, seed=seed),
        "chance_p_at_1": M.mean(len(r["gold"]) / r["sentences"] for r in rows),
    }
    return {"summary": summary, "rows": rows}


# --- quote tier ---------------------------------------------------------------------------
def _first_quote_gold(ix: BenchIndex, answer, gold: dict[str, tuple[int, ...]]) -> tuple[bool, bool]:
    """(first quote is a gold sentence, some quote is a gold sentence)."""

    def is_gold(q) -> bool:
        doc = doc_of(q.source_id)
        return doc in gold and any(M.span_found(ix.gold_sentence(doc, i), q.text) for i in gold[doc])

    quotes = list(answer.quotes)
    return (bool(quotes) and is_gold(quotes[0])), any(is_gold(q) for q in quotes)


def quote_tier(ix: BenchIndex, *, progress: bool = True) -> dict:
    from tqdm import tqdm

    guide = ix.guide
    texts = guide.texts
    gold_rows: list[dict] = []  # (claim, gold abstract) pairs, source= the gold abstract
    e2e_rows: list[dict] = []  # claims with evidence, whole corpus
    nei_rows: list[dict] = []  # (claim, cited abstract) pairs without evidence, source= that abstract
    nei_e2e: list[dict] = []
    shown: list[tuple[str, str]] = []  # (quote text, cited source) for verbatim / citation checks
    latencies: list[float] = []

    def ask(text: str, source: str | None):
        t0 = time.perf_counter()
        a = guide.ask(text, source=source)
        latencies.append((time.perf_counter() - t0) * 1000)
        shown.extend((q.text, q.source_id) for q in a.quotes)
        return a

    claims = ix.data.claims
    for c in tqdm(claims, desc="quote tier (Guide.ask)", unit="claim", disable=not progress, leave=False):
        if c.has_evidence:
            for doc, idx in c.evidence.items():
                a = ask(c.text, source_id(doc))
                first, anyq = _first_quote_gold(ix, a, {doc: idx})
                gold_rows.append({"claim_id": c.id, "doc_id": doc, "abstained": a.abstained, "status": a.status,
                                  "grounding": a.grounding, "first_quote_gold": first, "any_quote_gold": anyq,
                                  "first_quote": a.quotes[0].text if a.quotes else None})
            a = ask(c.text, None)
            first, anyq = _first_quote_gold(ix, a, c.evidence)
            e2e_rows.append({"claim_id": c.id, "abstained": a.abstained, "grounding": a.grounding,
                             "first_quote_gold": first, "any_quote_gold": anyq,
                             "first_quote_source": doc_of(a.quotes[0].source_id) if a.quotes else None})
        else:
            for doc in c.cited:
                a = ask(c.text, source_id(doc))
                nei_rows.append({"claim_id": c.id, "doc_id": doc, "abstained": a.abstained, "grounding": a.grounding})
            a = ask(c.text, None)
            nei_e2e.append({"claim_id": c.id, "abstained": a.abstained, "grounding": a.grounding})

    def rate(rows: list[dict], key: str) -> float | None:
        return M.mean(1.0 if r[key] else 0.0 for r in rows) if rows else None

    answered = [r for r in gold_rows if not r["abstained"]]
    summary = {
        "gold_abstract": {
            "pairs": len(gold_rows),
            "first_quote_gold": rate(gold_rows, "first_quote_gold"),
            "first_quote_gold_when_answered": rate(answered, "first_quote_gold"),
            "any_quote_gold": rate(gold_rows, "any_quote_gold"),
            "abstained": rate(gold_rows, "abstained"),
            "grounding": M.distribution([r["grounding"] for r in gold_rows]),
        },
        "end_to_end": {
            "claims": len(e2e_rows),
            "first_quote_gold": rate(e2e_rows, "first_quote_gold"),
            "any_quote_gold": rate(e2e_rows, "any_quote_gold"),
            "abstained": rate(e2e_rows, "abstained"),
        },
        "no_evidence": {
            "pairs": len(nei_rows),
            "abstained_given_cited_abstract": rate(nei_rows, "abstained"),
            "claims": len(nei_e2e),
            "abstained_end_to_end": rate(nei_e2e, "abstained"),
            "grounding": M.distribution([r["grounding"] for r in nei_rows]),
        },
        "shown_quotes": len(shown),
        "verbatim_rate": M.verbatim_rate([q for q, _ in shown], texts.values()) if shown else None,
        "citation_precision": M.citation_precision([(q, s, None) for q, s in shown], texts, {}),
        "abstain_threshold": getattr(guide.composer, "threshold", None),
        **M.latency_summary(latencies),
    }
    return {"summary": summary, "gold_abstract": gold_rows, "end_to_end": e2e_rows, "no_evidence": nei_rows,
            "no_evidence_end_to_end": nei_e2e}


# --- the whole benchmark ------------------------------------------------------------------
def run_benchmark(settings, *, limit: int | None = None, seed: int = DEFAULT_SEED,
                  distractors: int = DEFAULT_DISTRACTORS, embedder=None, reranker=None, progress: bool = True,
                  quotes: bool = True, rerank_depth: int = RERANK_DEPTH, rerank_claims: int | None = None) -> dict:
    """Run the tiers; `limit` = a fixed-seed slice of that many claims (None: all 300).

    `reranker` defaults to the one the settings name (the bundled cross-encoder), its scores
    cached under `<index_dir>/scifact/` like the embeddings."""
    from guide.search.embedding import make_embedder
    from guide.search.rerank import CachedReranker, make_reranker

    t0 = time.perf_counter()
    root = Path(settings.scifact_dir)
    if not root.exists():
        raise CorpusError("the SciFact data set is not there; set GUIDE_SCIFACT_DIR (or GUIDE_SHARED_DIR)", path=root)
    data = load_scifact(root)
    full = limit is None or limit >= len(data.claims)
    if not full:
        data = subset(data, limit, distractors=distractors, seed=seed)
    if embedder is None:
        embedder = make_embedder(settings.embedder, Path(settings.index_dir) / "scifact" / "embeddings.sqlite3",
                                 threads=os.cpu_count() or 1)  # bulk work: every core
    if reranker is None:
        reranker = CachedReranker(make_reranker(settings), Path(settings.index_dir) / "scifact" / "rerank.sqlite3")
    misses0 = getattr(embedder, "misses", 0)
    ix = build_index(data, settings, embedder, progress=progress)
    t_index = time.perf_counter()
    retrieval = retrieval_tier(ix, progress=progress, seed=seed, reranker=reranker, rerank_depth=rerank_depth,
                               rerank_claims=rerank_claims)
    sentences = sentence_tier(ix, reranker, progress=progress, seed=seed)
    t_retrieval = time.perf_counter()
    quote = quote_tier(ix, progress=progress) if quotes else None
    t_end = time.perf_counter()
    return {
        "kind": "scifact",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "full": full,
        "data": data.describe() | {"seed": None if full else seed, "distractors": None if full else distractors},
        "setup": {
            "model_id": embedder.model_id,
            "passages": len(ix.chunks),
            "ranking_depth": DEPTH,
            "document_score": "best passage (first appearance in the ranking)",
            "fusion": "the guide's HybridRetriever: reciprocal rank fusion (k=60) of dense and BM25",
            "text_indexed": "title + abstract (heading + paragraph of a guide Document)",
            "top_k": settings.top_k,
            "max_quotes": settings.max_quotes,
            "abstain_threshold": settings.abstain_threshold,
            "reranker": reranker.name,
            "rerank_depth": rerank_depth,
            "rerank_claims": retrieval.get("rerank", {}).get("claims"),
        },
        "published": PUBLISHED,
        "anchors": anchor_check(retrieval["summary"], full, retrieval.get("diagnostics")),
        "retrieval": retrieval,
        "sentences": sentences,
        "quotes": quote,
        "embedding": {"texts_embedded": getattr(embedder, "misses", 0) - misses0,
                      "index_rebuilt": ix.build.rebuilt},
        "seconds": {"index": round(t_index - t0, 1), "retrieval": round(t_retrieval - t_index, 1),
                    "quotes": round(t_end - t_retrieval, 1), "total": round(t_end - t0, 1)},
    }


def headline(result: dict) -> dict[str, float | None]:
    """Flat numbers of a benchmark run (used by thresholds and comparisons)."""
    s = result["retrieval"]["summary"]
    out: dict[str, float | None] = {}
    rr = result["retrieval"].get("rerank") or {}
    sampled = bool(rr) and rr["claims"] < len(result["retrieval"]["rows"])
    for mode in s:
        for k in RETRIEVAL_METRICS:
            if mode == RERANKED and sampled:  # a sample is not the test set: no threshold applies to it
                out[f"{mode}_{k}"] = None
                out[f"{mode}_sample_{k}"] = s[mode][k]
            else:
                out[f"{mode}_{k}"] = s[mode][k]
    sent = (result.get("sentences") or {}).get("summary") or {}
    if sent.get("pairs"):
        out["evidence_p_at_1_cross_encoder"] = sent["cross_encoder_p_at_1"]
        out["evidence_p_at_1_cosine"] = sent["cosine_p_at_1"]
    # without the quote tier (--no-quotes) these are None: a threshold on them is skipped, not failed
    q = (result.get("quotes") or {}).get("summary") or {}
    ga, e2e, nei = (q.get(k) or {} for k in ("gold_abstract", "end_to_end", "no_evidence"))
    out["quote_first_gold_given_abstract"] = ga.get("first_quote_gold")
    out["quote_first_gold_end_to_end"] = e2e.get("first_quote_gold")
    out["abstain_no_evidence_given_abstract"] = nei.get("abstained_given_cited_abstract")
    out["abstain_with_evidence_given_abstract"] = ga.get("abstained")
    out["quote_verbatim_rate"] = q.get("verbatim_rate")
    return out
