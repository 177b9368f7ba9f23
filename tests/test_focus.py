"""What a question asks for (guide/answer/focus.py), and names the sources must mention whole."""

from guide.answer.coverage import missing_names, named_phrases
from guide.answer.focus import asked_for, focus_text, supports, topic_terms
from guide.text import content_terms

TOPIC = topic_terms([set(content_terms(s)) for s in ("co-production needs trust", "co-production takes time",
                                                      "people matter", "budgets are tight", "decisions are hard")])


def test_topic_words_are_the_corpus_central_terms_and_the_askers_setting():
    assert {"copro", "group", "project"} <= TOPIC and "trust" not in TOPIC


def test_the_focus_is_the_question_without_its_topic_words():
    assert focus_text("how do we evaluate the impact of our co-production project?", TOPIC) == \
        "how do we evaluate the impact of our?"
    assert focus_text("co-production?", TOPIC) == "?" or focus_text("co-production", TOPIC) == "co-production"


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
