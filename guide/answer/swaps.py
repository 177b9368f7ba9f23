"""A passage that names another thing in the very place the question names its own.

"The Hochrhein more than doubles the Rhine's water discharge to what amount?" is not answered by
"The Aare more than doubles the Rhine's water discharge, ...", nor "What did families with
incomes below $38,000 pay?" by "... families with incomes below $60,000 pay nothing ...". Every
other word matches, so a reader of topic and wording scores the sentence high, and the guide
would present it as the answer. The check here is plain: a name (a capitalised word inside the
text) or a figure of the question stands where the sentence has another name or figure, with
the same words on both sides of it ("decision problem *B* can be solved" against "decision
problem *A* can be solved"; at least one of them a content word); the sentence lacks the
question's word, and the question lacks the sentence's. For a figure, two content words on one
side are enough ("issued the Royal Proclamation of 1736" against "... of 1763"); for a name,
words on one side only are not:
"Where does the Rhine branch off near Dordrecht?" is answered by "The Oude Maas branches off,
near Dordrecht", the answer standing where the question names the river.

Only names, figures (in digits or words) and one-letter variables ("a function of *x*") count:
an ordinary word in the same place is, as often as not, the question's paraphrase ("killed" for
"slaughtered"). Spelling variants ("Maastrich",
"Maastricht"; "Scottish", "Scotland") are not swaps. Checked on 40 SQuAD 2.0 articles the guide
is not evaluated on before being trusted (`scripts/check_answer_types.py`; docs/decisions.md,
issue 19, sixth session).
"""

from __future__ import annotations

import difflib
import os
import re
import unicodedata

from guide.search.chunking import split_sentences
from guide.text import ORDINAL_WORDS, STOPWORDS, content_terms, stem

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")  # letters of any script: "Temür" is one word
_WH = frozenset("what which who whom whose when where why how".split())
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|[\"“(]\s*)$")  # after a colon, "Zelda: Twilight Princess" is a name
_VARIANT_PREFIX = 4  # "Scottish" / "Scotland", "Africa" / "African": the same name's forms
_VARIANT_RATIO = 0.8  # "Groner" / "Groener": a misspelling, not another name
_FIGURE_CONTEXT = 2  # a figure needs only one side: "the Royal Proclamation of 1736" against "... of 1763"


# Past forms the stemmer leaves apart from their verb ("became" / "become"): context words
# must agree whatever the tense.
_IRREGULAR = dict(pair.split("=") for pair in (
    "became=become began=begin begun=begin took=take taken=take gave=give given=give made=make went=go gone=go "
    "came=come found=find led=lead held=hold built=build won=win lost=lose wrote=write written=write "
    "brought=bring bought=buy sold=sell left=leave fought=fight told=tell thought=think saw=see seen=see "
    "knew=know known=know grew=grow grown=grow rose=rise risen=rise fell=fall fallen=fall ran=run sent=send "
    "spent=spend kept=keep met=meet paid=pay said=say drew=draw drawn=draw chose=choose chosen=choose "
    "drove=drive driven=drive spoke=speak spoken=speak stood=stand struck=strike taught=teach caught=catch "
    "sought=seek fled=flee laid=lay lay=lie lain=lie shook=shake shown=show broke=break broken=break "
    "wore=wear worn=wear bore=bear born=bear borne=bear flew=fly flown=fly froze=freeze forgot=forget "
    "hid=hide rode=ride swam=swim threw=throw thrown=throw understood=understand").split())
# Numbers and ordinals in words are figures too ("the second item" against "the first item"),
# compared by their value ("second" is "2nd"). "One" is left out: it is as often a pronoun.
_WORD_FIGURES = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split()) if n >= 2}
_WORD_FIGURES.update({w: str(n) for n, w in enumerate(ORDINAL_WORDS[:20], start=1)})
_CLAUSE_END = re.compile(r"\s*(?:[,.;:?!)\]\"”]|$)")
_FIGURE = re.compile(r"(\d+)(?:st|nd|rd|th|s|'s)?")


def _figure_value(word: str) -> str | None:
    m = _FIGURE.fullmatch(word)
    return m.group(1) if m else None


