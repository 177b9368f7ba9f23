"""Questions that ask for a measurement, and sentences that give one.

"How wide is the Moselle?" is not answered by "... the Moselle, which contributes an average
discharge of more than 300 m3/s", nor "How long did peat mining last?" by "... from Roman times
onward": each sentence is about the thing asked, but gives no figure of the asked kind. A
measurement question is answered only by a sentence with a figure in a fitting unit (a length
for how wide, long, high, deep or far; a span of time for how long something lasted; a rate for
how fast), or, for a height, a figure beside the word for it ("as high as 11 million").
Pure functions of the text, for any document.
"""

from __future__ import annotations

import re

from guide.text import ORDINAL_WORDS

# --- what the question asks for ---------------------------------------------------------------
_AGO_Q = re.compile(r"\bhow (?:long|many (?:years|centuries|decades|months))\s+ago\b", re.I)
# "how long" asks for a time when it goes on to what lasted or took time
_DURATION_Q = re.compile(
    r"\bhow long\b(?=.*\b(?:last|lasted|lasts|take|takes|took|taken|been|exist|existed|continue|continued|"
    r"endure|endured|survive|survived|reign|reigned|rule|ruled|stay|stayed|remain|remained|wait|waited|"
    r"run for|ran for)\b)"
    r"|\bfor how long\b|\bhow many (?:years|months|weeks|days|hours|minutes|seconds|centuries|decades)\b", re.I)
_DIMENSION_Q = (
    ("width", re.compile(r"\bhow (?:wide|broad)\b|\bwhat (?:is|was|are|were) the (?:\w+ )?(?:width|breadth)\b", re.I)),
    ("height", re.compile(r"\bhow (?:high|tall)\b|\bwhat (?:is|was|are|were) the (?:\w+ )?(?:height|elevation|altitude)\b",
                          re.I)),
    ("depth", re.compile(r"\bhow deep\b|\bwhat (?:is|was|are|were) the (?:\w+ )?depth\b", re.I)),
    # "how long is the route?" or "how long was Warsaw occupied?": a length or a span of time
    ("length", re.compile(r"\bhow long (?:is|are|was|were)\b|\bwhat (?:is|was|are|were) the (?:\w+ )?length\b", re.I)),
    ("distance", re.compile(r"\bhow far\b", re.I)),
    ("speed", re.compile(r"\bhow (?:fast|quickly)\b|\bat what (?:rate|speed|pace)\b", re.I)),
)

# --- what a sentence gives --------------------------------------------------------------------
_NUMBER = (r"(?:\d[\d,.]*(?:[–-]\d[\d,.]*)?|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-\w+)?|"
           r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
           r"seventeen|eighteen|nineteen|a hundred|hundred|a thousand|thousand|million|billion|a few|several|"
           r"half an?|a dozen|dozens of|hundreds of|thousands of|many|some|a couple of|an?)")
_SCALE = r"(?:\s+(?:million|thousand|hundred|billion))?"
_QUALIFIER = r"(?:\s+(?:more|consecutive|full|whole|straight|long|short|additional|extra|further))?"
_LENGTH_UNIT = r"(?:km|kilomet(?:er|re)s?|m|met(?:er|re)s?|ft|feet|foot|mi|miles?|cm|mm|yards?|inch(?:es)?|blocks?)"
_TIME_UNIT = (r"(?:years?|yrs?|months?|weeks?|days?|nights?|hours?|hrs?|minutes?|mins?|seconds?|secs?|"
              r"centur(?:y|ies)|decades?|millenni(?:a|um)|generations?|terms?|seasons?)")
