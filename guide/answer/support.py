"""Checking every sentence a language model writes against the quotes it cites.

The model never writes a quote: it writes at most three plain sentences over quotes the
extractive stage has already chosen and verified, citing them as [1], [2]. Before a sentence is
shown it must pass every test below, in this order (the first it fails is its `reason`):

1. `too_many`: only the first MAX_SENTENCES sentences are considered.
2. `no_citation`: it cites at least one quote marker.
3. `unknown_citation`: every marker it cites is a quote that is shown.
4. `new_words`: every content word (stemmed, stopwords aside, digits kept) is in the quotes it
   cites or in the question; a few framing words ("the blog says", "according to") are allowed.
5. `negation`: a negation (not, no, never, n't, without, ...) only when a cited quote (or the
   question) has one too, so "X" cannot become "not X" with the same words.
6. `low_support`: the cross-encoder (guide/search/rerank.py; ms-marco-MiniLM-L-12-v2 by default)
   scores the sentence, markers removed, as the query against the cited quotes joined as the
   passage; the raw logit must be at least SUPPORT_THRESHOLD.

Everything here is pure given a scorer; `check` returns a `Verdict` per sentence written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from guide.text import content_terms, words

MAX_SENTENCES = 3
# Cross-encoder logit a sentence must reach against the quotes it cites. 0.0 is a sigmoid
# probability of 0.5 for ms-marco-MiniLM-L-12-v2: the pair is judged more related than not.
# Restating a quote scores 5-10; a sentence on another topic below -5 (see docs/decisions.md).
SUPPORT_THRESHOLD = 3.0

CITATION = re.compile(r"\[(\d{1,3})\]")
_CITATIONS_AFTER = r"(?:[ \t]*\[\d{1,3}\])*"  # on the same line: a marker on the next line starts the next sentence
# A sentence ends at . ! ? (with any citation markers that follow it) before whitespace, or at a line break.
_BOUNDARY = re.compile(r"(?<=[.!?])" + _CITATIONS_AFTER + r"(?=\s|$)|\n+")
_BULLET = re.compile(r"^[ \t]*(?:[-*•]|\d+[.)])[ \t]+", re.M)
_LETTER = re.compile(r"[^\W\d_]")  # a sentence has words, not only markers or numbering
_LEADING = re.compile(r"^((?:\[\d{1,3}\]\s*)+)(.+)$", re.S)
NEGATION = re.compile(r"\b(?:not|no|never|nor|none|nobody|nothing|neither|without|cannot)\b|n['’]t\b", re.I)
FRAMING = frozenset(content_terms(
    "blog post source sources quote quotes quoted passage passages author writes wrote says said "
    "suggest suggests suggested according explain explains note notes notes describe describes"
))
REASONS = ("too_many", "no_citation", "unknown_citation", "new_words", "negation", "low_support")


class SupportScorer(Protocol):
    """The reranker contract (guide/search/rerank.py): one raw logit per text for a query."""

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Sentence:
    """A sentence that passed the check: shown above the quotes."""

    text: str  # as the model wrote it, with its markers
    markers: tuple[int, ...]
    support: float | None  # cross-encoder logit against the cited quotes


@dataclass(frozen=True)
class Verdict:
    text: str
    markers: tuple[int, ...]
    ok: bool
    reason: str | None = None  # one of REASONS when not ok
    support: float | None = None
    new_words: tuple[str, ...] = ()

    @property
    def sentence(self) -> Sentence:
        return Sentence(self.text, self.markers, self.support)


def split_sentences(text: str) -> list[str]:
    """Sentences of a model's reply; markers that follow a full stop stay with their sentence."""
    text = _BULLET.sub("", text)
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        out.append(text[start:m.end()])
        start = m.end()
    out.append(text[start:])
    cleaned = [_marker_last(" ".join(s.split())) for s in out]
    return [s for s in cleaned if _LETTER.search(CITATION.sub("", s))]


def _marker_last(sentence: str) -> str:
    """"[1] Trust matters." (a list-style marker first) reads "Trust matters. [1]"."""
    m = _LEADING.match(sentence)
    return f"{m.group(2).strip()} {' '.join(m.group(1).split())}" if m else sentence


def markers_of(sentence: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(n) for n in CITATION.findall(sentence)))


def plain(sentence: str) -> str:
    """The sentence without its citation markers."""
    return " ".join(CITATION.sub(" ", sentence).split()).replace(" .", ".").replace(" ,", ",")


def new_words(sentence: str, cited: Sequence[str], question: str) -> tuple[str, ...]:
    allowed = set(content_terms(question)) | FRAMING
    for q in cited:
        allowed |= set(content_terms(q))
    extra = [w for w in content_terms(plain(sentence)) if w not in allowed]
    return tuple(dict.fromkeys(extra))


def adds_negation(sentence: str, cited: Sequence[str], question: str) -> bool:
    return bool(NEGATION.search(plain(sentence))) and not any(NEGATION.search(t) for t in (*cited, question))


def check(sentences: Sequence[str], quotes: dict[int, str], question: str, scorer: SupportScorer | None,
          threshold: float = SUPPORT_THRESHOLD) -> list[Verdict]:
    """A verdict for each sentence written. `quotes` maps each shown marker to its quote text.

    Without a scorer (no cross-encoder available) the first five tests still apply."""
    verdicts: list[Verdict | None] = []
    to_score: list[tuple[int, str, str]] = []  # (index, sentence without markers, cited quotes)
    for i, s in enumerate(sentences):
        marks = markers_of(s)
        if i >= MAX_SENTENCES:
            verdicts.append(Verdict(s, marks, False, "too_many"))
            continue
        if not marks:
            verdicts.append(Verdict(s, marks, False, "no_citation"))
            continue
        if any(m not in quotes for m in marks):
            verdicts.append(Verdict(s, marks, False, "unknown_citation"))
            continue
        cited = [quotes[m] for m in marks]
        extra = new_words(s, cited, question)
        if extra:
            verdicts.append(Verdict(s, marks, False, "new_words", new_words=extra))
            continue
        if adds_negation(s, cited, question):
            verdicts.append(Verdict(s, marks, False, "negation"))
            continue
        verdicts.append(None)
        to_score.append((i, plain(s), " ".join(cited)))
    for i, claim, passage in to_score:
        s = sentences[i]
        if scorer is None:
            verdicts[i] = Verdict(s, markers_of(s), True)
            continue
        score = round(float(scorer.score(claim, [passage])[0]), 3)
        ok = score >= threshold
        verdicts[i] = Verdict(s, markers_of(s), ok, None if ok else "low_support", support=score)
    return [v for v in verdicts if v is not None]
