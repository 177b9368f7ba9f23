"""What a question asks for, as opposed to what it is about (issue 8: answerability, not topic).

Every question sent to the guide is *about* co-production; that is why relevance scores cannot
tell a question the blog answers from one next to it. Two pure helpers look at the asked-for
thing instead:

- `focus_text`: the question with its topic words removed (the corpus's central terms and the
  words that name the asker's own setting: "our group", "the project"). The cross-encoder scores
  this against the best candidate sentences: "how do we evaluate the impact of our co-production
  project?" becomes "how do we evaluate the impact of our?", which nothing in the blog answers.
- `asking_part`: in a question told in several parts ("Ward manager here. My nurses are
  exhausted. What does co-production actually need from the people taking part?"), the part that
  asks, when it names enough of its own to stand alone. The cross-encoder (trained on short web
  queries) reads that part instead of the whole story, and a sentence close to it in meaning
  counts as close to the question.
- `asked_for` / `supports`: two kinds of asked-for thing that a span must show to be an answer:
  a *comparison* ("what's the difference between X and Y", "is X different from Y", "X vs Y")
  needs a span that compares (a comparing word and the compared terms), and a *resource* (a
  template, a toolkit, software, training, indicators...) needs a span that names one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from guide.search.chunking import ABBREVIATIONS
from guide.text import content_terms

# Words that name the asker's setting, not what they ask for ("our group", "the project").
SETTING_WORDS = frozenset(content_terms(
    "group groups project projects service services organisation organisations team teams work community "
    "partnership council charity charities"))
# A term in at least this share of the corpus's sentences is the corpus's topic, not a focus.
TOPIC_SHARE = 0.25

COMPARISON = re.compile(
    r"\bdifferen(?:ce|t|tiate)\b|\bdiffers?\b|\bvs\.?\b|\bversus\b|\bcompared? (?:to|with)\b|\bsame (?:thing )?as\b",
    re.I)
COMPARING_WORDS = re.compile(
    r"\bdifferen(?:ce|t)\b|\bdiffers?\b|\bunlike\b|\bwhereas\b|\brather than\b|\bcompared?\b|\bversus\b|\bnot (?:just|only)\b"
    r"|\binstead of\b", re.I)
RESOURCE = re.compile(
    r"\b(?:templates?|toolkits?|checklists?|software|apps?|platforms?|websites?|spreadsheets?|forms?|indicators?"
    r"|training|courses?|job descriptions?|terms of reference|policy documents?|handbooks?)\b", re.I)


@dataclass(frozen=True)
class Focus:
    kind: str  # comparison | resource
    terms: frozenset[str]  # stemmed content terms a supporting span must contain (all of them)


def topic_terms(sentence_terms: Iterable[set[str]]) -> frozenset[str]:
    """The corpus's central terms (in at least TOPIC_SHARE of its sentences) and SETTING_WORDS."""
    sets = list(sentence_terms)
    counts: dict[str, int] = {}
    for s in sets:
        for t in s:
            counts[t] = counts.get(t, 0) + 1
    central = {t for t, n in counts.items() if sets and n / len(sets) >= TOPIC_SHARE}
    return frozenset(central) | SETTING_WORDS


def focus_text(question: str, topic: frozenset[str]) -> str:
    """The question without its topic words (the words left say what is asked for)."""
    kept = [w for w in re.findall(r"[\w'’-]+|[?]", question) if not (set(content_terms(w)) & topic)]
    return " ".join(kept).replace(" ?", "?").strip() or question


# Where a question told in parts breaks: after a sentence, at a dash between words, after a colon.
_PARTS = re.compile(r"(?<=[.!?])\s+|\s+[-–—]+\s+|:\s+")
# A part ending in initials ("U.S.") or a common abbreviation ("e.g.", "Dr.") runs on into the next.
_ENDS_IN_ABBREVIATION = re.compile(
    r"(?:\b(?:[A-Za-z]\.){2,}|\b(?:" + "|".join(re.escape(a) for a in sorted(ABBREVIATIONS)) + r")\.)$", re.I)
# The asking part must name at least this many content words of its own, topic words aside: "Can
# we still co-produce?" or "What should we be asking ourselves?" lean on the story before them.
ASKING_PART_TERMS = 3


def asking_part(question: str, topic: frozenset[str]) -> str | None:
    """The part of a question told in several parts that asks (its parts holding a "?", else its
    last part), or None: a question in one part, or an asking part that names fewer than
    ASKING_PART_TERMS things of its own."""
    parts: list[str] = []
    for p in (p.strip() for p in _PARTS.split(question.strip())):
        if p and parts and _ENDS_IN_ABBREVIATION.search(parts[-1]):
            parts[-1] += " " + p  # "the U.S. forces", "e.g. Talking Mats": no break there
        elif p:
            parts.append(p)
    if len(parts) < 2:
        return None
    asking = " ".join([p for p in parts if "?" in p] or parts[-1:])
    if len(content_terms(focus_text(asking, topic))) < ASKING_PART_TERMS:
        return None
    return asking


def asked_for(question: str, topic: frozenset[str]) -> Focus | None:
    """A comparison or a resource the question asks for, or None."""
    m = RESOURCE.search(question)
    if m:
        return Focus("resource", frozenset(content_terms(m.group(0))))
    if COMPARISON.search(question):
        # the compared things: the question's content words other than the comparing ones
        compared = set(content_terms(COMPARISON.sub(" ", question))) - set(content_terms(
            "actually really exactly same thing manager use uses interchangeably sure know"))
        return Focus("comparison", frozenset(compared))
    return None


def supports(focus: Focus | None, span: str) -> bool:
    """Does a span show the asked-for thing? (always, when nothing in particular is asked for)"""
    if focus is None:
        return True
    terms = set(content_terms(span))
    if focus.kind == "resource":
        return bool(focus.terms & terms)
    # a comparison: a comparing word and at least two of the compared terms (or all, if fewer)
    need = min(2, len(focus.terms))
    return bool(COMPARING_WORDS.search(span)) and len(focus.terms & terms) >= need



