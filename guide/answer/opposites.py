"""A passage that says the opposite of what was asked.

"What continued southward?" is not answered by "... a river system ... that continued northward";
"In what century did the forests increase?" not by "... the forests decreased sharply". A reader
that scores topic and wording scores such a sentence high (every other word matches), and the
guide would present it as the answer. The check here is plain: the question holds a word whose
opposite the sentence holds, and the sentence lacks the word itself (nor does the question hold
the opposite). Opposites are general English pairs (directions, amounts, order in time, more and
less...), each listed with its forms; converses are not opposites and are left out ("Who was
Emma's brother?" is answered by "Emma, sister of Duke Richard", "Who lost?" by "X won against Y"), and a word against its negation by prefix ("possible" /
"impossible", "deterministic" / "non-deterministic"). "not equal" counts as "unequal".

Measured on the reading-comprehension tuning halves (docs/decisions.md, issue 19, fourth session);
the pairs added in the sixth (left / right, former / current, public / private...) were checked
first on 40 other SQuAD articles (`scripts/check_answer_types.py`).
"""

from __future__ import annotations

import re

from guide.answer.answerability import asks_for_advice

# Each line: a word's forms / its opposite's forms.
_GROUPS = """
north / south
east / west
northern / southern
eastern / western
northward northwards / southward southwards
eastward eastwards / westward westwards
northeast northeastern / southwest southwestern
northwest northwestern / southeast southeastern
northwest northwestern / southwest southwestern
northeast northeastern / southeast southeastern
northwest northwestern / northeast northeastern
southwest southwestern / southeast southeastern
flood floods flooded flooding / drain drains drained draining
soft softer / hard harder
limited restricted / infinite unlimited unrestricted
increase increases increased increasing / decrease decreases decreased decreasing decline declines declined declining
rise rises rose risen rising / fall falls fell fallen falling decline declines declined declining
raise raises raised raising / lower lowers lowered lowering
high higher highest / low lower lowest
large larger largest / small smaller smallest
big bigger biggest / small smaller smallest
long longer longest / short shorter shortest
wide wider widest / narrow narrower narrowest
deep deeper deepest / shallow shallower shallowest
fast faster fastest / slow slower slowest
strong stronger strongest / weak weaker weakest
heavy heavier heaviest / light lighter lightest
easy easier easiest / difficult hard harder hardest
simplicity ease / complexity difficulty
hot hotter hottest / cold colder coldest
old older oldest / new newer newest
ancient / modern
early earlier earliest / late later latest
more / less fewer
most / least fewest
many / few
first / last
begin begins began begun beginning start starts started starting / end ends ended ending finish finished conclude concludes concluded completed
before / after
upstream / downstream
upper / lower
inside / outside
internal / external
maximum / minimum
positive / negative
true / false
success successful / failure unsuccessful
accept accepts accepted accepting / reject rejects rejected rejecting
allow allows allowed allowing / forbid forbids forbade forbidden prohibit prohibited
open opened / closed close
import imports imported / export exports exported
enter enters entered entering / exit exits exited leave leaves
above / below
top / bottom
add adds added adding / remove removes removed removing
gain gains gained / loss losses
rich richer richest / poor poorer poorest
same / different
similar / different
agree agrees agreed / disagree disagrees disagreed
include includes included including / exclude excludes excluded excluding
always / never
wet / dry
major / minor
majority / minority
simple simpler simplest / complex
good better best / bad worse worst
praise praises praised praising / criticise criticises criticised criticize criticizes criticized blame blames blamed
left / right
former / current
past / future
public / private
full / partial
rural / urban
male / female
men / women
arrive arrives arrived arriving / depart departs departed departing
front / rear
head / foot
young younger youngest / old older oldest elderly
birth born / death died
attack attacks attacked attacking / defend defends defended defending
victory victories / defeat defeats
strengthen strengthens strengthened / weaken weakens weakened
expand expands expanded expanding / shrink shrinks shrank contract contracts contracted
lengthen lengthens lengthened / shorten shortens shortened
common commonly / rare rarely
abstract / concrete
theoretical / practical
natural / artificial
ally allies allied / enemy enemies
friend friends / enemy enemies
support supports supported supporting / oppose opposes opposed opposing
create creates created creating / destroy destroys destroyed destroying
build builds built building / demolish demolished destroy destroyed
success successes / failure failures
pass passes passed / fail fails failed
encourage encourages encouraged / discourage discourages discouraged suppress suppresses suppressed
promote promotes promoted / inhibit inhibits inhibited suppress suppresses suppressed
king kings / queen queens
boy boys / girl girls
earliest / latest
first / latest
inner / outer
domestic / foreign international
"""


