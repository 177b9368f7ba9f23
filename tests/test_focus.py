"""What a question asks for (guide/answer/focus.py), and names the sources must mention whole."""

from guide.answer.coverage import missing_names, named_phrases
from guide.answer.focus import asked_for, asking_part, focus_text, supports, topic_terms
from guide.text import content_terms

TOPIC = topic_terms([set(content_terms(s)) for s in ("co-production needs trust", "co-production takes time",
                                                      "people matter", "budgets are tight", "decisions are hard")])


def test_topic_words_are_the_corpus_central_terms_and_the_askers_setting():
    assert {"copro", "group", "project"} <= TOPIC and "trust" not in TOPIC


def test_the_focus_is_the_question_without_its_topic_words():
    assert focus_text("how do we evaluate the impact of our co-production project?", TOPIC) == \
        "how do we evaluate the impact of our?"
    assert focus_text("co-production?", TOPIC) == "?" or focus_text("co-production", TOPIC) == "co-production"


def test_a_question_told_in_parts_is_read_by_the_part_that_asks():
    q = ("Ward manager here. My nurses are keen but exhausted. "
         "What does co-production actually need from the people taking part?")
    assert asking_part(q, TOPIC) == "What does co-production actually need from the people taking part?"
    assert asking_part("Team leader: we can't give it the hours. Is there a way to cut the time without losing "
                       "equal say?", TOPIC) == "Is there a way to cut the time without losing equal say?"
    assert asking_part("Youth worker - our forum rests on two members, how do we share responsibility?", TOPIC) == \
        "our forum rests on two members, how do we share responsibility?"


def test_an_asking_part_that_leans_on_the_story_before_it_is_not_read_alone():
    assert asking_part("We've had big cuts this year. Can we still co-produce?", TOPIC) is None
    assert asking_part("We have no time any more. What should we be asking ourselves?", TOPIC) is None
    assert asking_part("how do we rebuild trust after cuts?", TOPIC) is None  # one part: the question itself
    assert asking_part("well-known co-production methods for budget decisions?", TOPIC) is None  # a hyphen is no break
    # nor is the full stop of initials or an abbreviation
    assert asking_part("How many days did the U.S. forces take part in the Cold War?", TOPIC) is None
    assert asking_part("How do we make sessions accessible, e.g. Talking Mats or easy read?", TOPIC) is None


def test_a_comparison_needs_a_span_that_compares():
    f = asked_for("what's actually the difference between co-production and consultation?", TOPIC)
    assert f.kind == "comparison" and "consult" in f.terms
    assert not supports(f, "Co-production takes time and trust.")
    assert supports(f, "Co-production is different from consultation: people share power.")


def test_a_resource_needs_a_span_that_names_one():
    f = asked_for("has anyone got a template terms of reference for an advisory group?", TOPIC)
    assert f.kind == "resource" and not supports(f, "Trust takes time to build.")
    assert supports(f, "Our template is on the website.")
    assert asked_for("why does trust matter?", TOPIC) is None and supports(None, "anything")


def test_a_multi_word_name_must_appear_whole():
    q = "what is the Scottish Approach to Service Design and how does it link to co-pro"
    assert named_phrases(q) == ["Scottish Approach to Service Design"]
    text = "the scottish co-production network takes an approach to service design in scotland"
    assert missing_names(q, text) == ["Scottish Approach to Service Design"]
    assert missing_names("How do I join the Scottish Co-production Network?", text) == []
