"""The guide's library of sources: adding, fetching, removing and checking them.

- `add_sources(settings, items)`: a user's own documents (paths, folders, URLs or uploads) are
  converted to Markdown (guide.extract), stored in corpus_dir with front matter and listed in
  the manifest as kind "document". `guide ingest PATH|URL ...` calls it.
- `upload(settings, files)`: the same for the web chat's upload control, then re-indexes.
- `fetch_corpus(settings, follow=...)`: downloads the sources the manifest knows only by link
  (the three case studies), and with `follow` discovers more from the case-study hub.
- `remove_source(settings, id)`: takes a source out (manifest entry and stored file).
- `check_drift(settings)`: re-fetches every source with a url and reports the stored passages
  no longer on the live page. Changes nothing.

Every item gets one `Result` with one clear message; a failing item never stops the others and
never touches what is already stored. Files and the manifest are written atomically (a temp
file, then rename); the manifest is edited with tomlkit so its comments and entries are kept,
and checked with guide.corpus.load_manifest before it replaces the old one. Nothing here
touches the index: callers run guide.engine.ingest, which re-embeds only changed text and
only switches to the new index once it is complete.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from filelock import FileLock

from guide.search.chunking import chunk_document, paragraphs
from guide.sources.corpus import Document, Manifest, Source, load_document, load_manifest, render_document, url_key
from guide.errors import CorpusError, GuideError, SourceError
from guide.sources.extract import EXTENSIONS, Extracted, convert
from guide.sources.fetch import DEFAULT_HUB, DOCUMENT_TYPES, HTML_TYPES, FetchConfig, FetchError, Fetcher, clean_url, discover
from guide.answer.quotes import normalise
from guide.settings import Settings

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50_000_000  # also the web chat's upload cap (Gradio's max_file_size)
_URL = re.compile(r"^https?://", re.I)
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})


@dataclass
class Result:
    """What happened to one source. `str(result)` is the line shown to the user."""

    source: str  # what the user gave (path, URL, upload name) or the source id
    ok: bool
    status: str  # added | updated | unchanged | duplicate | failed | unreachable | skipped | removed
    message: str
    id: str | None = None
    passages: int = 0

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"

    def to_dict(self) -> dict:
        return {"source": self.source, "ok": self.ok, "status": self.status, "message": self.message,
                "id": self.id, "passages": self.passages}


@dataclass(frozen=True)
class Upload:
    """A document handed over by a program (e.g. the web chat): its original file name and its
    bytes, or a path to read them from (a temp file whose name is not the user's)."""

    name: str
    data: bytes | None = None
    path: Path | None = None


# --- small helpers ----------------------------------------------------------------------------

def slugify(text: str, fallback: str = "document", max_len: int = 60) -> str:
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")
    slug = slug[:max_len].rstrip("-")
    return slug or fallback


def _unique_id(base: str, taken_ids: set[str], corpus_dir: Path) -> str:
    candidate, n = base, 1
    while candidate in taken_ids or (corpus_dir / f"{candidate}.md").exists():
        n += 1
        candidate = f"{base[:56]}-{n}"
    return candidate


def text_sha256(body: str) -> str:
    """The `sha256` front-matter field: of the stored text, without outer whitespace."""
    return hashlib.sha256(body.strip().encode("utf-8")).hexdigest()


def _content_key(body: str) -> str:
    """Identity of a text for duplicate detection: whitespace and typography folded."""
    return hashlib.sha256(normalise(body.translate(_FOLD)).encode("utf-8")).hexdigest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _locked(settings: Settings) -> FileLock:
    """One writer at a time (the CLI and the web chat may both add sources), across processes."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(settings.data_dir / "library.lock")


# --- the manifest (TOML, edited with tomlkit so comments and entries stay as they are) ------

def _write_manifest(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        load_manifest(tmp)  # never replace a good manifest with a bad one
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def manifest_append(path: Path, entry: dict) -> None:
    import tomlkit

    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = tomlkit.dumps({"source": [{k: v for k, v in entry.items() if v is not None}]})
    _write_manifest(path, (text.rstrip("\n") + "\n\n" if text.strip() else "") + block)


def manifest_update(path: Path, source_id: str, changes: dict) -> None:
    """Set (or, with a None value, delete) keys of one entry."""
    import tomlkit

    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    for table in doc.get("source", []):
        if table.get("id") == source_id:
            for key, value in changes.items():
                if value is None:
                    if key in table:
                        del table[key]
                else:
                    table[key] = value
            break
    else:
        raise CorpusError(f"no source with id {source_id!r}", path=path)
    _write_manifest(path, tomlkit.dumps(doc))


def manifest_delete(path: Path, source_id: str) -> None:
    import tomlkit

    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    aot = doc.get("source", [])
    for i, table in enumerate(aot):
        if table.get("id") == source_id:
            del aot[i]
            break
    else:
        raise CorpusError(f"no source with id {source_id!r}", path=path)
    _write_manifest(path, tomlkit.dumps(doc).rstrip("\n") + "\n")


# --- what is stored already -------------------------------------------------------------------

class _Library:
    """The manifest plus content keys of the stored texts, kept current while a batch runs."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.reload()

    def reload(self) -> None:
        self.manifest: Manifest = load_manifest(self.settings.manifest_path)
        self.keys: dict[str, str] = {}  # content key -> source id
        for s in self.manifest.read:
            try:
                doc = load_document(s, self.settings.corpus_dir)
            except GuideError:
                continue
            self.keys.setdefault(_content_key(doc.text), s.id)

    @property
    def ids(self) -> set[str]:
        return {s.id for s in self.manifest.sources}

    def by_url(self, url: str) -> Source | None:
        return self.manifest.by_url(url)

    def by_original(self, original: str) -> Source | None:
        return next((s for s in self.manifest.sources if s.extra.get("original") == original), None)

    def store(self, source_id: str, entry: dict | None, changes: dict | None, meta: dict, body: str) -> Path:
        """Write the text, then the manifest (a new entry, or changes to an existing one)."""
        path = self.settings.corpus_dir / f"{source_id}.md"
        _write_atomic(path, render_document(meta, body))
        if entry is not None:
            manifest_append(self.settings.manifest_path, entry)
        elif changes:
            manifest_update(self.settings.manifest_path, source_id, changes)
        self.reload()
        return path


def _count_passages(source_id: str, title: str, body: str, path: Path, url: str | None = None) -> int:
    src = Source(id=source_id, title=title, kind="document", url=url)
    return len(chunk_document(Document(source=src, text=body, meta={}, path=path)))


def _passages(n: int) -> str:
    return f"{n} passage{'s' if n != 1 else ''}"


def _describe(ex: Extracted) -> str:
    name = {"pdf": "PDF", "docx": "Word", "html": "web page", "markdown": "Markdown", "text": "text"}[ex.format]
    if ex.pages:
        name += f", {ex.pages} page{'s' if ex.pages != 1 else ''}"
    return name


# --- adding a user's own documents --------------------------------------------------------------

def _expand(items: Sequence) -> list:
    """Folders become their supported files (sorted); files are noted as present now, so one
    that is gone when its turn comes is reported as having disappeared."""
    out: list = []
    for item in items:
        if isinstance(item, (str, Path)) and not _URL.match(str(item)):
            p = Path(item).expanduser()
            if p.is_dir():
                files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in EXTENSIONS
                               and not any(part.startswith(".") for part in f.relative_to(p).parts))
                out.extend([_File(f, str(f), True) for f in files] or [_EmptyDir(str(item))])
            else:
                out.append(_File(p, str(item), p.is_file()))
            continue
        out.append(item)
    return out