def _pairs() -> list[tuple[frozenset[str], frozenset[str]]]:
    pairs = []
    for line in _GROUPS.strip().splitlines():
        a, b = (frozenset(side.split()) for side in line.split(" / "))
        pairs += [(a, b), (b, a)]
    return pairs


_PAIRS = _pairs()
# "possible" / "impossible": prefixes that negate the word they join. "dis" is left out ("cover" /
# "discover"); its true pairs (agree / disagree) are listed above.
_NEGATING_PREFIXES = ("non", "un", "in", "im", "ir", "il")
_NEGATED_BY = ("non", "un")  # a question's "unsolved" against a sentence's "solved"
_SWAPPED_PREFIXES = (("under", "over"), ("over", "under"), ("pre", "post"), ("post", "pre"))
_PREFIXED_BASE = 5  # letters a word (or a prefixed word's base) needs for the prefix rules
_WORD = re.compile(r"[a-z][a-z'-]*")
_JOINED = re.compile(r"\b(non|un|north|south)-(?=[a-z])")  # "non-deterministic", "north-west": one word
# "not equal" reads as "unequal", and so do "isn't equal" and "not always equal"
_NOT = re.compile(r"\b(?:not|never|no longer)\s+(?:([a-z]+ly)\s+(?=[a-z]{5})|(?![a-z]+ly\s)(?=[a-z]{5}))")
_CONTRACTED_NOT = re.compile(r"n't\b")
_SUFFIX = re.compile(r"(?:ing|ed|es|s)$")


def _words(text: str) -> frozenset[str]:
    text = _CONTRACTED_NOT.sub(" not", _JOINED.sub(r"\1", text.lower().replace("’", "'")))
    text = _NOT.sub(lambda m: f"{m.group(1)} un" if m.group(1) else "un", text)
    out: set[str] = set()
    for w in _WORD.findall(text):
        out.add(w.strip("'-"))
        if "-" in w:
            out.update(p for p in w.split("-") if p)
    return frozenset(out)


def _stem(word: str) -> str:
    """"collapse", "collapses", "collapsed", "collapsing" -> "collaps"."""
    stem = _SUFFIX.sub("", word).removesuffix("e")
    return stem if len(stem) >= 4 else word


_WH = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)
_YES_NO = re.compile(r"^\W*(?:is|are|was|were|am|do|does|did|can|could|has|have|had|will|would|should|shall|may|"
                     r"might|must)\b", re.I)


def takes_as_given(question: str) -> bool:
    """Does the question take what it says as given ("What continued southward?"), rather than ask
    whether it holds ("Did it continue southward?", or a claim to check)? Only then is a sentence
    saying the opposite no answer: to a yes/no question or a claim it is the answer "no"."""
    opens_with_wh = bool(_WH.match(question.strip(" \t\"'“‘(")))
    asks = opens_with_wh or ("?" in question and bool(_WH.search(question)))  # not a claim's "which"
    return asks and not _YES_NO.search(question)


_BACK = frozenset({"back", "again"})
_BACK_REACH = 3  # "win them back", "win the team's trust back"


def _restored(question: str) -> set[str]:
    """Words that ask for a state back ("win them back", "rise again"): they take its opposite as
    given, so a sentence about the loss or the fall does not contradict the question."""
    tokens = _WORD.findall(question.lower().replace("’", "'"))
    return {w for i, t in enumerate(tokens) if t in _BACK for w in tokens[max(0, i - _BACK_REACH):i]}


def opposites(question: str, sentence: str) -> list[tuple[str, str]]:
    """(asked, said) pairs: a word of the question whose opposite the sentence holds instead (for a
    question that takes its words as given; none for a yes/no question or a claim)."""
    if not takes_as_given(question):
        return []
    q, s = _words(question), _words(sentence)
    q -= _restored(question)
    found: set[tuple[str, str]] = set()
    for word, opposite in _PAIRS:
        if q & word and not s & word and s & opposite and not q & opposite:
            found.add((min(q & word), min(s & opposite)))
    q_stems, s_stems = {_stem(w) for w in q}, {_stem(w) for w in s}
    for w in q:
        stem = _stem(w)
        if len(w) < _PREFIXED_BASE or stem in s_stems:
            continue
        for p in _NEGATING_PREFIXES:
            said = next((x for x in s if _stem(x) == p + stem), None)
            if said and p + stem not in q_stems:
                found.add((w, said))  # asked "possible", says "impossible"
        for p in _NEGATED_BY:
            base = stem[len(p):]
            if stem.startswith(p) and len(base) >= _PREFIXED_BASE and base in s_stems:
                found.add((w, next(x for x in s if _stem(x) == base)))  # asked "unsolved", says "solved"
        for p, other in _SWAPPED_PREFIXES:
            base = stem[len(p):]
            if stem.startswith(p) and len(base) >= _PREFIXED_BASE - 1 and other + base in s_stems \
                    and other + base not in q_stems:
                found.add((w, next(x for x in s if _stem(x) == other + base)))  # "underrepresented" / "overrepresented"
    return sorted((_as_written(a, question), _as_written(b, sentence)) for a, b in found)


