"""Format conversion: HTML, PDF, DOCX, plain text and Markdown to the guide's stored Markdown.

The guide quotes stored text verbatim, so conversion never rewrites a sentence: paragraphs
are kept as written (only whitespace may change), headings become `#` lines, list items
`- ` lines, paragraphs are separated by blank lines, and a PDF's pages are marked with a
`<!-- page: N -->` line before each page's text (guide.chunking turns these into citations
with page numbers).

- HTML: trafilatura finds the main text (no hand-written scraping); its structured XML output
  (headings with levels, paragraphs, lists, tables, quotes) is turned into Markdown.
- PDF: pypdf, page by page; outline (bookmark) titles found on their page become headings.
- DOCX: python-docx; Title/Heading N styles become headings, list styles list items.
- Text/Markdown: decoded (UTF-8, else Windows-1252), kept as they are.

Every failure is a `SourceError` whose message is one clear sentence about this document.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

from guide.errors import SourceError
from guide.sources.corpus import parse_front_matter

EXTENSIONS = {
    ".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
    ".html": "html", ".htm": "html", ".xhtml": "html", ".pdf": "pdf", ".docx": "docx",
}
_MIME = {
    "text/html": "html", "application/xhtml+xml": "html", "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/plain": "text", "text/markdown": "markdown", "text/x-markdown": "markdown",
}
_UNSUPPORTED = {
    ".doc": "an old Word .doc file: save it as .docx and ingest that",
    ".odt": "an OpenDocument file: save it as .docx or PDF and ingest that",
    ".rtf": "an RTF file: save it as .docx or PDF and ingest that",
}
ENCRYPTED = "is an encrypted (password-protected) PDF; save an unprotected copy and ingest that"
MIN_LETTERS = 20  # a document with fewer letters than this has "no extractable text"


@dataclass
class Extracted:
    body: str  # Markdown, ending with a newline
    format: str
    title: str | None = None
    meta: dict = field(default_factory=dict)  # author, date, sitename, pages, ...

    @property
    def pages(self) -> int | None:
        return self.meta.get("pages")


def detect_format(name: str = "", data: bytes = b"", content_type: str | None = None) -> str:
    """The format to convert with, from the content itself, the MIME type or the name."""
    head = data[:1024]
    if head.lstrip().startswith(b"%PDF-"):
        return "pdf"
    ext = PurePath(name.split("?", 1)[0]).suffix.lower()
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if ext in EXTENSIONS and not (mime in _MIME and _MIME[mime] != EXTENSIONS[ext] and mime != "text/plain"):
        return EXTENSIONS[ext]
    if mime in _MIME:
        return _MIME[mime]
    if ext in _UNSUPPORTED:
        raise SourceError(f"is {_UNSUPPORTED[ext]}")
    if head.startswith(b"PK\x03\x04") and b"word/" in data[:4096]:
        return "docx"
    low = head.lower()
    if b"<html" in low or b"<!doctype html" in low:
        return "html"
    if ext:
        raise SourceError(f"is not a supported format ({ext}); the guide reads .md, .txt, .html, .pdf and .docx")
    if mime:
        raise SourceError(f"is not a supported format ({mime}); the guide reads Markdown, text, HTML, PDF and DOCX")
    return "text"


def convert(data: bytes, *, name: str = "", content_type: str | None = None, url: str | None = None) -> Extracted:
    """Convert one document to stored Markdown. Raises SourceError."""
    fmt = detect_format(name, data, content_type)
    if fmt == "pdf":
        out = pdf_to_markdown(data)
    elif fmt == "docx":
        out = docx_to_markdown(data)
    elif fmt == "html":
        out = html_to_markdown(data, url=url)
    else:
        out = text_to_markdown(data, markdown=fmt == "markdown")
    if sum(ch.isalpha() for ch in out.body) < MIN_LETTERS:
        raise SourceError("has no extractable text")
    return out


# --- text and Markdown ----------------------------------------------------------------------

def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252; binary data is refused."""
    if b"\x00" in data[:65536]:
        raise SourceError("does not look like text (it contains binary data)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise SourceError("does not look like text (not UTF-8 or Windows-1252; binary data?)") from None
    sample = text[:65536]
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    odd = sum(1 for ch in sample if unicodedata.category(ch) in ("Co", "Cn", "Cs")) + text.count("\ufffd")
    if sample and (controls + odd) / len(sample) > 0.02:
        raise SourceError("does not look like text (it contains binary data)")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def text_to_markdown(data: bytes, *, markdown: bool) -> Extracted:
    text = decode_text(data)
    meta: dict = {}
    title = None
    if markdown:  # the user's own front matter: keep a few fields, drop the block
        front, text = parse_front_matter(text, strict=False)
        meta = {k: v for k, v in front.items() if k in ("title", "author", "date", "url") and v}
        title = meta.pop("title", None)
    lines = [ln.rstrip() for ln in text.split("\n")]
    if markdown and title is None:
        for ln in lines:
            m = re.match(r"^#\s+(.+?)\s*#*$", ln)
            if m:
                title = m.group(1)
                break
    if title is None and not markdown:
        first = next((ln.strip() for ln in lines if ln.strip()), "")
        if first and len(first) <= 150:
            title = first
    return Extracted(body=_finish(lines), format="markdown" if markdown else "text", title=title, meta=meta)


def _finish(lines: list[str]) -> str:
    """Join lines, collapsing runs of blank lines, ending with one newline."""
    out: list[str] = []
    for ln in lines:
        if not ln.strip():
            if out and out[-1] != "":
                out.append("")
        else:
            out.append(ln)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- HTML -----------------------------------------------------------------------------------

def html_to_markdown(data: bytes | str, *, url: str | None = None) -> Extracted:
    import trafilatura
    from lxml import etree

    if isinstance(data, bytes) and b"\x00" in data[:65536]:
        raise SourceError("does not look like an HTML page (it contains binary data)")
    try:
        # favor_precision: the main text only. Without it trafilatura falls back to the page's
        # navigation or cookie banner when a page has no real text, which the guide must not store.
        xml = trafilatura.extract(
            data, url=url, output_format="xml", include_formatting=True, include_links=False,
            include_images=False, include_tables=True, include_comments=False, with_metadata=True,
            favor_precision=True,
        )
    except Exception as exc:  # trafilatura/lxml raise assorted errors on junk
        raise SourceError(f"could not be read as HTML ({type(exc).__name__})") from None
    if not xml:
        raise SourceError("has no extractable text (no main content found on the page)")
    root = etree.fromstring(xml.encode("utf-8"))
    main = root.find("main")
    lines: list[str] = []
    _xml_blocks(main if main is not None else root, lines)
    meta = {k: root.get(k) for k in ("author", "date", "sitename", "description") if root.get(k)}
    title = root.get("title") or None
    return Extracted(body=_finish(lines), format="html", title=title, meta=meta)


def _text(el) -> str:
    """All text of an element, <lb/> as a space, nested lists left out (they are their own items)."""
    parts = [el.text or ""]
    for child in el:
        if child.tag == "list":
            pass
        elif child.tag == "lb":
            parts.append(" ")
        else:
            parts.append(_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _xml_blocks(el, lines: list[str]) -> None:
    for child in el:
        tag = child.tag
        if tag == "head":
            m = re.match(r"h([1-6])$", child.get("rend") or "")
            text = _one_line(_text(child))
            if text:
                lines += ["", "#" * (int(m.group(1)) if m else 2) + " " + text, ""]
        elif tag == "list":
            lines.append("")
            for item in child.iter("item"):
                text = _one_line(_text(item))
                if text:
                    lines.append("- " + text)
            lines.append("")
        elif tag == "table":
            for cell in child.iter("cell"):
                text = _one_line(_text(cell))
                if text:
                    lines += ["", text, ""]
        elif tag in ("p", "quote", "code"):
            nested = [c for c in child if c.tag in ("list", "p", "quote", "table")]
            text = _one_line(_text(child) if not nested else (child.text or ""))
            if text:
                lines += ["", text, ""]
            if nested:
                _xml_blocks(child, lines)
        elif tag in ("div", "main", "section"):
            _xml_blocks(child, lines)


# --- PDF ------------------------------------------------------------------------------------

def pdf_to_markdown(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                unlocked = reader.decrypt("")  # only an owner password: readable without one
            except DependencyError:
                raise SourceError(
                    "is an AES-encrypted PDF: opening it needs the `cryptography` package (and its password, if it "
                    "has one); save an unprotected copy and ingest that"
                ) from None
            except NotImplementedError:
                unlocked = 0
            if not unlocked:
                raise SourceError(ENCRYPTED)
        n = len(reader.pages)
        page_texts = []
        for page in reader.pages:
            try:
                page_texts.append(page.extract_text() or "")
            except (DependencyError, FileNotDecryptedError):
                raise SourceError(ENCRYPTED) from None
        outline = _pdf_outline(reader)
        info = reader.metadata
        title = _one_line(str(info.title)) if info and info.title else None
        author = _one_line(str(info.author)) if info and info.author else None
    except SourceError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, RecursionError) as exc:
        raise SourceError(f"is not a readable PDF ({type(exc).__name__})") from None
    if not any(sum(ch.isalpha() for ch in t) for t in page_texts):
        raise SourceError(
            f"has no text layer (an image-only or scanned PDF, {n} page{'s' if n != 1 else ''}); "
            "run it through OCR and ingest the result"
        )
    lines: list[str] = []
    for number, text in enumerate(page_texts, start=1):
        lines += ["", f"<!-- page: {number} -->", ""]
        lines += _pdf_page_lines(text, outline.get(number - 1, []))
    body = _finish(lines)
    if title is None:
        first = next((ln for ln in body.split("\n") if ln.strip() and not ln.startswith("<!--")), "")
        title = first.lstrip("# ").strip()[:150] or None
    meta = {"pages": n}
    if author:
        meta["author"] = author
    return Extracted(body=body, format="pdf", title=title, meta=meta)


def _pdf_outline(reader) -> dict[int, list[tuple[int, str]]]:
    """{page index: [(depth, title), ...]} from the PDF's bookmarks, if any."""
    out: dict[int, list[tuple[int, str]]] = {}

    def walk(items, depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
                title = _one_line(str(item.title))
            except Exception:
                continue
            if page is not None and page >= 0 and title:
                out.setdefault(page, []).append((depth, title))

    try:
        walk(reader.outline, 0)
    except Exception:
        return {}
    return out


_END = re.compile(r"[.!?:…][\"'”’)\]]*$")
_ITEM = re.compile(r"^\s*(?:[-*•▪◦]|\d{1,3}[.)])\s+")


def _pdf_page_lines(text: str, headings: list[tuple[int, str]]) -> list[str]:
    """A page's lines as paragraphs. PDF text has no paragraph marks: a line that ends a sentence
    and is clearly shorter than the page's full lines ends a paragraph; a short line without
    final punctuation stands alone (usually a heading); bookmark titles become headings.
    Lines of one paragraph are joined with a space: the words are unchanged."""
    raw = [_one_line(ln) for ln in text.replace("\r", "\n").split("\n")]
    heading_of = {h.casefold(): depth for depth, h in headings}
    full = sorted(len(ln) for ln in raw if ln)
    typical = full[int(len(full) * 0.8)] if full else 0
    out: list[str] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            out.extend(["", " ".join(para), ""])
            para.clear()

    for i, line in enumerate(raw):
        if not line:
            flush()
            continue
        if line.casefold() in heading_of:
            flush()
            out.extend(["", "#" * min(6, heading_of[line.casefold()] + 2) + " " + line, ""])
            continue
        if _ITEM.match(line):
            flush()
        para.append(line)
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        short = len(line) < 0.85 * typical
        if not nxt or _ITEM.match(nxt) or (short and _END.search(line)) or (
            len(line) < 0.6 * typical and not re.search(r"[,;\-–]$", line) and nxt[:1].isupper()
        ):
            flush()
    flush()
    return out


# --- DOCX -----------------------------------------------------------------------------------

def docx_to_markdown(data: bytes) -> Extracted:
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise SourceError(f"cannot be read: python-docx is not installed ({exc})") from None
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SourceError(f"is not a readable Word document (.docx): the file is damaged ({type(exc).__name__})") \
            from None
    except Exception as exc:  # lxml.etree.XMLSyntaxError and friends inside a damaged package
        raise SourceError(f"is not a readable Word document (.docx) ({type(exc).__name__})") from None
    lines: list[str] = []
    title = None
    try:
        body = document.element.body
        for block in body.iterchildren():
            tag = block.tag.rsplit("}", 1)[-1]
            if tag == "p":
                _docx_paragraph(Paragraph(block, document), lines)
            elif tag == "tbl":
                table = Table(block, document)
                for row in table.rows:
                    seen = set()
                    for cell in row.cells:
                        if id(cell._tc) in seen:  # merged cells repeat
                            continue
                        seen.add(id(cell._tc))
                        for p in cell.paragraphs:
                            _docx_paragraph(p, lines)
        props = document.core_properties
        title = _one_line(props.title) if props.title else None
        author = _one_line(props.author) if props.author else None
    except Exception as exc:
        raise SourceError(f"is not a readable Word document (.docx) ({type(exc).__name__})") from None
    if title is None:
        m = next((ln for ln in lines if ln.startswith("# ")), None)
        title = m[2:] if m else None
    meta = {"author": author} if author else {}
    return Extracted(body=_finish(lines), format="docx", title=title, meta=meta)


def _docx_paragraph(p, lines: list[str]) -> None:
    text = _one_line(p.text)
    if not text:
        return
    style = (p.style.name if p.style is not None else "") or ""
    m = re.match(r"Heading (\d)", style)
    if style == "Title":
        lines += ["", "# " + text, ""]
    elif m:
        lines += ["", "#" * min(6, int(m.group(1)) + 1) + " " + text, ""]
    elif "List" in style or p._p.pPr is not None and p._p.pPr.numPr is not None:
        lines.append("- " + text)
    else:
        lines += ["", text, ""]
