"""The vector store: Chroma (embedded under index/ or a server at GUIDE_CHROMA_URL).

Every build writes a *new* collection and only then moves the pointer to it, so a failed or
interrupted build never leaves a half-written index being served. The pointer lives in the
metadata of a small `<prefix>-pointer` collection (one write, atomic in Chroma). The previous
collection is kept one generation so a running app that loaded it keeps working.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable
from urllib.parse import urlparse

from guide.search.chunking import SCHEME, Chunk, Span
from guide.errors import IndexCorruptError, IndexMissingError, StoreUnavailableError

BATCH = 256


def fingerprint(model_id: str, chunks: Iterable[Chunk]) -> str:
    """Identifies an index: the model, the chunking scheme and everything the index stores about
    each chunk (its text and all its metadata: url, title, section, offsets...), so that editing
    any of them in the corpus or the manifest rebuilds the index."""
    h = hashlib.sha256(f"{model_id}\x1e{SCHEME}".encode())
    for c in sorted(chunks, key=lambda c: c.id):
        h.update(json.dumps([c.text, chunk_metadata(c)], sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\x1e")
    return h.hexdigest()


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def open_client(index_dir: Path, chroma_url: str | None, *, create: bool):
    """A Chroma client, or a clear GuideError saying what is wrong."""
    import chromadb

    if chroma_url:
        u = urlparse(chroma_url)
        try:
            return chromadb.HttpClient(
                host=u.hostname or "127.0.0.1",
                port=u.port or (443 if u.scheme == "https" else 8000),
                ssl=u.scheme == "https",
                settings=_chroma_settings(),
            )
        except Exception as exc:
            raise StoreUnavailableError(
                f"cannot reach the Chroma server at {chroma_url} ({exc}). Start it (e.g. `chroma run --path index/ "
                f"--port {u.port or 8000}`) or unset GUIDE_CHROMA_URL to use the local index."
            ) from None
    path = Path(index_dir) / "chroma"
    if not create and not (path / "chroma.sqlite3").exists():
        raise IndexMissingError(f"no index yet at {index_dir}. Build it with `guide ingest` (or `make run`).")
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
    except Exception as exc:
        raise IndexCorruptError(
            f"the index at {index_dir} cannot be read ({type(exc).__name__}: {exc}). "
            f"Rebuild it: delete {index_dir} and run `guide ingest`."
        ) from None


def chunk_metadata(c: Chunk) -> dict:
    return {
        "chunk_id": c.id,
        "source_id": c.source_id,
        "url": c.url or "",
        "title": c.title,
        "section": c.section,
        "section_path": json.dumps(list(c.section_path)),
        "kind": c.kind,
        "start": c.start,
        "end": c.end,
        "sentences": json.dumps([[s.start, s.end] for s in c.sentences]),
        "extra": json.dumps(c.extra, sort_keys=True),
    }


def chunk_from_record(text: str, meta: dict) -> Chunk:
    return Chunk(
        id=meta["chunk_id"],
        source_id=meta["source_id"],
        url=meta.get("url") or None,
        title=meta["title"],
        section_path=tuple(json.loads(meta["section_path"])),
        kind=meta["kind"],
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=text,
        sentences=tuple(Span(a, b) for a, b in json.loads(meta["sentences"])),
        extra=json.loads(meta.get("extra") or "{}"),
    )


@dataclass
class BuildReport:
    collection: str
    fingerprint: str
    chunks: int
    embedded: int  # texts actually run through the model (cache misses)
    rebuilt: bool
    seconds: float


class Store:
    """Collections of one index, named `<prefix>-<fingerprint[:12]>-<time>`."""

    def __init__(self, client, prefix: str = "guide"):
        self.client = client
        self.prefix = prefix
        self.pointer_name = f"{prefix}-pointer"

    def _pointer(self, create: bool):
        try:
            if create:
                return self.client.get_or_create_collection(self.pointer_name, embedding_function=None)
            return self.client.get_collection(self.pointer_name, embedding_function=None)
        except Exception as exc:
            if create:
                raise StoreUnavailableError(f"the vector store refused a write: {exc}") from None
            return None

    def current(self) -> dict | None:
        """{'collection', 'fingerprint', 'built_at', ...} of the served index, or None."""
        try:
            pointer = self._pointer(create=False)
        except Exception as exc:  # a server that went away
            raise StoreUnavailableError(f"the vector store is not answering: {exc}") from None
        meta = dict(pointer.metadata or {}) if pointer is not None else {}
        return meta if meta.get("collection") else None

    def build(
        self,
        chunks: list[Chunk],
        embedder,
        *,
        force: bool = False,
    ) -> BuildReport:
        t0 = time.perf_counter()
        model_id = embedder.model_id
        fp = fingerprint(model_id, chunks)
        cur = self.current()
        if cur and cur.get("fingerprint") == fp and not force:
            return BuildReport(cur["collection"], fp, len(chunks), 0, False, time.perf_counter() - t0)
        name = f"{self.prefix}-{fp[:12]}-{time.time_ns() // 1000}"
        col = self.client.create_collection(
            name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
            metadata={"fingerprint": fp, "model_id": model_id, "scheme": SCHEME},
        )
        embedded = 0
        try:
            for i in range(0, len(chunks), BATCH):
                part = chunks[i : i + BATCH]
                misses0 = getattr(embedder, "misses", 0)
                vectors = embedder.embed_documents([c.search_text for c in part])
                embedded += getattr(embedder, "misses", 0) - misses0
                col.add(
                    ids=[c.id for c in part],
                    embeddings=vectors,
                    documents=[c.text for c in part],
                    metadatas=[chunk_metadata(c) for c in part],
                )
        except BaseException:
            self._drop(name)
            raise
        previous = cur["collection"] if cur else ""
        self._pointer(create=True).modify(
            metadata={
                "collection": name,
                "fingerprint": fp,
                "model_id": model_id,
                "scheme": SCHEME,
                "chunks": len(chunks),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "previous": previous,
            }
        )
        keep = {name, previous, self.pointer_name}
        for other in self.client.list_collections():
            other_name = getattr(other, "name", other)
            if other_name.startswith(self.prefix + "-") and other_name not in keep:
                self._drop(other_name)
        return BuildReport(name, fp, len(chunks), embedded, True, time.perf_counter() - t0)

    def _drop(self, name: str) -> None:
        try:
            self.client.delete_collection(name)
        except Exception:
            pass

    def load_chunks(self, collection: str) -> list[Chunk]:
        try:
            col = self.client.get_collection(collection, embedding_function=None)
            got = col.get(include=["documents", "metadatas"])
        except Exception as exc:
            raise IndexCorruptError(
                f"the index collection {collection!r} cannot be read ({exc}). Rebuild it with `guide ingest --rebuild`."
            ) from None
        chunks = [chunk_from_record(t, m) for t, m in zip(got["documents"], got["metadatas"])]
        chunks.sort(key=lambda c: (c.source_id, c.start))
        return chunks