def _as_written(word: str, text: str) -> str:
    """A negation read as a prefix ("not defined" read as "undefined") is shown as the text has it."""
    low = text.lower().replace("’", "'")
    if word.startswith("un") and not re.search(rf"\b{re.escape(word)}\b", low):
        m = re.search(rf"(?:\b(?:not|never|no longer)|n't)\s+(?:[a-z]+ly\s+)?{re.escape(word[2:])}\b", low)
        return m.group(0).replace("n't", "not", 1) if m else f"not {word[2:]}"
    return word


# --- a question about what is not so -------------------------------------------------------
# "Which leaders did the extremists not attack?" is not answered by "The group directed its
# attacks against leaders of ...": the sentence says what is, the question asks what is not.
# Only a negation of the question's own clause counts: "What happens if a member doesn't vote?"
# and "How do we reach people who don't use services?" negate a condition or a group, which a
# sentence may describe without a negation of its own.
_ASKED_NOT = re.compile(r"\b(?:not|never)\b(?!\s+only\b)|n't\b", re.I)  # "not only ... but also" affirms
_SUBORDINATE = re.compile(r"\b(?:if|when|who|whom|whose|that|which|where|whether|because|unless|although|though|"
                          r"while|since|after|before|once|as|so|to)\b", re.I)
# Advice ("How do we make sure they feel appreciated and not ...?") and reasons ("Why don't people
# come?") are answered without a negation: "People stay away when ...".
_WHY = re.compile(r"^\W*why\b", re.I)
# "What is a pathogen that does not ...?", "Which country today is not ...?": a clause describing
# the very thing asked for.
_ASKED_THING_CLAUSE = re.compile(r"^\W*(?:what|which)\s+(?:(?:is|are|was|were)\s+)?(?:(?:an?|the|one)\s+)?"
                                 r"(?:[\w-]+\s+){1,3}?(?:that|which|who)\s+(?:\w+\s+)?$", re.I)
_OPENING_WH = re.compile(r"^\W*(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)
# A sentence that denies, excepts or excludes anything in any way: a word with "un" or "non" in
# front, and an adjective with "in", "im", "ir", "il" or "dis" in front ("impossible", "invalid",
# "illegal"; to be safe, "internal" counts as much as "inactive").
_SAYS_NOT = re.compile(
    r"\b(?:not|never|no|none|nor|neither|nothing|nobody|nowhere|without|cannot|lack(?:s|ed|ing)?|fail(?:s|ed|ing)?|"
    r"unable|refus(?:e|ed|es|ing)|den(?:y|ied|ies)|except|excluding|rather than|instead of|other than|unlike|only|"
    r"absent|prevent(?:s|ed)?|prohibit(?:s|ed)?|ban(?:s|ned)?|reject(?:s|ed)?|exclude[sd]?|forb(?:id|ade|idden))\b"
    r"|n't\b|\b(?:un|non)-?[a-z]{4,}"
    r"|\b(?:in|im|ir|il|dis)[a-z]{3,}(?:ible|able|ent|ant|ive|al|ate|ete|ect|ar|ous|ure)\b", re.I)


def asks_what_is_not(question: str) -> bool:
    """Does the question negate its own clause ("What is not ...?", "Who did not ...?")?"""
    m = _ASKED_NOT.search(question.replace("’", "'"))
    if not m or not takes_as_given(question) or asks_for_advice(question) or _WHY.match(question):
        return False
    before = question[:m.start()]
    if _ASKED_THING_CLAUSE.match(before):
        return True  # "What is a hormone that does not ...?": the clause says what is asked for
    return not _SUBORDINATE.search(_OPENING_WH.sub("", before))


def denies_nothing(question: str, sentence: str) -> bool:
    """The question asks what is not so, and the sentence denies nothing: it says what is."""
    return asks_what_is_not(question) and not _SAYS_NOT.search(sentence.replace("’", "'"))
