"""A year the question asks about, and whether a passage is about it (guide/answer/conditions.py).

The sentences are invented for these tests; none is, or enters, corpus/."""

from __future__ import annotations

import pytest

from guide.answer.conditions import about_years, asked_years


def test_the_years_decades_and_centuries_a_question_names():
    assert asked_years("How many volunteers were there in 1998?") == ["1998"]
    assert asked_years("Who chaired the board in the 1960's and the 1970s?") == ["1960s", "1970s"]
    assert asked_years("How do we rebuild trust?") == []
    assert asked_years("How many of the 2,400 staff are part-time?") == []  # a number, not a year


@pytest.mark.parametrize("years, passage", [
    (["1998"], "In 1998 the garden had forty volunteers."),
    (["1960s"], "The board met monthly from 1964."),  # a year of the asked decade
    (["1880"], "By the 1880s the mill employed most of the town."),  # a round year's decade is about it
    (["1600s"], "The hall was built in the seventeenth century."),
    (["1600s", "1700s"], "Mayors were elected in the 17th and 18th centuries."),
])
def test_a_passage_about_the_asked_time_holds(years, passage):
    assert about_years(years, passage)


@pytest.mark.parametrize("years, passage", [
    (["1598"], "Membership peaked near two thousand by 1562."),
    (["1881"], "By the 1880s the mill employed most of the town."),
    (["1970s"], "The rights were first recognised in the late 60s."),
    (["1600s"], "The fair is held on the 17th of May."),
])
def test_a_passage_about_another_time_does_not(years, passage):
    assert not about_years(years, passage)
