"""Hybrid retrieval: dense (Chroma) + BM25 keyword search, fused by reciprocal rank fusion,
with per-source diversity and an optional filter to one source.

`HybridRetriever` is a LangChain `BaseRetriever`, so the guide drops into LangChain code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from guide.search.chunking import Chunk
from guide.errors import StoreUnavailableError
from guide.search.store import chunk_metadata
from guide.text import keyword_tokens

Mode = Literal["hybrid", "dense", "bm25"]
RRF_K = 60


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused score (RRF), or the single ranker's score
    dense: float | None = None  # cosine similarity
    bm25: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None

    def to_document(self) -> LCDocument:
        meta = chunk_metadata(self.chunk) | {"score": self.score, "dense": self.dense, "bm25": self.bm25}
        return LCDocument(page_content=self.chunk.text, metadata={k: v for k, v in meta.items() if v is not None}, id=self.chunk.id)


@dataclass
class KeywordIndex:
    """BM25 over chunk search texts (bm25s). `tokenize` defaults to the guide's analyser
    (stop words, Snowball stems); benchmarks may pass another."""

    chunks: list[Chunk]
    tokenize: Callable[[str], list[str]] = keyword_tokens
    _bm25: Any = field(default=None, repr=False)

    @cached_property
    def by_id(self) -> dict[str, Chunk]:
        return {c.id: c for c in self.chunks}

    def __post_init__(self) -> None:
        import bm25s

        tokens = [self.tokenize(c.search_text) or ["\x00empty"] for c in self.chunks]
        self._bm25 = bm25s.BM25()
        self._bm25.index(tokens, show_progress=False)

    def scores(self, query: str) -> np.ndarray | None:
        q = self.tokenize(query)
        if not q or not self.chunks:
            return None
        return np.asarray(self._bm25.get_scores(q), dtype=np.float32)


class HybridRetriever(BaseRetriever):
    """Dense + BM25, fused with reciprocal rank fusion (k=60)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    vectorstore: Any  # langchain_chroma.Chroma over the served collection
    embedder: Any  # langchain Embeddings
    keyword: KeywordIndex
    k: int = 6
    fetch_k: int = 50
    mode: Mode = "hybrid"
    max_per_source: int | None = None  # None: ceil(k/2) when several sources compete
    source_id: str | None = None

    def search(self, query: str, *, k: int | None = None, source_id: str | None = None, mode: Mode | None = None) -> list[Hit]:
        k = k or self.k
        mode = mode or self.mode
        source_id = source_id if source_id is not None else self.source_id
        by_id = self.keyword.by_id
        hits: dict[str, Hit] = {}
        if mode in ("hybrid", "dense"):
            for rank, (cid, cos) in enumerate(self._dense(query, source_id)):
                if cid in by_id:
                    hits[cid] = Hit(by_id[cid], 0.0, dense=cos, dense_rank=rank)
        if mode in ("hybrid", "bm25"):
            for rank, (cid, s) in enumerate(self._keyword(query, source_id)):
                hit = hits.setdefault(cid, Hit(by_id[cid], 0.0))
                hit.bm25, hit.bm25_rank = s, rank
        for h in hits.values():
            if mode == "dense":
                h.score = h.dense or 0.0
            elif mode == "bm25":
                h.score = h.bm25 or 0.0
            else:
                h.score = sum(1.0 / (RRF_K + r + 1) for r in (h.dense_rank, h.bm25_rank) if r is not None)
        ranked = sorted(hits.values(), key=lambda h: (-h.score, h.chunk.source_id, h.chunk.start))
        return self._diversify(ranked, k)

    def _dense(self, query: str, source_id: str | None) -> list[tuple[str, float]]:
        vec = self.embedder.embed_query(query)
        try:
            found = self.vectorstore.similarity_search_by_vector_with_relevance_scores(
                vec, k=self.fetch_k, filter={"source_id": source_id} if source_id else None
            )
        except Exception as exc:
            raise StoreUnavailableError(f"the vector store did not answer the search ({type(exc).__name__}: {exc})") from None
        return [(doc.metadata["chunk_id"], 1.0 - float(dist)) for doc, dist in found]

    def _keyword(self, query: str, source_id: str | None) -> list[tuple[str, float]]:
        scores = self.keyword.scores(query)
        if scores is None:
            return []
        chunks = self.keyword.chunks
        order = np.argsort(-scores, kind="stable")
        out = []
        for i in order:
            if scores[i] <= 0 or len(out) >= self.fetch_k:
                break
            if source_id and chunks[i].source_id != source_id:
                continue
            out.append((chunks[i].id, float(scores[i])))
        return out

    def _diversify(self, ranked: list[Hit], k: int) -> list[Hit]:
        sources = {h.chunk.source_id for h in ranked}
        cap = self.max_per_source or (-(-k // 2) if len(sources) > 1 else k)
        taken: list[Hit] = []
        later: list[Hit] = []
        count: Counter = Counter()
        for h in ranked:
            if count[h.chunk.source_id] < cap:
                taken.append(h)
                count[h.chunk.source_id] += 1
            else:
                later.append(h)
        return (taken + later)[:k]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        return [h.to_document() for h in self.search(query)]