@dataclass(frozen=True)
class _EmptyDir:
    label: str


@dataclass(frozen=True)
class _File:
    path: Path
    label: str
    existed: bool  # when the batch started


def add_sources(settings: Settings, items: Sequence[str | Path | Upload], *, config: FetchConfig | None = None,
                fetcher: Fetcher | None = None, max_file_bytes: int = MAX_FILE_BYTES,
                actor: str | None = None) -> list[Result]:
    """Add files, folders, URLs or uploads to the corpus. One Result per document, each recorded
    in the audit trail as done by `actor` (default: the local account, for the command line).

    A source already stored from the same file or address is updated when its text changed
    (and left alone when it did not); a text identical to another source's is refused as a
    duplicate. A URL the manifest already knows by link gets its text under that entry.
    """
    results: list[Result] = []
    own_fetcher = None
    try:
        with _locked(settings):
            lib = _Library(settings)
            for item in _expand(list(items)):
                label = item.label if isinstance(item, (_EmptyDir, _File)) else (
                    item.name if isinstance(item, Upload) else str(item))
                try:
                    if isinstance(item, _EmptyDir):
                        raise SourceError("is a folder with no .md, .txt, .html, .pdf or .docx files")
                    if isinstance(item, str) and _URL.match(item):
                        if fetcher is None and own_fetcher is None:
                            own_fetcher = Fetcher(config)
                        results.append(_add_url(lib, item, fetcher or own_fetcher))
                    else:
                        results.append(_add_file(lib, item, label, max_file_bytes))
                except FetchError as exc:
                    status = "unreachable" if exc.offline else "failed"
                    results.append(Result(label, False, status, f"not added: {exc}"))
                except SourceError as exc:
                    results.append(Result(label, False, "failed", f"not added: {exc}"))
                except CorpusError:
                    raise  # the manifest itself is broken: stop, say so
                except Exception as exc:  # a converter's bug must not stop the batch
                    results.append(Result(label, False, "failed",
                                          f"not added: could not be read ({type(exc).__name__}: {exc})"))
    finally:
        if own_fetcher is not None:
            own_fetcher.close()
        _audit(settings, actor, "add", results)
    return results


