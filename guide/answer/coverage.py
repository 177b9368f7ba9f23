"""Does the question ask for something the sources could contain at all?

Two checks that a similarity score cannot make, both pure:
- named things: an acronym (GDPR, PVG), a capitalised name in mid-sentence (Glasgow,
  Universal Credit) or a year that the read sources never mention means they don't cover it;
- the kind of answer: a question after a number, a date or contact details is only answered
  by a passage that has one.
"""

from __future__ import annotations

import functools
import re

from guide.text import ORDINAL_WORDS, content_terms

_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+|[—–:;()\"“”]|\s-\s")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d{4}")
_NOT_NAMES = frozenset("I I'm I've I'd I'll OK Ok".split())

NUMBER_Q = re.compile(
    r"\bhow (?:much|many|old)\b|\bwhat age\b|\bage limit\b|\b(?:hourly|daily|weekly) rate\b|\brates?\b.*\b(?:pay|paying|per)\b|\bper (?:hour|session|day)\b"
    r"|\b(?:cost|price|salary|budget figure|percentage)\b|£|\$", re.I)
DATE_Q = re.compile(r"\b(?:dates?|deadline|what day|which day|what year|which year|what time"
                    r"|(?:what|which) (?:century|decade|millennium))\b"
                    # "when was it published?": an event's date, not "when should we ..."
                    r"|\bwhen (?:was|were|did)\b.*\b(?:published|written|founded|created|established|formed|built|"
                    r"launched|set up|started|began|begin|opened|released|signed|discovered)\b", re.I)
# contact details asked for, not a phone or an email named ("people who have no phone", the song
# "Telephone", "the e-mail system": scripts/check_answer_types.py)
CONTACT_Q = re.compile(
    r"\b(?:phone|telephone|mobile|fax) (?:number|no)\b|\be-?mail address|\bcontact (?:details|number|address|info)"
    r"|\bpostal address\b|\bpostcode\b|\bhow (?:can|do|could|should|would) (?:i|we|you|people) (?:contact|reach|call|phone|"
    r"ring|email|e-mail|write to|get in touch)\b|\bwhat(?:'s| is) (?:the|their|your|its) (?:phone|telephone|e-?mail)\b",
    re.I)

NUMBER_A = re.compile(
    r"\d|£|\$|%|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozen|hundred|thousand|million|half|twice)\b", re.I)
DATE_A = re.compile(
    rf"\d|\b(?:{'|'.join(ORDINAL_WORDS)})[ -]century\b"
    r"|\b(?:january|february|march|april|may|june|july|august|september|october|november|december|monday|tuesday"
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


def within_one_edit(a: str, b: str) -> bool:
    """Are two words the same but for one letter changed, added or left out?"""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + 1:] == b[i + 1:] if len(a) == len(b) else a[i:] == b[i + 1:]


_WORD = re.compile(r"[a-z0-9][a-z0-9'’-]*")
# A name this long may be misspelt by one letter ("Emmrich" for Emmerich, "Wessel" for Wesel):
# shorter names, acronyms and numbers must match exactly ("NQ-complete" is not NP-complete).
_FUZZY_MIN = 5
_EXACT_ONLY = re.compile(r"[A-Z]{2}|\d")
# Phrases joined by these words are two names ("the Rhine in Germany", "between X and Y"), each
# checked alone; "of", "to", "for", "the", "on" bind one name ("the Scottish Approach to Service Design").
_TWO_NAMES = re.compile(r"\s+(?:and|in)\s+")
_POSSESSIVE = re.compile(r"['’]s\b")


@functools.lru_cache(maxsize=4)
def _vocabulary(all_text: str) -> dict[int, frozenset[str]]:
    """The haystack's words (and the parts of hyphenated ones), by length."""
    found = set(_WORD.findall(all_text))
    found |= {part for w in found if "-" in w for part in w.split("-") if part}
    by_len: dict[int, set[str]] = {}
    for w in found:
        by_len.setdefault(len(w), set()).add(w)
    return {n: frozenset(ws) for n, ws in by_len.items()}


def mentioned(name: str, all_text: str) -> bool:
    """Is a named thing in the haystack, allowing one misspelt letter in a long enough name?"""
    low = name.lower()
    if low in all_text:
        return True
    if len(low) < _FUZZY_MIN or _EXACT_ONLY.search(name):
        return False
    vocab = _vocabulary(all_text)
    return any(within_one_edit(low, w) for n in (len(low) - 1, len(low), len(low) + 1) for w in vocab.get(n, ()))


def missing_names(question: str, all_text: str) -> list[str]:
    """Named things in the question that the read sources (`haystack(...)`) never mention: a
    name, allowing one misspelt letter in a long one; a run of capitalised words as a whole (its
    possessive "'s" aside), split where "and" or "in" joins two names."""
    missing = [n for n in named_terms(question) if not mentioned(n, all_text)]
    spaced = " ".join(all_text.split())
    for phrase in named_phrases(question):
        for part in _TWO_NAMES.split(_POSSESSIVE.sub("", phrase)):
            if " " in part.strip() and " ".join(part.lower().split()) not in spaced and not any(n in part for n in missing):
                missing.append(part)
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


# --- which source a question names -------------------------------------------------------------
_TITLE_RUN = 3  # consecutive title words the question must repeat to name a source by its title
_TITLE_PREFIX = re.compile(r"^\s*(?:case study|co-?pro(?:duction)? (?:example|ideas clinic)|example)\s*[-–—:]\s*", re.I)


def _norm_words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


# a phrase the asker put in quotes: 'Not just another method', “Building trust”
_QUOTED = re.compile(r"(?:^|(?<=[\s(]))[\"“‘']([^\"“”‘’]+?)[\"”’'](?=[\s?.,!;:)]|$)")


def names_source(question: str, title: str, organisation: str | None = None) -> bool:
    """Does the question name this source: a run of `_TITLE_RUN` consecutive words of its title
    (its "Case study -" label aside), two of them content words; a phrase of two words or more the
    asker put in quotes, found in the title as it stands; or its organisation's name (the part
    before a comma, two words or more)?"""
    q = " " + " ".join(_norm_words(question)) + " "
    words = _norm_words(_TITLE_PREFIX.sub("", title))
    spaced_title = " " + " ".join(words) + " "
    for quoted in _QUOTED.findall(question):
        phrase = _norm_words(quoted)
        if len(phrase) >= 2 and f" {' '.join(phrase)} " in spaced_title:
            return True
    for i in range(len(words) - _TITLE_RUN + 1):
        run = words[i:i + _TITLE_RUN]
        if len(content_terms(" ".join(run))) >= 2 and f" {' '.join(run)} " in q:
            return True
    org = _norm_words((organisation or "").split(",")[0])
    return len(org) >= 2 and f" {' '.join(org)} " in q
