"""Corpus loading: the manifest (corpus/sources.toml) and the stored source texts.

A stored source is Markdown with a simple front matter block (`key: value` lines between
`---` lines). Offsets everywhere in the guide are character offsets into `Document.text`,
the body after the front matter, exactly as stored.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterable

from guide.errors import CorpusError

KINDS = ("blog", "case-study", "document", "guide")
REQUIRED_SOURCE_KEYS = ("id", "title", "kind")
# One-line text fields of a manifest entry (all optional but id, title, kind).
TEXT_KEYS = ("id", "title", "kind", "url", "organisation", "author", "description", "hub_section", "linked_from",
             "file")
KNOWN_KEYS = frozenset(TEXT_KEYS) | {"topics"}
MAX_DESCRIPTION_CHARS = 300
MAX_TOPIC_CHARS = 80
SUMMARY_LABEL = "About this case study (our summary)"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")


@dataclass(frozen=True)
class _SourceFields:
    """What the manifest says about a source, shown wherever the source is (see Source, SourceInfo).

    `description` and `topics` are the project's own summary of a source (never the source's
    words): shown labelled as our summary (`SUMMARY_LABEL`), used to match questions to case
    studies, never indexed, quoted or cited. Only the stored text under `file` is quotable."""

    id: str
    title: str
    kind: str
    url: str | None = None
    organisation: str | None = None
    author: str | None = None
    description: str | None = None
    topics: tuple[str, ...] = ()
    hub_section: str | None = None  # the group the network's case-study hub lists it under
    linked_from: str | None = None  # the blog section that links to it


@dataclass(frozen=True)
class Source(_SourceFields):
    """One entry of the manifest. `file` is set when the guide has the source's text."""

    file: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def has_text(self) -> bool:
        return self.file is not None

    @property
    def status(self) -> str:
        """"read" (its text is stored and quotable) or "link only"."""
        return "read" if self.has_text else "link only"

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in TEXT_KEYS}
        d["topics"] = list(self.topics) or None
        d["has_text"] = self.has_text
        d.update(self.extra)
        return {k: v for k, v in d.items() if v is not None}

    def info(self, has_text: bool | None = None) -> "SourceInfo":
        """What is shown about this source; `has_text` defaults to whether the manifest names its text."""
        shared = {f.name: getattr(self, f.name) for f in fields(_SourceFields)}
        return SourceInfo(**shared, has_text=self.has_text if has_text is None else has_text)


@dataclass(frozen=True)
class SourceInfo(_SourceFields):
    """A source as the guide shows it: the manifest's fields and whether its text has been read
    (`has_text`: the guide can quote it) or it is known by link only."""

    has_text: bool = False
    why: str | None = None  # when offered for a question: why it matches (guide.sources.casestudies)


@dataclass(frozen=True)
class Document:
    source: Source
    text: str  # the stored body, offsets index into this
    meta: dict
    path: Path

    @property
    def id(self) -> str:
        return self.source.id


@dataclass
class Manifest:
    path: Path
    sources: list[Source]

    def get(self, source_id: str) -> Source:
        for s in self.sources:
            if s.id == source_id:
                return s
        known = ", ".join(s.id for s in self.sources)
        raise CorpusError(f"no source with id {source_id!r} (known: {known})", path=self.path)

    def by_url(self, url: str) -> Source | None:
        """The source at this address, whatever its spelling (http/https, www., tracking
        parameters, trailing slash): addresses compare by `fetch.normalise_url`."""
        key = url_key(url)
        return next((s for s in self.sources if s.url and key is not None and url_key(s.url) == key), None)

    @property
    def read(self) -> list[Source]:
        return [s for s in self.sources if s.has_text]

    @property
    def link_only(self) -> list[Source]:
        return [s for s in self.sources if not s.has_text]


def url_key(url: str) -> str | None:
    """The identity of an address (`fetch.normalise_url`), or None when it is not a usable URL."""
    from guide.errors import SourceError
    from guide.sources.fetch import normalise_url

    try:
        return normalise_url(url)
    except SourceError:
        return None