class _Token:
    __slots__ = ("raw", "word", "stem", "content", "kind", "ends_clause")

    def __init__(self, text: str, m: re.Match):
        self.raw = raw = m.group(0).replace("’", "'")
        folded = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode() or raw
        self.word = folded.lower()  # "Míng" is "Ming", "Temür" "Temur"
        value = _WORD_FIGURES.get(raw) or _figure_value(self.word)
        # a figure is its value: "1950's" is "1950s", "16th" is "16" (of October 16th), "third" is "3rd"
        self.stem = value or stem(_IRREGULAR.get(self.word, self.word))
        self.ends_clause = bool(_CLAUSE_END.match(text, m.end()))
        self.content = self.word not in STOPWORDS and self.word not in _WH and (
            len(self.word) > 2 or any(ch.isdigit() for ch in self.word))
        if any(ch.isdigit() for ch in raw) or raw in _WORD_FIGURES:  # "Seven" of "the Seven Years' War" is a name
            self.kind = "figure"
        elif raw[0].isupper() and not _SENTENCE_START.search(text[:m.start()]) and (
                self.content or (len(raw) == 1 and raw != "I")):
            self.kind = "name"  # capitalised inside a sentence: a name ("Aare", "problem B"), not a first word
        elif len(raw) == 1 and raw.islower() and raw not in "ais":
            self.kind = "symbol"  # "a function of n": a variable, like a name
        else:
            self.kind = "word"


def _tokens(text: str) -> list[_Token]:
    return [_Token(text, m) for m in _TOKEN.finditer(text)]


def _variants(a: str, b: str) -> bool:
    if any(ch.isdigit() for ch in a + b):
        return False  # 1988 and 1998 are two years
    return (len(os.path.commonprefix([a, b])) >= _VARIANT_PREFIX
            or difflib.SequenceMatcher(None, a, b).ratio() >= _VARIANT_RATIO)


def _context(q: list[_Token], i: int, s: list[_Token], j: int, step: int) -> tuple[int, int]:
    """How many tokens on one side of q[i] and s[j] agree (by stem), and how many of them are content words."""
    n = content = 0
    while 0 <= i + step * (n + 1) < len(q) and 0 <= j + step * (n + 1) < len(s) \
            and q[i + step * (n + 1)].stem == s[j + step * (n + 1)].stem:
        n += 1
        content += q[i + step * n].content
    return n, content


def swapped_names(question: str, sentence: str) -> list[tuple[str, str]]:
    """(asked, said) pairs, as written: a name or figure of the question that the sentence
    replaces with another one of the same kind, in the same words."""
    q, s = _tokens(question), _tokens(sentence)
    q_stems, s_stems = {t.stem for t in q}, {t.stem for t in s}
    found: list[tuple[str, str]] = []
    for i, asked in enumerate(q):
        if asked.kind == "word" or asked.stem in s_stems:
            continue
        for j, said in enumerate(s):
            if said.kind != asked.kind or said.stem in q_stems or _variants(asked.word, said.word):
                continue
            left, left_content = _context(q, i, s, j, -1)
            right, right_content = _context(q, i, s, j, +1)
            if not right and asked.ends_clause and said.ends_clause:
                right = 1  # "... in all of Germany?" against "... in all of Poland, as well as ..."
            if (left and right and left_content + right_content) or (
                    asked.kind == "figure" and max(left_content, right_content) >= _FIGURE_CONTEXT):
                pair = (asked.raw, said.raw)
                if pair not in found:
                    found.append(pair)
    return found


def closest_sentence(question: str, passage: str) -> str:
    """The sentence of `passage` (a quote may hold several) that shares the most of the
    question's words: "... joined by its major tributary, the river Aare. The Aare more than
    doubles the Rhine's water discharge" is read by its second sentence when the question is
    "The Hochrhein more than doubles the Rhine's water discharge to what amount?"."""
    asked = set(content_terms(question))
    sentences = [passage[s.start:s.end] for s in split_sentences(passage)] or [passage]
    return max(sentences, key=lambda s: len(asked & set(content_terms(s))))


def swapped_in(question: str, passage: str) -> list[tuple[str, str]]:
    """`swapped_names` for the passage's sentence closest to the question."""
    return swapped_names(question, closest_sentence(question, passage))
