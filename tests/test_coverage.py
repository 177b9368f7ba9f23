from __future__ import annotations

from guide.answer.coverage import answer_type, fits_type, haystack, missing_names, named_terms, names_source

SOURCES = haystack(["Co-production Week Scotland this year is all about how we embed co-production."])


def test_named_terms_ignore_sentence_starts():
    assert named_terms("Do we need a GDPR consent form? What about PVG checks in Glasgow in 2025?") == [
        "GDPR", "PVG", "Glasgow", "2025"]
    assert named_terms("We've had cuts. Can we still co-produce? I think so.") == []


def test_names_the_sources_never_mention_are_reported():
    assert missing_names("When is Co-production Week Scotland?", SOURCES) == []
    assert missing_names("Does Universal Credit count vouchers?", SOURCES) == ["Universal", "Credit"]


def test_names_in_the_askers_introduction_are_their_setting_not_the_question():
    # "NHS manager here" says who asks; it must not make an answerable question "not covered"
    assert missing_names("NHS manager here - what does the blog say about co-production being slow?", SOURCES) == []
    assert missing_names("I'm a youth worker at Fife Council. How do we embed co-production?", SOURCES) == []
    # a name in the question itself still counts, with or without an introduction
    assert missing_names("NHS manager here. Does GDPR apply?", SOURCES) == ["GDPR"]
    assert missing_names("What does NHS say here", SOURCES) == ["NHS"]


RIVER = haystack(["Near Emmerich the river widens. The Wesel-Datteln Canal runs beside it in Germany.",
                   "The Rhine delta was changed by the works. Every problem in NP-complete form is hard."])


def test_a_long_name_misspelt_by_one_letter_is_still_mentioned():
    # a visitor's typo must not turn an answerable question into "the sources never mention Emmrich"
    assert missing_names("How wide is the river near Emmrich?", RIVER) == []
    assert missing_names("What does the Wessel-Datteln canal run beside?", RIVER) == []
    # two letters off is another name; acronyms and short names must match exactly
    assert missing_names("How wide is the river near Emmrech?", RIVER) == ["Emmrech"]
    assert missing_names("Which problems are NQ-complete?", RIVER) == ["NQ-complete"]


def test_names_joined_by_and_or_in_are_checked_one_by_one():
    # "the Rhine in Germany" is two names the text holds, not one it lacks
    assert missing_names("How wide is the Rhine in Germany?", RIVER) == []
    assert missing_names("What changed the Rhine's Delta?", RIVER) == []
    # a phrase joined by "of"/"to" is still one name, and must be there as a whole
    assert missing_names("What is the Rhine of Germany?", RIVER) == ["Rhine of Germany"]


def test_answer_types():
    assert answer_type("How much should we pay per session?") == "number"
    assert answer_type("What are the dates next year?") == "date"
    assert answer_type("What's their phone number?") == "contact"
    assert answer_type("How can I contact the panel?") == "contact"
    # a phone or an email named is not contact details asked for
    assert answer_type("How do we involve people who have no phone?") is None
    assert answer_type("Which phone company did the council choose?") is None
    assert answer_type("How do we rebuild trust?") is None
    # when an event happened is a date; when to act is advice
    assert answer_type("When was the case study published?") == "date"
    assert answer_type("When did they set up the panel?") == "date"
    assert answer_type("When should we start involving people?") is None
    assert answer_type("In what century was the hall built?") == "date"
    assert fits_type("date", "It was built in the nineteenth century.") and not fits_type("date", "It was built long ago.")
    assert fits_type("number", "it can take one or two people") and not fits_type("date", "this year")


def test_a_question_names_a_source_by_a_run_of_its_title_or_by_its_organisation():
    title = "Co-pro example - Building trust through relationship-based practice"
    assert names_source("Who wrote the building trust through relationship-based practice example?", title)
    assert names_source("who wrote the piece about co-pro in difficult times?",
                        "Facing the challenges of co-production in difficult times")
    assert names_source("Who wrote the VOX Scotland case study?", "Case study - Making co-pro work", "VOX Scotland")
    assert not names_source("How do we build trust?", title)  # a topic, not the source
    assert not names_source("Who wrote co-pro example?", title)  # the label, not the title
    assert not names_source("Who runs Scotland?", "Case study - Making co-pro work", "VOX Scotland")
    # a short title put in quotes names it, though its words are common ones
    assert names_source("Who wrote 'Making it work'?", "Case study - Making it work, together")
    assert names_source("who's the author of “making it work”", "Case study - Making it work, together")
    assert not names_source("Who wrote 'Making it happen'?", "Case study - Making it work, together")
