"""A sentence that says the opposite of what was asked (guide/answer/opposites.py).

The sentences below are invented for these tests; they are not, and never enter, corpus/."""

from __future__ import annotations

import pytest

from guide.answer.opposites import asks_what_is_not, denies_nothing, opposites


@pytest.mark.parametrize(("question", "sentence", "pair"), [
    ("What river system continued southward?", "A river system developed that continued northward.",
     ("southward", "northward")),
    ("In what year did the number of volunteers increase?", "The number of volunteers decreased sharply in 2019.",
     ("increase", "decreased")),
    ("When did the festival end?", "At the beginning of the festival, the hall was full.", ("end", "beginning")),
    ("Which garden is the largest?", "The smallest garden is on Mill Street.", ("largest", "smallest")),
    ("Which problems are solvable?", "These problems are unsolvable in general.", ("solvable", "unsolvable")),
    ("Which machine is non-deterministic?", "The deterministic machine reads one symbol at a time.",
     ("nondeterministic", "deterministic")),
    # a negation is shown as written, not as the prefix it is read as
    ("What is not defined by the rules?", "The rota is defined by the rules.", ("not defined", "defined")),
    ("Which streams carry water to the pond?", "These streams no longer carry water to the pond.",
     ("carry", "no longer carry")),
    ("When did the river flow southwest?", "Then the river flowed to the northwest.", ("southwest", "northwest")),
    ("When the path took a right turn, where did it lead?", "At the mill the path took a left turn to the river.",
     ("right", "left")),
    ("Who chaired the former board?", "Ann Reid chairs the current board.", ("former", "current")),
    ("Which meetings are private?", "Board meetings are public.", ("private", "public")),
    ("Which groups are underrepresented on the board?", "Older tenants are overrepresented on the board.",
     ("underrepresented", "overrepresented")),
    ("When did the work on the hall begin?", "The work on the hall concluded in May.", ("begin", "concluded")),
    ("Who called it the best garden in the city?", "A critic called it the worst garden in the city.", ("best", "worst")),
])
def test_a_sentence_holding_the_opposite_of_an_asked_word_instead_of_it_is_caught(question, sentence, pair):
    assert pair in opposites(question, sentence)


@pytest.mark.parametrize(("question", "sentence"), [
    # the asked word is there too: the sentence may well answer
    ("Which garden is the largest?", "The largest garden is on Mill Street and the smallest on Elm Row."),
    # the question names both sides
    ("Is the north or the south bank higher?", "The north bank is higher."),
    # another form of the asked word
    ("To what level would the list collapse?", "The list collapses to its second level."),
    # "not equal" says what "unequal" says
    ("Why are the shares unequal?", "The shares are not equal because the costs differ."),
    # "didn't" and "did not" say the same, and an adverb between changes nothing
    ("Which grants didn't cover travel?", "The small grants did not cover travel."),
    ("What generally does not change?", "The rota does not generally change."),
    # a prefix that does not negate: "cover" is not the opposite of "discover"
    ("What does the grant cover?", "Volunteers discovered the grant in the spring."),
    # nothing opposite at all
    ("How do we keep volunteers?", "Volunteers stay when they feel valued."),
    # the same relation seen from its other side is no opposite: a converse answers
    ("Who lost the final to the Leith team?", "The Leith team won the final against Govan."),
    ("Who is Ann's brother?", "Ravi, whose sister Ann chairs the board, runs the stall."),
    # asking for a state back takes its loss as given
    ("When did the numbers rise again?", "The numbers fell sharply in 2019."),
    # a yes/no question or a claim asks whether it holds: the opposite is the answer "no"
    ("Did the number of volunteers increase?", "The number of volunteers decreased sharply in 2019."),
    ("The number of volunteers, which grew, increased in 2019.", "The number of volunteers decreased sharply in 2019."),
])
def test_a_sentence_that_does_not_contradict_the_question_is_not_caught(question, sentence):
    assert opposites(question, sentence) == []


@pytest.mark.parametrize(("question", "asks_not"), [
    ("Which grants did the trust not renew?", True),
    ("What is not a problem for the garden?", True),
    ("Who doesn't have a key to the hall?", True),
    ("What is a grant that does not cover travel?", True),  # the clause describes what is asked for
    # a negated condition, group or coordination, advice, reasons, and "not only": not what the question asks
    ("What happens if a volunteer doesn't turn up?", False),
    ("Which groups reach people who don't use services?", False),
    ("How do we make sure they feel valued and not used?", False),
    ("Why don't people come to our meetings?", False),
    ("Who not only funds the garden but also runs it?", False),
    ("Is the hall not open on Sundays?", False),  # a yes/no question: "it is open" answers it
])
def test_a_question_asks_what_is_not_so_only_when_its_own_clause_is_negated(question, asks_not):
    assert asks_what_is_not(question) is asks_not


def test_a_sentence_that_denies_nothing_does_not_answer_what_is_not_so():
    question = "Which grants did the trust not renew?"
    assert denies_nothing(question, "The trust renewed the seed grant and the travel grant in May.")
    # any denial, exception or exclusion may be the answer
    assert not denies_nothing(question, "The trust renewed every grant except the travel grant.")
    assert not denies_nothing(question, "The travel grant was not renewed.")
    assert not denies_nothing(question, "The travel grant was unrenewed after May.")
    assert not denies_nothing("Which grants did the trust renew?", "The trust renewed the seed grant.")
