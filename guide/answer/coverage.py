"""Does the question ask for something the sources could contain at all?

Two checks that a similarity score cannot make, both pure:
- named things: an acronym (GDPR, PVG), a capitalised name in mid-sentence (Glasgow,
  Universal Credit) or a year that the read sources never mention means they don't cover it;
- the kind of answer: a question after a number, a date or contact details is only answered
  by a passage that has one.
"""

from __future__ import annotations

import re

_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+|[—–:;()\"“”]|\s-\s")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d{4}")
_NOT_NAMES = frozenset("I I'm I've I'd I'll OK Ok".split())

NUMBER_Q = re.compile(
    r"\bhow (?:much|many|old)\b|\bwhat age\b|\bage limit\b|\b(?:hourly|daily|weekly) rate\b|\brates?\b.*\b(?:pay|paying|per)\b|\bper (?:hour|session|day)\b"
    r"|\b(?:cost|price|salary|budget figure|percentage)\b|£|\$", re.I)
DATE_Q = re.compile(r"\b(?:dates?|deadline|what day|which day|what year|which year|what time)\b", re.I)
CONTACT_Q = re.compile(r"\b(?:phone|telephone|e-?mail|contact details|postal address|postcode)\b", re.I)

NUMBER_A = re.compile(
    r"\d|£|\$|%|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozen|hundred|thousand|million|half|twice)\b", re.I)
DATE_A = re.compile(
    r"\d|\b(?:january|february|march|april|may|june|july|august|september|october|november|december|monday|tuesday"
    r"|wednesday|thursday|friday|saturday|sunday)\b", re.I)
CONTACT_A = re.compile(r"@|\bhttps?://|\+?\d[\d ]{6,}")


# The asker introducing themselves ("NHS manager here", "I'm a youth worker at Fife Council."):
# the names in it are the asker's setting, not what is asked about.
_INTRO = re.compile(r"^(?:(?:hi|hello|hiya)\b[,!]?\s*)?(?:i'?m|i am|as|speaking as|i work (?:for|at|in|with))\s+\S"
                    r"|^(?!(?:what|how|who|why|when|where|which|do|does|did|is|are|can|could|should|will|would)\b)(?:\S+\s+){1,4}here$",
                    re.I)


def is_introduction(part: str) -> bool:
    """Is this part of a question (no question mark) the asker saying who they are?"""
    part = part.strip().rstrip(".,!")
    return bool(part) and "?" not in part and bool(_INTRO.search(part))


def named_terms(question: str) -> list[str]:
    """Acronyms, mid-sentence capitalised words and years in the question (not in a part where
    the asker says who they are)."""
    names: list[str] = []
    for part in _SENT_SPLIT.split(question):
        if is_introduction(part):
            continue
        tokens = _TOKEN.findall(part)
        for i, tok in enumerate(tokens):
            if tok in _NOT_NAMES:
                continue
            if tok.isdigit() or (len(tok) >= 2 and tok.isupper()) or (i > 0 and tok[0].isupper()):
                names.append(tok.rstrip("'’s").rstrip("'’"))
    return [n for n in names if n]


_PHRASE = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:(?:of|to|for|and|the|on|in)\s+)?[A-Z][\w'’-]*)+")


def named_phrases(question: str) -> list[str]:
    """Runs of capitalised words in mid-sentence ("the Scottish Approach to Service Design"):
    a name the sources must mention as a whole, not word by word."""
    out: list[str] = []
    for part in _SENT_SPLIT.split(question):
        if is_introduction(part):
            continue
        for m in _PHRASE.finditer(part):
            if m.start() > 0 and part[: m.start()].strip():
                out.append(m.group(0))
    return out


def haystack(source_texts: list[str]) -> str:
    """All read text, lower-cased once, for `missing_names` (build it when the texts load)."""
    return "\n".join(source_texts).lower()


def missing_names(question: str, all_text: str) -> list[str]:
    """Named things in the question that the read sources (`haystack(...)`) never mention."""
    missing = [n for n in named_terms(question) if n.lower() not in all_text]
    spaced = " ".join(all_text.split())
    missing += [p for p in named_phrases(question) if " ".join(p.lower().split()) not in spaced
                and not any(n in p for n in missing)]
    return missing


def answer_type(question: str) -> str | None:
    if CONTACT_Q.search(question):
        return "contact"
    if DATE_Q.search(question):
        return "date"
    if NUMBER_Q.search(question):
        return "number"
    return None


def fits_type(kind: str | None, sentence: str) -> bool:
    if kind is None:
        return True
    pattern = {"number": NUMBER_A, "date": DATE_A, "contact": CONTACT_A}[kind]
    return bool(pattern.search(sentence))