_YEAR = rf"(?:the )?(?:\d{{3,4}}s?|(?:early |mid-?|late )?(?:\d+(?:st|nd|rd|th)|{'|'.join(ORDINAL_WORDS)})[ -]century)"
_AGO = re.compile(rf"\b{_NUMBER}{_SCALE}\s*-?\s*{_TIME_UNIT}\s*(?:\(|,)?\s*(?:ago|BP|before present)\b", re.I)
_FIGURE = {
    "length": re.compile(rf"\b{_NUMBER}{_SCALE}\s*-?\s*{_LENGTH_UNIT}\b", re.I),
    # a span of time, not a point in it ("from 22,000 years ago onward" is no answer to "how long")
    "duration": re.compile(rf"\b{_NUMBER}{_SCALE}{_QUALIFIER}\s*-?\s*{_TIME_UNIT}\b"
                           rf"|\b\d+(?:st|nd|rd|th) (?:year|month|week|day|season|term)\b"  # "in its 41st week"
                           rf"|\b(?:since|until|till|from|between|into)\b(?:\s+(?:at least|about|around|c\.|circa))?\s+"
                           rf"(?:\d{{1,2}}\s+\w+\s+)?{_YEAR}"
                           rf"|\b(?:for|in|over|within|after|lasted|took)\s+(?:the next\s+)?(?:number of\s+)?"
                           rf"(?:years|decades|centuries|months|weeks|days|hours|minutes|seconds)\b"
                           rf"|\ba (?:long|short) (?:time|while)\b|\ba lifetime\b", re.I),
    "ago": re.compile(rf"{_AGO.pattern}|\b\d{{3,4}}\b", re.I),
    "speed": re.compile(rf"\b{_NUMBER}\b[^.;]{{0,40}}(?:\bper\b|/\s?(?:s|h|hr|year|yr|day)\b|\bkm/h\b|\bmph\b|"
                        rf"\ba (?:year|day|month|second|minute|hour|century)\b|\beach (?:year|day)\b|\bannually\b)"
                        rf"|\b(?:quadratic|linear|polynomial|exponential|logarithmic|constant) time\b", re.I),
}
_DIMENSION_WORDS = {
    "width": r"wide|wider|widest|width|widths|broad|broader|breadth|across",
    "height": r"high|higher|highest|height|heights|tall|taller|tallest|elevation|altitude|above sea level|top|peak|"
              r"peaks|peaked|reaching|reaches|rises|rising|rose|summit",
    "depth": r"deep|deeper|deepest|depth|depths|below|beneath|down",
}
# words between the figure and its dimension word, at most: "the average width of the river is 400 m"
# before it, "400 m wide" or "40 km (25 mi) wide" after it
_BEFORE, _AFTER = 6, 4
_ANY_NUMBER = re.compile(rf"\b{_NUMBER}\b", re.I)
MEASURES = ("width", "height", "depth", "length", "distance", "duration", "ago", "speed")


def measure_asked(question: str) -> str | None:
    """The kind of measurement the question asks for (one of MEASURES), or None."""
    if _AGO_Q.search(question):
        return "ago"
    if _DURATION_Q.search(question):
        return "duration"
    for kind, pattern in _DIMENSION_Q:
        if pattern.search(question):
            return kind
    return None


def gives_measure(kind: str, sentence: str) -> bool:
    """Does the sentence give a measurement of this kind: a figure in a fitting unit and, for a
    width, height or depth, the dimension's word within a few words of it ("400 m wide", "a height
    of 599 m"; "86 km long" is no width)? A height may be any figure beside its word ("as high as 11 million"),
    and "how long was X ...?" may be answered by a span of time."""
    if kind in ("ago", "speed"):
        return bool(_FIGURE[kind].search(sentence))
    spans = _AGO.sub(" ", sentence)  # points in time are not spans of it
    if kind == "duration" or (kind == "length" and _FIGURE["duration"].search(spans)):
        return bool(_FIGURE["duration"].search(spans))
    figures = list((_ANY_NUMBER if kind == "height" else _FIGURE["length"]).finditer(sentence))
    if kind in ("distance", "length"):  # "14 miles (23 km) of public beaches"
        return bool(figures)
    words = re.compile(rf"\b(?:{_DIMENSION_WORDS[kind]})\b", re.I)
    for f in figures:
        before = sentence[:f.start()].split()[-_BEFORE:]
        after = sentence[f.end():].split()[:_AFTER]
        if words.search(" ".join(before + after)):
            return True
    return False
