"""A year the question asks about, and whether a passage is about that year.

"How many Huguenots were there in 1598?" is not answered by "Huguenot numbers peaked near an
estimated two million by 1562": the sentence is about the thing asked, but not at the asked
time. A question that names a year (or a decade, "the 1960s", or a century, "the 1600s") is
answered only from a passage that names that time: the answer's sentence alone, or with the one
before it, would refuse too many answers whose year is stated earlier in the paragraph
(docs/decisions.md). Pure functions of the text, for any document.
"""

from __future__ import annotations

import re

from guide.text import ORDINAL_WORDS

_ASKED = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})(?:'?s)?\b")


def asked_years(question: str) -> list[str]:
    """The years, decades ("1960s") and centuries ("1600s") the question names, as written
    without an apostrophe."""
    out = []
    for m in _ASKED.finditer(question):
        token = m.group(1) + ("s" if m.group(0).endswith("s") else "")
        if token not in out:
            out.append(token)
    return out


def _century(n: int) -> str:
    """17 -> "17th|seventeenth"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    words = ORDINAL_WORDS[n - 1] if 1 <= n <= len(ORDINAL_WORDS) else None
    return f"{n}{suffix}" + (f"|{words}" if words else "")


def _pattern(token: str) -> re.Pattern:
    year = token.rstrip("s")
    if not token.endswith("s"):  # "in 1880": "by the 1880s" is about it too
        return re.compile(rf"\b{year}(?:'?s)?\b" if year.endswith("0") else rf"\b{year}\b")
    if year.endswith("00"):  # "the 1600s": any year of it, or the 17th century
        lead = year[:-2]
        return re.compile(rf"\b{lead}\d\d(?:'?s)?\b|\b(?:{_century(int(lead) + 1)})\b(?=(?:\W+\w+){{0,3}}?\W+centur)", re.I)
    if year.endswith("0"):  # "the 1960s": any year of the decade
        return re.compile(rf"\b{year[:-1]}\d(?:'?s)?\b")
    return re.compile(rf"\b{year}\b")


def about_years(years: list[str], text: str) -> bool:
    """Does the text name every asked year, decade or century (a year of an asked decade counts)?"""
    return all(_pattern(y).search(text) for y in years)
