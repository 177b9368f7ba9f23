"""Quotes: verification against the stored source text, and deep links to the passage.

A quote is a verbatim span of a stored source. "Verbatim" allows whitespace normalisation
only: runs of whitespace compare equal to a single space. Everything here is pure.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from urllib.parse import quote as _pct

_WS = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _WS.sub(" ", text).strip()


@dataclass(frozen=True)
class Quote:
    text: str
    source_id: str
    start: int
    end: int
    verified: bool
    title: str
    section: str
    url: str | None
    link: str | None
    marker: int = 0
    score: float = 0.0
    organisation: str | None = None
    kind: str = "paragraph"
    page: int | None = None  # for paged sources (PDF): the page the quote starts on

    def to_dict(self) -> dict:
        return asdict(self)


def verify(text: str, source_text: str, start: int, end: int) -> bool:
    """True when source_text[start:end] is `text`, up to whitespace normalisation."""
    if not (0 <= start < end <= len(source_text)) or not text.strip():
        return False
    return normalise(source_text[start:end]) == normalise(text)


def locate(text: str, source_text: str) -> tuple[int, int] | None:
    """Offsets of `text` in `source_text` allowing whitespace differences, or None.

    Used to check a quote that came from elsewhere (e.g. an LLM) before it is shown.
    """
    words = normalise(text).split(" ")
    if not words or words == [""]:
        return None
    pattern = r"\s+".join(re.escape(w) for w in words)
    m = re.search(pattern, source_text)
    return (m.start(), m.end()) if m else None


def make_quote(text: str, source_text: str, start: int, end: int, **fields) -> Quote:
    """A Quote of `text` (e.g. from the index, or from an LLM) claimed to be at
    source_text[start:end]; `verified` is the result of actually checking that claim."""
    return Quote(text=normalise(text), start=start, end=end, verified=verify(text, source_text, start, end), **fields)


_FRAGMENT_SPECIAL = {"-": "%2D", ",": "%2C", "&": "%26"}


def _fragment_part(words: list[str]) -> str:
    encoded = _pct(" ".join(words), safe="")
    for ch, rep in _FRAGMENT_SPECIAL.items():
        encoded = encoded.replace(ch, rep)
    return encoded


def text_fragment_link(url: str | None, quote_text: str, edge_words: int = 5) -> str | None:
    """`url#:~:text=start,end` so a browser scrolls to and highlights the quote.

    Short quotes are given whole; longer ones as their first and last few words.
    """
    if not url:
        return None
    words = normalise(quote_text).split(" ")
    base = url.split("#", 1)[0]
    if len(words) <= 2 * edge_words:
        return f"{base}#:~:text={_fragment_part(words)}"
    return f"{base}#:~:text={_fragment_part(words[:edge_words])},{_fragment_part(words[-edge_words:])}"


def passage_link(url: str | None, quote_text: str, page: int | None = None) -> str | None:
    """The deep link for a quote: `#page=N` for a PDF, a text fragment otherwise."""
    if url and page is not None and url.split("#", 1)[0].lower().endswith(".pdf"):
        return f"{url.split('#', 1)[0]}#page={page}"
    return text_fragment_link(url, quote_text)
