"""Word-level text helpers shared by keyword search, follow-up resolution and quote scoring."""

from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before being
    below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
    during each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here
    here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself
    let's me more most mustn't my myself no nor not of off on once only or other ought our ours ourselves
    out over own same shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this those through
    to too under until up very was wasn't we we'd we'll we're we've were weren't what what's when when's
    where where's which while who who's whom why why's with won't would wouldn't you you'd you'll you're
    you've your yours yourself yourselves also just us get got really still even much many anything
    something thing things way ways lot lots one ones may might must will shall
    tho though pls plz please thx ok okay hi hey hiya cheers yeah btw tbh lol anyway anyways""".split()
)
# Contractions typed without the apostrophe ("whats", "dont", "im") are stopwords too, except
# those that spell another word ("well", "ill", "shell", "shed", "hell", "wed", "id").
STOPWORDS = STOPWORDS | ({w.replace("'", "") for w in STOPWORDS if "'" in w}
                         - {"well", "ill", "shell", "shed", "hell", "wed", "id"})
# Words that point back to an earlier turn rather than naming a topic.
ANAPHORA = frozenset("it its this that these those they them their there such same".split())

# "first" ... "twenty-first", as centuries are written in words ("the nineteenth century")
ORDINAL_WORDS = tuple("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
                      "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth twenty-first".split())

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


# Spelling variants of the guide's central term: co-production, coproduction, co production,
# co-produce, co-productive, co-pro all become one word family.
_CO_PREFIX = re.compile(r"\bco[-\s]?(?=pro(?:duc\w*)?\b)", re.I)


def words(text: str) -> list[str]:
    text = _CO_PREFIX.sub("co", text.lower())
    return [w.replace("’", "'") for w in _WORD.findall(text)]


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """English Snowball (Porter2) stem: cuts/cut, trusting/trust; co-production/co-produce/co-pro
    all stem to "copro"."""
    if word.startswith("copro"):
        return "copro"
    return _stemmer().stemWord(word.replace("'s", "").replace("'", ""))


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def content_terms(text: str) -> list[str]:
    """Stemmed non-stopword terms, in order (repeats kept)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 2 or w.isdigit())]


def keyword_tokens(text: str) -> list[str]:
    """Tokens for BM25: stemmed content terms."""
    return content_terms(text)