def _audit(settings: Settings, actor: str | None, action: str, results: Sequence[Result]) -> None:
    from guide.sources.audit import record_results

    try:
        record_results(settings.data_dir, actor, action, results)
    except GuideError as exc:  # the change is made: say loudly that it went unrecorded, don't undo it
        log.error("%s by %s not recorded in the audit trail: %s", action, actor, exc)


def _read_item(item, max_file_bytes: int) -> tuple[bytes, str, str]:
    """(bytes, name for format detection, `original` recorded in the manifest)."""
    if isinstance(item, Upload):
        if item.data is not None:
            data = item.data
        else:
            data = _read_path(Path(item.path), max_file_bytes)
        if len(data) > max_file_bytes:
            raise SourceError(f"is {len(data) / 1e6:.1f} MB, over the {max_file_bytes / 1e6:.0f} MB limit")
        return data, item.name, f"upload:{Path(item.name).name}"
    path = item.path
    if not item.existed and not path.exists():
        raise SourceError("no such file")
    return _read_path(path, max_file_bytes), path.name, str(path.resolve())


def _read_path(path: Path, max_file_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_file_bytes:
            raise SourceError(f"is {size / 1e6:.1f} MB, over the {max_file_bytes / 1e6:.0f} MB limit")
        with open(path, "rb") as fh:
            data = fh.read(max_file_bytes + 1)
    except FileNotFoundError:
        raise SourceError("disappeared before it could be read (moved or deleted?); nothing was added") from None
    except IsADirectoryError:
        raise SourceError("is a folder, not a file") from None
    except PermissionError:
        raise SourceError("cannot be read (permission denied)") from None
    if len(data) > max_file_bytes:
        raise SourceError(f"grew past the {max_file_bytes / 1e6:.0f} MB limit while being read")
    return data


def _add_file(lib: _Library, item, label: str, max_file_bytes: int) -> Result:
    data, name, original = _read_item(item, max_file_bytes)
    ex = convert(data, name=name)
    title = ex.title or Path(name).stem
    existing = lib.by_original(original)
    return _store_document(lib, label, ex, title=title, original=original, url=None, existing=existing,
                           extra_meta={"original": Path(name).name, "ingested_at": _now()})


def _add_url(lib: _Library, url: str, fetcher: Fetcher) -> Result:
    url = clean_url(url)
    page = fetcher.get(url, accept=DOCUMENT_TYPES)
    ex = convert(page.content, name=page.final_url, content_type=page.content_type, url=page.final_url)
    existing = lib.by_url(url)
    title = ex.title or slugify(url.rsplit("/", 1)[-1], "page")
    return _store_document(lib, url, ex, title=title, original=None, url=url, existing=existing,
                           extra_meta={"fetched_at": _now()})


@dataclass(frozen=True)
class _Stored:
    id: str
    status: str  # added | updated
    passages: int
    path: Path


def _store_text(lib: _Library, label: str, ex: Extracted, *, existing: Source | None, kind: str, slug: str,
                title: str, url: str | None, entry_extra: dict, meta_extra: dict) -> _Stored | Result:
    """The one path that stores a document (an upload, a URL, a fetched case study): duplicate
    check -> id -> manifest entry -> front matter -> store -> count passages. A known source
    (`existing`) keeps its id, kind, title and curated fields; a new one gets an id from `slug`.
    Returns a `Result` instead when nothing is stored (the text is already there)."""
    same = lib.keys.get(_content_key(ex.body))
    if existing is not None and existing.has_text and same == existing.id:
        return Result(label, True, "unchanged", f"already in the guide as '{existing.id}', unchanged", existing.id)
    if same is not None and (existing is None or same != existing.id):
        return Result(label, False, "duplicate", f"not added: the same text is already in the guide as '{same}'",
                      same)
    if existing is not None:
        sid, kind, title = existing.id, existing.kind, existing.title
        status, entry, changes = ("updated" if existing.has_text else "added"), None, {"file": f"{existing.id}.md"}
    else:
        sid = _unique_id(slug, lib.ids, lib.settings.corpus_dir)
        status, changes = "added", None
        entry = {"id": sid, "title": title, "kind": kind, "url": url, "file": f"{sid}.md", **entry_extra}
    meta = {"id": sid, "title": title, "kind": kind, "url": url or (existing.url if existing else None),
            "organisation": existing.organisation if existing else None,
            "author": (existing.author if existing else None) or ex.meta.get("author"),
            "publisher": ex.meta.get("sitename"),
            "page_title": ex.title if ex.title and ex.title != title else None,
            "format": ex.format, "pages": ex.pages, **meta_extra, "sha256": text_sha256(ex.body)}
    path = lib.store(sid, entry, changes, meta, ex.body)
    return _Stored(sid, status, _count_passages(sid, title, ex.body, path, url), path)


def _store_document(lib: _Library, label: str, ex: Extracted, *, title: str, original: str | None, url: str | None,
                    existing: Source | None, extra_meta: dict) -> Result:
    """A user's own document (a file or a URL)."""
    stored = _store_text(lib, label, ex, existing=existing, kind="document", slug=slugify(title), title=title,
                         url=url, entry_extra={"author": ex.meta.get("author"), "original": original},
                         meta_extra=extra_meta)
    if isinstance(stored, Result):
        return stored
    verb = "updated" if stored.status == "updated" else "added as"
    return Result(label, True, stored.status, f"{verb} '{stored.id}' ({_describe(ex)}, {_passages(stored.passages)}) "
                  f"-> {stored.path}", stored.id, stored.passages)


# --- the web chat's upload control -----------------------------------------------------------------

@dataclass
class UploadReport:
    results: list[Result]
    build: object | None = None  # guide.store.BuildReport when the index was rebuilt
    error: str | None = None  # the documents were stored but the index could not be rebuilt

    @property
    def ok(self) -> bool:
        return any(r.ok for r in self.results) and self.error is None

    @property
    def changed(self) -> bool:
        return any(r.ok and r.status in ("added", "updated") for r in self.results)

    def summary(self) -> str:
        lines = [str(r) for r in self.results]
        if self.error:
            lines.append(self.error)
        elif self.build is not None:
            lines.append(f"index refreshed: {self.build.chunks} passages, {self.build.embedded} newly embedded")
        return "\n".join(lines)


def upload(settings: Settings, files: Iterable[str | Path | Upload | tuple[str, bytes]], *, embedder=None,
           reindex: bool = True, actor: str | None = None) -> UploadReport:
    """For the web chat's upload control: add the uploaded documents, then refresh the index.

    `files`: temp-file paths (their file name is taken as the document's name), `Upload`s,
    or (name, bytes) pairs. Only changed text is embedded, and a failed rebuild leaves the
    previous index serving (reported in `.error`). Reopen `guide.engine.Guide` afterwards
    to serve the new passages."""
    items: list[Upload] = []
    for f in files:
        if isinstance(f, Upload):
            items.append(f)
        elif isinstance(f, tuple):
            items.append(Upload(name=str(f[0]), data=bytes(f[1])))
        else:
            items.append(Upload(name=Path(f).name, path=Path(f)))
    report = UploadReport(add_sources(settings, items, actor=actor))
    if reindex and report.changed:
        from guide.engine import ingest

        try:
            report.build = ingest(settings, embedder=embedder)
        except GuideError as exc:
            report.error = f"stored, but the index could not be refreshed ({exc}); the previous index is still serving"
    return report


# --- removing ---------------------------------------------------------------------------------------

def remove_source(settings: Settings, source_id: str, *, keep_link: bool = False, actor: str | None = None) -> Result:
    """Take a source out of the manifest and delete its stored text. With keep_link, a source
    that has a url stays known by its link (as before it was fetched). Recorded in the audit trail."""
    result = _remove_source(settings, source_id, keep_link=keep_link)
    _audit(settings, actor, "remove", [result])
    return result


def _remove_source(settings: Settings, source_id: str, *, keep_link: bool) -> Result:
    with _locked(settings):
        manifest = load_manifest(settings.manifest_path)
        src = manifest.get(source_id)  # CorpusError listing the known ids
        if keep_link:
            if not src.url:
                return Result(source_id, False, "failed", "has no link to keep; remove it without --keep-link", src.id)
            if not src.file:
                return Result(source_id, True, "unchanged", "is already known by its link only", src.id)
            manifest_update(settings.manifest_path, source_id, {"file": None})
        else:
            manifest_delete(settings.manifest_path, source_id)
        if src.file and not any(s.file == src.file for s in manifest.sources if s.id != src.id):
            stored = settings.corpus_dir / src.file
            if stored.resolve().parent == settings.corpus_dir.resolve():
                stored.unlink(missing_ok=True)
    what = "its text removed, still known by its link" if keep_link else "removed"
    return Result(source_id, True, "removed",
                  f"{what} ('{src.title}'); its passages leave the index when it is rebuilt", src.id)


# --- fetching the sources known by link ---------------------------------------------------------------

def fetch_corpus(settings: Settings, *, follow: bool = False, hub_url: str = DEFAULT_HUB,
                 config: FetchConfig | None = None, fetcher: Fetcher | None = None,
                 actor: str | None = None) -> list[Result]:
    """Download every manifest source that has a url and no text yet; with `follow`, also new
    case studies linked from the hub (bounded by config.follow_depth/follow_max/follow_max_pages).
    A source that cannot be fetched gets a Result saying why, and nothing of it is changed."""
    own = fetcher is None
    fetcher = fetcher or Fetcher(config)
    results: list[Result] = []
    try:
        with _locked(settings):
            lib = _Library(settings)
            for src in [s for s in lib.manifest.sources if s.url and not s.has_text]:
                results.append(_fetch_one(lib, fetcher, src.url, src.id, existing=src))
            if follow:
                results += _follow(lib, fetcher, hub_url)
    finally:
        if own:
            fetcher.close()
        _audit(settings, actor, "fetch", results)
    return results


def _fetch_one(lib: _Library, fetcher: Fetcher, url: str, label: str, *, existing: Source | None,
               discovered_from: str | None = None) -> Result:
    shown = f"{label} ({url})"
    try:
        page = fetcher.get(url, accept=HTML_TYPES)
        ex = convert(page.content, content_type=page.content_type, url=page.final_url)
    except FetchError as exc:
        status = "unreachable" if exc.offline else "failed"
        return Result(shown, False, status, f"{exc}; nothing changed", label)
    except SourceError as exc:
        return Result(shown, False, "failed", f"{exc}; nothing changed", label)
    except Exception as exc:  # a converter's bug must not stop the run
        return Result(shown, False, "failed", f"could not be read ({type(exc).__name__}: {exc}); nothing changed",
                      label)
    slug = slugify(url.rstrip("/").rsplit("/", 1)[-1], "case-study")
    stored = _store_text(lib, shown, ex, existing=existing, kind="case-study", slug=slug, title=ex.title or slug,
                         url=url, entry_extra={"discovered_from": discovered_from}, meta_extra={"fetched_at": _now()})
    if isinstance(stored, Result):
        return stored
    found = " (found on the case-study hub)" if discovered_from else ""
    return Result(shown, True, "added", f"fetched{found}: {_passages(stored.passages)} -> {stored.path}", stored.id,
                  stored.passages)


def _follow(lib: _Library, fetcher: Fetcher, hub_url: str) -> list[Result]:
    known = {k for k in (url_key(s.url) for s in lib.manifest.sources if s.url) if k}
    found = discover(fetcher, hub_url, known=known)
    results = [Result(f"case-study hub ({u})", False,
                      "unreachable" if isinstance(exc, FetchError) and exc.offline else "failed",
                      f"{exc}; not followed") for u, exc in found.errors]
    results += [Result(f"case study ({u})", True, "skipped", "robots.txt asks robots not to fetch it; skipped")
                for u in found.disallowed]
    if not found.found and not found.errors:
        results.append(Result(f"case-study hub ({hub_url})", True, "unchanged",
                              f"no new case studies (read {found.pages_read} hub page(s))"))
    for url in found.found:
        results.append(_fetch_one(lib, fetcher, url, slugify(url.rsplit("/", 1)[-1]), existing=None,
                                  discovered_from=clean_url(hub_url)))
    if found.truncated:
        results.append(Result(f"case-study hub ({hub_url})", True, "skipped",
                              f"stopped at the limit ({fetcher.config.follow_max} case studies, "
                              f"{fetcher.config.follow_max_pages} hub pages); run again with a higher --max for more"))
    return results


# --- snapshot drift ------------------------------------------------------------------------------------

@dataclass
class Drift:
    """How a stored source compares with its live page."""

    source_id: str
    url: str | None
    status: str  # unchanged | drifted | failed | unreachable | skipped
    message: str
    checked: int = 0  # stored paragraphs compared
    missing: list[dict] = field(default_factory=list)  # {section, text, start, end}

    @property
    def ok(self) -> bool:
        return self.status in ("unchanged", "skipped")

    def __str__(self) -> str:
        lines = [f"{self.source_id}: {self.message}"]
        for m in self.missing:
            text = m["text"] if len(m["text"]) <= 110 else m["text"][:107] + "..."
            lines.append(f"    - [{m['section']}] “{text}”")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"source_id": self.source_id, "url": self.url, "status": self.status, "message": self.message,
                "checked": self.checked, "missing": self.missing}


