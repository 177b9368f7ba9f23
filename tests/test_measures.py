"""Measurement questions and the sentences that answer them (guide/answer/measures.py).

The sentences are invented for these tests; none is, or enters, corpus/."""

from __future__ import annotations

import pytest

from guide.answer.measures import gives_measure, measure_asked


@pytest.mark.parametrize("question, kind", [
    ("How wide is the canal at the lock?", "width"),
    ("What is the average width of the path?", "width"),
    ("How high is the hall's ceiling?", "height"),
    ("What is the height of the tower?", "height"),
    ("How deep is the pond?", "depth"),
    ("How long is the walking route?", "length"),
    ("How far is the hub from the station?", "distance"),
    ("How long did the pilot last?", "duration"),
    ("How long might it take to win their trust back?", "duration"),
    ("How many years has the forum run?", "duration"),
    ("How long ago did the garden open?", "ago"),
    ("How quickly is the waiting list growing?", "speed"),
    ("How many volunteers came?", None),  # a count: any figure (coverage.answer_type)
    ("How do we keep volunteers?", None),
    ("What do we do when we have run out of time?", None),
])
def test_the_kind_of_measurement_a_question_asks_for(question, kind):
    assert measure_asked(question) == kind


@pytest.mark.parametrize("kind, sentence", [
    ("width", "The bridge crosses the 40 m wide canal."),
    ("width", "The path has an average width of 2 metres."),
    ("height", "The tower rises to a height of 35 m above the square."),
    ("length", "The route is nearly 12 km long and crosses two parks."),
    ("distance", "The hub sits 300 m from the station."),
    ("duration", "The pilot ran for eighteen months before the funding ended."),
    ("duration", "Trust takes a long time to build."),
    ("ago", "The garden opened 20 years ago."),
    ("speed", "The list grows by about 30 names per month."),
    ("length", "The town has 14 miles (23 km) of cycle paths."),  # no "long" needed for a length
    ("length", "The hall was closed from 4 August 1915 until November 1918."),  # "how long was it closed?"
    ("duration", "The rule has applied since the 1950s."),
    ("duration", "The single stayed on top for eleven consecutive weeks."),
    ("height", "The waiting list could be as high as 11 million."),  # not every height is in metres
])
def test_a_sentence_giving_the_asked_measurement_fits(kind, sentence):
    assert gives_measure(kind, sentence)


@pytest.mark.parametrize("kind, sentence", [
    ("width", "The route is nearly 12 km long and crosses two parks."),  # a length, not a width
    ("width", "It runs through a wide green valley."),  # the word, no figure
    ("height", "The hall holds 200 people."),  # a figure, not a height
    ("length", "The council gave 5,000 pounds."),
    ("duration", "The garden opened 20 years ago."),  # a point in time, not how long something lasted
    ("duration", "Peat was cut from Roman times onward."),
    ("speed", "The list holds 30 names."),
    ("duration", "Canals were dug in the 20th century."),  # when, not for how long
    ("depth", "The lock gates are 6 m wide."),
])
def test_a_sentence_with_another_figure_or_none_does_not_fit(kind, sentence):
    assert not gives_measure(kind, sentence)
