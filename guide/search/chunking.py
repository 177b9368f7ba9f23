"""Chunking that fits quoting.

A document is split into sections by Markdown heading, each section into paragraphs, and
paragraphs into sentences, all with character offsets into the stored text. Passages (the
retrieval unit) are one to a few paragraphs of one section. "Key questions:" and
"More reading:" paragraphs are passages of their own, with their label left out of the
quotable span, so a list of questions splits into one question per sentence.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from guide.sources.corpus import Document

# Bump when the chunking changes: the index fingerprint includes it, so the index rebuilds.
SCHEME = "sections-paragraphs-sentences/v1"
MAX_PASSAGE_CHARS = 700

LABELS = {"Key questions:": "key_questions", "More reading:": "more_reading"}
_PAGE = re.compile(r"^<!--\s*page:?\s*(\d+)\s*-->\s*$")  # page markers written for PDFs
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
# A full stop after one of these ends no sentence: "ca. 22,000 yr BP", "Cllr. Reid", "Prof. Ahmed".
ABBREVIATIONS = {"e.g", "i.e", "etc", "dr", "mr", "mrs", "ms", "st", "vs", "no", "cf", "approx", "fig", "al",
                 "ca", "prof", "cllr", "rev", "mt", "jr", "sr"}
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Paragraph:
    start: int  # start of the quotable text (after any label)
    end: int
    kind: str  # paragraph | key_questions | more_reading | list_item
    section_path: tuple[str, ...]
    sentences: tuple[Span, ...]
    page: int | None = None


@dataclass(frozen=True)
class Chunk:
    id: str
    source_id: str
    url: str | None
    title: str
    section_path: tuple[str, ...]
    kind: str
    start: int
    end: int
    text: str
    sentences: tuple[Span, ...]
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def section(self) -> str:
        return self.section_path[-1] if self.section_path else self.title

    def span_text(self, start: int, end: int) -> str:
        """The indexed text at source offsets [start, end) (which lie inside this chunk)."""
        return self.text[start - self.start:end - self.start]

    @property
    def search_text(self) -> str:
        """What is embedded and keyword-indexed: the section heading gives the passage context."""
        heading = self.section if self.section != self.title else ""
        return f"{heading}\n{self.text}" if heading else self.text


def split_sentences(text: str, offset: int = 0) -> list[Span]:
    """Sentence spans of `text` (offsets shifted by `offset`), trimmed of whitespace."""
    spans: list[Span] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        word = re.search(r"([A-Za-z.]+)[.!?…]*[\"'”’)\]]*$", text[start:end])
        if word and word.group(1).rstrip(".").lower() in ABBREVIATIONS and text[end - 1] == ".":
            continue
        spans.append(_trimmed(text, start, end, offset))
        start = end
    if text[start:].strip():
        spans.append(_trimmed(text, start, len(text), offset))
    return [s for s in spans if s.end > s.start]


def _trimmed(text: str, start: int, end: int, offset: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start + offset, end + offset)


def heading_spans(text: str, min_level: int = 2) -> list[Span]:
    """The text of each Markdown heading of at least `min_level` (level 1 is the title), as
    offsets into `text`: quotable as it stands (a summary quotes a source's section headings)."""
    out: list[Span] = []
    pos = 0
    for line in text.split("\n"):
        m = _HEADING.match(line)
        if m and len(m.group(1)) >= min_level and m.group(2):
            out.append(Span(pos + m.start(2), pos + m.end(2)))
        pos += len(line) + 1
    return out


def paragraphs(text: str) -> list[Paragraph]:
    """Paragraphs of a Markdown text with their heading path, kinds and sentence spans."""
    out: list[Paragraph] = []
    headings: list[tuple[int, str]] = []
    page: list[int | None] = [None]
    pos = 0
    block_start: int | None = None
    lines = text.split("\n")

    def flush(end: int) -> None:
        nonlocal block_start
        if block_start is None:
            return
        _add_block(text, block_start, end, tuple(h for _, h in headings), out, page=page[0])
        block_start = None

    for line in lines:
        line_end = pos + len(line)
        m = _HEADING.match(line)
        pm = _PAGE.match(line)
        if pm:
            flush(pos)
            page[0] = int(pm.group(1))
        elif m:
            flush(pos)
            level = len(m.group(1))
            headings = [h for h in headings if h[0] < level] + [(level, m.group(2))]
        elif not line.strip():
            flush(pos)
        elif _BULLET.match(line):
            flush(pos)
            bullet = _BULLET.match(line)
            _add_block(text, pos + bullet.end(), line_end, tuple(h for _, h in headings), out, kind="list_item",
                       page=page[0])
        elif block_start is None:
            block_start = pos
        pos = line_end + 1
    flush(len(text))
    return out


def _add_block(text: str, start: int, end: int, path: tuple[str, ...], out: list, kind: str = "paragraph",
               page: int | None = None) -> None:
    block = text[start:end]
    stripped = block.lstrip()
    start += len(block) - len(stripped)
    for label, label_kind in LABELS.items():
        if stripped.startswith(label):
            kind = label_kind
            start += len(label)
            break
    span = _trimmed(text, start, end, 0)
    if span.end <= span.start:
        return
    sentences = tuple(split_sentences(text[span.start:span.end], span.start))
    out.append(Paragraph(span.start, span.end, kind, path, sentences, page))


def chunk_id(source_id: str, start: int, text: str) -> str:
    digest = hashlib.sha256(f"{SCHEME}\x1f{source_id}\x1f{start}\x1f{text}".encode()).hexdigest()
    return digest[:24]


def chunk_document(doc: Document, max_chars: int = MAX_PASSAGE_CHARS) -> list[Chunk]:
    """Passages of one to a few paragraphs, never crossing a section or a labelled paragraph."""
    chunks: list[Chunk] = []
    group: list[Paragraph] = []

    def emit() -> None:
        if not group:
            return
        start, end = group[0].start, group[-1].end
        body = doc.text[start:end]
        chunks.append(
            Chunk(
                id=chunk_id(doc.source.id, start, body),
                source_id=doc.source.id,
                url=doc.source.url,
                title=doc.source.title,
                section_path=group[0].section_path,
                kind=group[0].kind,
                start=start,
                end=end,
                text=body,
                sentences=tuple(s for p in group for s in p.sentences),
                extra={"page": group[0].page} if group[0].page is not None else {},
            )
        )
        group.clear()

    for para in paragraphs(doc.text):
        if group and (
            para.section_path != group[0].section_path
            or para.kind != "paragraph"
            or para.page != group[0].page
            or group[0].kind != "paragraph"
            or para.end - group[0].start > max_chars
        ):
            emit()
        group.append(para)
        if para.kind in LABELS.values():
            emit()
    emit()
    return chunks