def _folded(text: str) -> str:
    return normalise(text.translate(_FOLD))


def check_drift(settings: Settings, *, config: FetchConfig | None = None,
                fetcher: Fetcher | None = None) -> list[Drift]:
    """Re-fetch each source that has a url and stored text, and list the stored passages that
    are no longer on the live page (whitespace and curly/straight quotes and dashes aside).
    Reads only: nothing in the corpus, the manifest or the index changes."""
    manifest = load_manifest(settings.manifest_path)
    own = fetcher is None
    fetcher = fetcher or Fetcher(config)
    out: list[Drift] = []
    try:
        for src in manifest.sources:
            if not src.url:
                continue
            if not src.has_text:
                out.append(Drift(src.id, src.url, "skipped", "known by link only; nothing stored to check "
                                 "(`guide corpus fetch` stores it)"))
                continue
            out.append(_drift_one(settings, fetcher, src))
    finally:
        if own:
            fetcher.close()
    return out


def _drift_one(settings: Settings, fetcher: Fetcher, src: Source) -> Drift:
    try:
        doc = load_document(src, settings.corpus_dir)
    except GuideError as exc:
        return Drift(src.id, src.url, "failed", f"the stored text cannot be read: {exc}")
    try:
        page = fetcher.get(src.url, accept=DOCUMENT_TYPES)
        live = convert(page.content, name=page.final_url, content_type=page.content_type, url=page.final_url)
    except FetchError as exc:
        return Drift(src.id, src.url, "unreachable" if exc.offline else "failed", f"not checked: {exc}")
    except SourceError as exc:
        return Drift(src.id, src.url, "failed", f"not checked: the live page {exc}")
    stored_paras = [p for p in paragraphs(doc.text)]
    if text_sha256(live.body) == text_sha256(doc.text):
        return Drift(src.id, src.url, "unchanged",
                     f"unchanged: all {len(stored_paras)} stored paragraphs are on the live page", len(stored_paras))
    live_text = _folded(live.body)
    missing = []
    for p in stored_paras:
        text = doc.text[p.start:p.end]
        if _folded(text) not in live_text:
            missing.append({"section": p.section_path[-1] if p.section_path else src.title,
                            "text": normalise(text), "start": p.start, "end": p.end})
    n = len(stored_paras)
    if not missing:
        return Drift(src.id, src.url, "unchanged",
                     f"all {n} stored paragraphs are still on the live page (the page has other changes)", n)
    return Drift(src.id, src.url, "drifted",
                 f"{len(missing)} of {n} stored paragraphs are no longer on the live page "
                 "(quotes from them can no longer be found there):", n, missing)