def load_manifest(path: Path) -> Manifest:
    path = Path(path)
    if not path.exists():
        raise CorpusError("the manifest is missing; it lists every source (see README, 'Corpus')", path=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CorpusError("the manifest is not UTF-8 text", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise CorpusError(f"not valid TOML ({exc})", path=path, line=int(m.group(1)) if m else None) from None
    entries = data.get("source", [])
    if not isinstance(entries, list):
        raise CorpusError("expected [[source]] tables", path=path)
    lines = path.read_text(encoding="utf-8").splitlines()
    table_lines = [i + 1 for i, ln in enumerate(lines) if ln.strip() == "[[source]]"]
    sources: list[Source] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        line = table_lines[n] if n < len(table_lines) else None
        end = table_lines[n + 1] if n + 1 < len(table_lines) else len(lines) + 1
        key_lines = _key_lines(lines, line, end) if line else {}
        sources.append(_source_from_entry(entry, path=path, line=line, key_lines=key_lines))
        if sources[-1].id in seen:
            raise CorpusError(f"duplicate source id {sources[-1].id!r}", path=path, line=line)
        seen.add(sources[-1].id)
    return Manifest(path=path, sources=sources)


def _key_lines(lines: list[str], start: int, end: int) -> dict[str, int]:
    """The line of each `key = ...` of the table that starts at line `start` (1-based)."""
    out: dict[str, int] = {}
    for i in range(start, min(end, len(lines) + 1) - 1):
        m = re.match(r"\s*([A-Za-z0-9_-]+)\s*=", lines[i])
        if m:
            out.setdefault(m.group(1), i + 1)
    return out


def _source_from_entry(entry: dict, *, path: Path, line: int | None, key_lines: dict[str, int] | None = None) -> Source:
    def fail(key: str | None, message: str):
        raise CorpusError(message, path=path, line=(key_lines or {}).get(key, line) if key else line)

    for key in REQUIRED_SOURCE_KEYS:
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            fail(None, f"source is missing {key!r}")
    if not _ID_RE.match(entry["id"]):
        fail("id", f"source id {entry['id']!r} must be lower-case letters, digits and hyphens")
    if entry["kind"] not in KINDS:
        fail("kind", f"kind {entry['kind']!r} is not one of {', '.join(KINDS)}")
    for key in TEXT_KEYS:
        value = entry.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            fail(key, f"{key!r} of source {entry['id']!r} must be non-empty text")
        if "\n" in value or "\r" in value:
            fail(key, f"{key!r} of source {entry['id']!r} must be one line")
    if "url" in entry and not re.match(r"^https?://\S+$", entry["url"]):
        fail("url", f"url of source {entry['id']!r} must be an http(s) address, got {entry['url']!r}")
    if len(entry.get("description") or "") > MAX_DESCRIPTION_CHARS:
        fail("description", f"description of source {entry['id']!r} is longer than {MAX_DESCRIPTION_CHARS} "
                            "characters; keep it to one short line")
    topics = entry.get("topics", [])
    if not isinstance(topics, list) or not all(
            isinstance(t, str) and t.strip() and "\n" not in t and len(t) <= MAX_TOPIC_CHARS for t in topics):
        fail("topics", f"topics of source {entry['id']!r} must be a list of short one-line phrases "
                       f"(at most {MAX_TOPIC_CHARS} characters each)")
    extra = {k: v for k, v in entry.items() if k not in KNOWN_KEYS}
    fields = {k: entry[k] for k in TEXT_KEYS if k in entry}
    return Source(**fields, topics=tuple(t.strip() for t in topics), extra=extra)


# --- front matter: the one reader and the one writer ----------------------------------------------
# A `---` block of `key: value` lines (one-line values; one pair of matching quotes is removed).
# Not YAML on purpose: see docs/decisions.md (issue 13) for why python-frontmatter was not used.

def parse_front_matter(raw: str, *, path: Path | None = None, strict: bool = True) -> tuple[dict, str]:
    """Split `---` front matter from the body. Returns (meta, body); the body is exactly what
    follows the closing `---` line (offsets index into it). `strict=False` (a user's own Markdown)
    skips lines that are not `key: value` and treats an unclosed block as text."""
    if not raw.startswith("---\n"):
        return {}, raw
    end = raw.find("\n---\n", 3)
    if end == -1:
        if not strict:
            return {}, raw
        raise CorpusError("front matter starts with '---' but has no closing '---' line", path=path, line=1)
    meta: dict[str, str] = {}
    for i, line in enumerate(raw[4:end].split("\n"), start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", key.strip()):
            if not strict:
                continue
            raise CorpusError(f"front matter line is not 'key: value': {line!r}", path=path, line=i)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        meta[key.strip()] = value
    return meta, raw[end + len("\n---\n"):]


def _front_matter_value(value) -> str:
    text = re.sub(r"\s+", " ", str(value)).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        q = "'" if text[0] == '"' else '"'
        text = f"{q}{text}{q}"  # parse_front_matter strips one pair of matching quotes
    return text


def render_document(meta: dict, body: str) -> str:
    """A stored source: `key: value` front matter (empty values left out), then the Markdown body."""
    head = ["---"] + [f"{k}: {_front_matter_value(v)}" for k, v in meta.items()
                      if v is not None and str(v).strip()] + ["---"]
    return "\n".join(head) + "\n\n" + body.strip("\n") + "\n"


def load_document(source: Source, corpus_dir: Path) -> Document:
    if not source.file:
        raise CorpusError(f"source {source.id!r} has no stored text (known by link only)")
    path = Path(corpus_dir) / source.file
    if not path.exists():
        raise CorpusError(f"the manifest names this file for source {source.id!r} but it is missing", path=path)
    raw_bytes = path.read_bytes()
    if b"\x00" in raw_bytes:
        raise CorpusError("binary data, not text", path=path)
    try:
        raw = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw_bytes[: exc.start].count(b"\n") + 1
        raise CorpusError("not UTF-8 text", path=path, line=line) from None
    raw = raw.replace("\r\n", "\n")
    meta, body = parse_front_matter(raw, path=path)
    if not body.strip():
        raise CorpusError("the document has no text after its front matter", path=path)
    return Document(source=source, text=body, meta=meta, path=path)


def load_documents(manifest: Manifest, corpus_dir: Path, ids: Iterable[str] | None = None) -> list[Document]:
    wanted = set(ids) if ids is not None else None
    return [
        load_document(s, corpus_dir)
        for s in manifest.read
        if wanted is None or s.id in wanted
    ]
