"""A sentence that names another name or figure where the question names its own
(guide/answer/swaps.py).

The sentences below are invented for these tests; they are not, and never enter, corpus/."""

from __future__ import annotations

import pytest

from guide.answer.swaps import swapped_in, swapped_names


@pytest.mark.parametrize(("question", "sentence", "pair"), [
    # another name, the same words on both sides
    ("What does the Kelvin Trust fund every spring?", "The Clyde Trust funds the garden every spring.",
     ("Kelvin", "Clyde")),
    ("Who fills rota B on Mondays?", "Ann Reid fills rota A on Mondays.", ("B", "A")),
    # another figure
    ("What did families with incomes below £38,000 pay for meals?",
     "Families with incomes below £60,000 pay nothing for meals.", ("38", "60")),
    # a figure needs two content words on one side only
    ("Who opened the Leith community garden in 1986?", "Ann Reid opened the Leith community garden in 1996.",
     ("1986", "1996")),
    # the end of the question against the end of a clause: "... in all of Leith?" / "... in all of Govan, ..."
    ("What is the largest community garden in all of Leith?",
     "The Mill Garden, the largest community garden in all of Govan, opened in May.", ("Leith", "Govan")),
    # a name after a colon is a name; the words around it agree whatever their tense
    ("When did the Garden Trust: Leith Branch become a charity?",
     "The Garden Trust: Govan Branch became a charity in 2001.", ("Leith", "Govan")),
    ("When did the Leith become a charity?", "The Govan became a charity in 2001.", ("Leith", "Govan")),
    # a one-letter variable is a symbol, like a name
    ("How is the cost expressed as a function of x?", "The cost is expressed as a function of n.", ("x", "n")),
    # numbers and ordinals in words are figures
    ("What is the second item of business on Mondays?", "The first item of business on Mondays is the rota.",
     ("second", "first")),
    # "the" on one side is enough beside content words on the other
    ("The Leith branch more than doubles the group's membership to what number?",
     "The Govan branch more than doubles the group's membership, to nearly 400 people.", ("Leith", "Govan")),
])
def test_another_name_or_figure_in_the_place_of_the_asked_one_is_caught(question, sentence, pair):
    assert pair in swapped_names(question, sentence)


@pytest.mark.parametrize(("question", "sentence"), [
    # the sentence names the asked name too
    ("What does the Kelvin Trust fund?", "The Kelvin Trust and the Clyde Trust fund the garden."),
    # an ordinary word in the same place is as often a paraphrase ("killed" for "slaughtered")
    ("How many volunteers left the garden in May?", "Twelve volunteers quit the garden in May."),
    # spelling variants and forms of one name
    ("Who chairs the Scottish board?", "Ann Reid chairs the Scotland board."),
    ("When was the Maastrich office opened?", "The Maastricht office opened in 1993."),
    # the same name with or without its accents
    ("When did Chloe Dupré join the board?", "Chloé Dupré joined the board in the spring."),
    # the same figure written another way
    ("What opened on October 16th in Leith?", "On October 16, 1998, the garden opened in Leith."),
    ("What did the group build in the late 1950's?", "In the late 1950s the group built a hall."),
    ("Who was the gardener's 3rd son?", "The gardener's third son, Ravi, runs the stall."),
    # a number word in a name is part of the name
    ("How long did the work last in the Seven Acres Garden?", "The work in the garden lasted six years."),
    # a name the question has on its own, with no words in common around it
    ("What does the Kelvin Trust fund?", "Money from Clyde pays for seeds."),
    # words on one side only: the answer may stand where the question names its subject
    ("What is the name of where the burn splits off near Kelvin Bridge?",
     "The Glen Water splits off near Kelvin Bridge and rejoins the burn below the mill."),
    # the question names both
    ("Which funds more, Kelvin Trust or Clyde Trust?", "Clyde Trust funds more than anyone."),
])
def test_a_sentence_naming_the_asked_thing_or_a_paraphrase_is_not_caught(question, sentence):
    assert swapped_names(question, sentence) == []


def test_a_passage_of_several_sentences_is_read_by_the_sentence_closest_to_the_question():
    passage = ("The Leith branch meets on Mondays, as the city group, and is joined by the Govan branch. "
               "The Govan branch more than doubles the group's membership, to nearly 400 people.")
    # the first sentence names Leith, but the sentence about doubling the membership names Govan
    assert swapped_in("The Leith branch more than doubles the group's membership to what number?",
                      passage) == [("Leith", "Govan")]
    assert swapped_in("The Govan branch more than doubles the group's membership to what number?", passage) == []
