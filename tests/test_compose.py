"""The composer on hand-built passages and vectors (no model, no index): which sentence it
quotes, and every state and reason an answer can have (answered / related / not_covered).

The document below is invented for these tests; it is not, and never enters, corpus/."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from guide.answer.compose import ANSWERED, NOT_COVERED, RELATED, RELATED_QUOTES, Answer, Candidate, Composer, ScoringConfig
from guide.answer.quotes import normalise
from guide.answer.render import NOT_AN_ANSWER, sources_panel
from guide.search.chunking import chunk_document
from guide.search.retrieval import Hit
from guide.sources.corpus import Document, Source

TEXT = """# Growing together

## Keeping volunteers

Volunteers stay when they feel valued. Thank volunteers often and share the credit for the harvest.
Rotas that change every week wear people out.

## Money

Seed costs rose sharply this spring. The garden still pays each volunteer's bus fare.

## Weather

Rain in April delayed planting by a fortnight.
"""

VOCAB = sorted(set(re.findall(r"[a-z]+", TEXT.lower())) | {"sourdough", "bread", "bake", "valued", "keep", "pay"})


def bag_of_words(text: str, vocab: list[str]) -> np.ndarray:
    """A bag of words over `vocab`, unit length: cosine = shared words."""
    v = np.zeros(len(vocab), dtype=np.float32)
    for w in re.findall(r"[a-z]+", text.lower()):
        if w in vocab:
            v[vocab.index(w)] += 1.0
    n = float(np.linalg.norm(v))
    return v / n if n else v


def embed(text: str) -> np.ndarray:
    return bag_of_words(text, VOCAB)


def embed_documents(texts: list[str]) -> list[list[float]]:
    return [embed(t).tolist() for t in texts]


@pytest.fixture
def doc() -> Document:
    src = Source(id="garden", title="Growing together", kind="blog", url="https://example.org/garden",
                 author="A. Gardener")
    return Document(src, TEXT, {}, Path("garden.md"))


def composer(doc: Document, *, threshold: float = 0.2, answer_threshold: float = 0.45, texts=None) -> Composer:
    chunks = chunk_document(doc)
    return Composer(texts or {doc.id: doc.text}, {doc.id: doc.source}, chunks, embed_documents,
                    threshold=threshold, answer_threshold=answer_threshold)


def ask(comp: Composer, question: str) -> Answer:
    chunks = list(comp.section_index.values())
    hits = [Hit(c, 1.0 / (i + 1)) for i, group in enumerate(chunks) for c in group]
    return comp.compose(question, question, False, hits, embed(question))


def test_the_sentence_that_answers_is_quoted_first(doc):
    a = ask(composer(doc), "how do we keep volunteers? they feel valued when?")
    assert a.status == ANSWERED and a.reason is None and not a.abstained
    assert a.quotes[0].text.startswith("Volunteers stay when they feel valued.")
    assert all(doc.text[q.start:q.end] == q.text and q.verified for q in a.quotes)


def test_a_weakly_supported_question_is_related_with_at_most_two_passages_labelled_not_an_answer(doc):
    a = ask(composer(doc, answer_threshold=0.95), "how do we keep volunteers? they feel valued when?")
    assert a.status == RELATED and a.reason == "weak_support" and a.abstained
    assert 1 <= len(a.quotes) <= RELATED_QUOTES
    assert a.message.startswith("The blog doesn't answer this directly.")
    assert all(doc.text[q.start:q.end] == q.text for q in a.quotes)
    text = a.to_text()
    assert text.index(a.message) < text.index(a.quotes[0].text) < text.index(NOT_AN_ANSWER)
    assert NOT_AN_ANSWER.strip("()") in a.to_markdown().replace("\\", "")
    assert a.key_questions == [] and a.further_reading == []
    panel = sources_panel("q", a, {})
    assert "Nearest passages (not an answer)" in panel and "Passages used" not in panel


def test_chat_fillers_cost_a_question_nothing(doc):
    plain = ask(composer(doc), "do volunteers feel valued?")
    for chatty in ("do volunteers feel valued tho?", "hi, do volunteers feel valued? pls", "ok do volunteers feel valued lol",
                   "dont volunteers feel valued?", "whats up, do volunteers feel valued?"):
        a = ask(composer(doc), chatty)
        assert a.grounding == pytest.approx(plain.grounding) and a.status == plain.status


def test_nothing_close_is_not_covered_with_its_reason(doc):
    a = ask(composer(doc), "any tips to bake sourdough bread?")
    assert a.status == NOT_COVERED and a.reason == "low_grounding" and a.quotes == []
    assert a.message in a.to_text() and a.nearest_topics


def test_a_named_thing_the_sources_never_mention_is_not_covered(doc):
    a = ask(composer(doc), "do volunteers feel valued under GDPR?")
    assert a.status == NOT_COVERED and a.reason == "not_mentioned" and "GDPR" in a.message


def test_a_number_the_sources_do_not_give_makes_the_answer_related_not_answered(doc):
    # the topic (volunteers feeling valued) is there; a figure is not
    a = ask(composer(doc), "how many volunteers feel valued?")
    assert a.status == RELATED and a.reason == "answer_type" and "figures" in a.message and a.quotes


def test_an_asked_for_kind_of_answer_with_nothing_close_is_not_covered(doc):
    a = ask(composer(doc), "how much does sourdough bread cost?")
    assert a.status == NOT_COVERED and a.reason == "low_grounding"


def test_an_unverifiable_span_is_never_shown(doc):
    altered = doc.text.replace("Volunteers stay when they feel valued.", "Volunteers leave when they feel valued.")
    comp = composer(doc, texts={doc.id: altered})
    a = ask(comp, "volunteers stay when they feel valued")
    assert a.status == NOT_COVERED and a.reason == "unverified" and a.quotes == []


def test_an_answer_has_a_known_status_and_reports_it_in_its_dict():
    with pytest.raises(ValueError):
        Answer(question="q", query="q", rewritten=False, status="abstained", grounding=0.0, message="")
    d = Answer(question="q", query="q", rewritten=False, status=RELATED, grounding=0.3, message="m",
               reason="weak_support").to_dict()
    assert d["status"] == "related" and d["reason"] == "weak_support" and d["abstained"] is True


# --- the cross-encoder, the scoring configuration and the asked-for thing ------------------------
class PicksReranker:
    """A hand-built reranker: a high logit for texts containing `favourite`, a low one otherwise."""

    name = "picks"

    def __init__(self, favourite: str):
        self.favourite = favourite
        self.calls: list[tuple[str, list[str]]] = []

    def score(self, query, texts):
        self.calls.append((query, list(texts)))
        return np.asarray([8.0 if self.favourite in t else -8.0 for t in texts], dtype=np.float32)


def test_the_scoring_configuration_is_one_weighted_mean():
    cfg = ScoringConfig(cosine=3.0, lexical=1.0, rerank=0.0, focus=0.0)
    assert cfg.evidence(0.8, 0.4) == pytest.approx((3 * 0.8 + 0.4) / 4)
    assert cfg.evidence(0.8, 0.4, logit=5.0) == cfg.evidence(0.8, 0.4)  # no cross-encoder weight: no effect
    ce = ScoringConfig(cosine=1.0, lexical=0.0, rerank=1.0, rerank_scale=1.0)
    assert ce.evidence(0.5, 0.0, logit=0.0) == pytest.approx((0.5 + 0.5) / 2)
    assert ce.evidence(0.5, 0.0, reranked=True) == pytest.approx(0.5 / 2)  # not scored: counts 0
    assert ce.evidence(0.5, 0.0) == 0.5  # no cross-encoder in this answer: left out
    assert ce.answerability(0.4, None) == 0.4  # without a focus score: the grounding
    assert ScoringConfig(focus=0.5, rerank_scale=1.0).answerability(0.4, 0.0) == pytest.approx(0.45)


def test_quote_choice_follows_the_cross_encoder(doc):
    plain = ask(composer(doc, answer_threshold=0.0), "volunteers")
    assert plain.quotes[0].text.startswith("Volunteers stay")  # cosine alone: the shorter matching sentence
    comp = composer(doc, answer_threshold=0.0)
    comp.reranker = PicksReranker("bus fare")
    comp.scoring = ScoringConfig(rerank=4.0, focus=0.0)
    a = ask(comp, "volunteers")
    assert a.status == ANSWERED and "bus fare" in a.quotes[0].text
    assert comp.reranker.calls and len(comp.reranker.calls[0][1]) <= comp.scoring.rerank_top


def test_the_question_focus_is_scored_without_its_topic_words(doc):
    comp = composer(doc, answer_threshold=0.5)
    comp.reranker = PicksReranker("never in any sentence")
    comp.scoring = ScoringConfig(rerank=0.0, focus=1.0)  # answerability = the focus score alone
    a = ask(comp, "how do we keep volunteers? they feel valued when?")
    assert a.status == RELATED and a.reason == "weak_support"
    assert a.signals["focus_logit"] == -8.0 and a.signals["answerability"] < 0.5
    focus_query = comp.reranker.calls[-1][0]
    assert "volunteers" not in focus_query.lower()  # "volunteer" is this corpus's central term


def test_a_sentence_the_cross_encoder_ranks_first_but_too_weak_to_quote_is_skipped_not_the_answer(doc):
    comp = composer(doc, threshold=0.3, answer_threshold=0.3)
    comp.reranker = PicksReranker("Rain in April")  # no word of the question: its own evidence is ~0
    comp.scoring = ScoringConfig(rerank=4.0, focus=0.0)
    a = ask(comp, "volunteers feel valued")
    assert a.status == ANSWERED and a.reason is None
    assert a.quotes[0].text.startswith("Volunteers stay when they feel valued.")
    assert not any("Rain" in q.text for q in a.quotes)


@pytest.mark.parametrize("question", ["tl;dr?", "what's this blog about?", "summarise it in a nutshell"])
def test_a_summary_quotes_the_opening_and_the_section_headings_in_order(doc, question):
    a = ask(composer(doc, answer_threshold=0.0), question)
    assert a.status == ANSWERED
    assert a.quotes[0].text.startswith("Volunteers stay")  # the opening passage
    assert [q.text for q in a.quotes[1:]] == ["Keeping volunteers", "Money", "Weather"]
    assert all(normalise(doc.text[q.start:q.end]) == q.text and q.verified for q in a.quotes)
    assert [q.marker for q in a.quotes] == [1, 2, 3, 4]


def test_a_question_that_is_not_covered_costs_no_cross_encoder_pairs(doc):
    comp = composer(doc)
    comp.reranker = PicksReranker("bus fare")
    comp.scoring = ScoringConfig(rerank=4.0, focus=0.5)
    assert ask(comp, "any tips to bake sourdough bread?").status == NOT_COVERED
    assert ask(comp, "do volunteers feel valued under GDPR?").reason == "not_mentioned"
    assert comp.reranker.calls == []  # decided on the cheap evidence: nothing sent to the model
    assert ask(comp, "volunteers").status != NOT_COVERED and comp.reranker.calls


@pytest.mark.parametrize("answer_threshold", [0.0, 0.2, 0.35, 0.5, 0.65, 0.9])
@pytest.mark.parametrize("favourite", ["bus fare", "never in any sentence"])
def test_the_focus_is_scored_only_when_it_can_change_the_state_and_no_answer_differs(doc, answer_threshold, favourite):
    def run(when_needed: bool) -> tuple[Answer, PicksReranker]:
        comp = composer(doc, answer_threshold=answer_threshold)
        comp.reranker = PicksReranker(favourite)
        comp.scoring = ScoringConfig(rerank=4.0, focus=0.5)
        comp.focus_when_needed = when_needed
        return ask(comp, "volunteers"), comp.reranker

    lazy, lazy_calls = run(True)
    always, always_calls = run(False)
    assert (lazy.status, lazy.reason, [q.text for q in lazy.quotes]) == (
        always.status, always.reason, [q.text for q in always.quotes])
    low, high = ScoringConfig(rerank=4.0, focus=0.5).answerability_range(always.grounding)
    decisive = low < answer_threshold <= high
    assert len(lazy_calls.calls) == len(always_calls.calls) - (0 if decisive else 1)
    if not decisive:  # the answerability shown is the bound on the side of the cut
        assert lazy.signals["focus_logit"] is None
        assert (lazy.signals["answerability"] >= answer_threshold) == (lazy.status == ANSWERED)


def test_a_question_told_in_parts_is_read_by_its_asking_part(doc):
    question = ("Seed costs rose sharply this spring, seed costs rose sharply again, and the garden still pays "
                "each bus fare. How do we thank volunteers and share the credit?")  # a long story, a short ask
    comp = composer(doc, answer_threshold=0.0)
    comp.reranker = PicksReranker("never in any sentence")  # the cross-encoder prefers nothing here
    comp.scoring = ScoringConfig(rerank=1.0, focus=0.0)
    chunks = list(comp.section_index.values())
    hits = [Hit(c, 1.0 / (i + 1)) for i, group in enumerate(chunks) for c in group]
    a = comp.compose(question, question, False, hits, embed(question))
    assert a.signals["asking_part"] == "How do we thank volunteers and share the credit?"
    assert comp.reranker.calls[0][0] == a.signals["asking_part"]  # the cross-encoder reads the asking part
    assert a.quotes[0].text.startswith("Thank volunteers often")  # the sentence close to what is asked
    # a follow-up's rewritten query is read whole: its asking part is the user's, the rest its referent
    comp.reranker.calls.clear()
    b = comp.compose(question, question, True, hits, embed(question))
    assert b.signals["asking_part"] is None and comp.reranker.calls[0][0] == question
    assert b.quotes[0].text.startswith("Seed costs rose")  # read whole, the story outweighs the ask


def test_an_answer_whose_sentence_says_the_opposite_of_what_was_asked_is_related(doc):
    comp = composer(doc, answer_threshold=0.0)
    assert ask(comp, "when did seed costs rise sharply?").status == ANSWERED
    a = ask(comp, "when did seed costs fall sharply?")  # the sources say they rose
    assert a.status == RELATED and a.reason == "opposite" and a.signals["opposites"] == [("fall", "rose")]
    assert "“rose” where you asked about “fall”" in a.message
    assert any("Seed costs rose sharply" in q.text for q in a.quotes)  # shown, as not an answer

    class Labelled:  # scope examples cover this source: their margin judges, not this check
        def covers(self, source_id: str) -> bool:
            return True

        def margin(self, query_vec) -> float:
            return 0.5

    comp.scope = Labelled()
    assert ask(comp, "when did seed costs fall sharply?").status == ANSWERED


def test_a_comparison_the_quotes_do_not_make_is_related(doc):
    a = ask(composer(doc, answer_threshold=0.0), "what's the difference between volunteers and rotas?")
    assert a.status == RELATED and a.reason == "focus_unsupported" and len(a.quotes) <= RELATED_QUOTES


def test_a_resource_the_quotes_do_not_name_is_related(doc):
    a = ask(composer(doc, answer_threshold=0.0), "is there a template for thanking volunteers?")
    assert a.status == RELATED and a.reason == "focus_unsupported"


def test_a_word_of_the_question_no_chosen_quote_holds_brings_the_sentence_that_holds_it(doc):
    question = "how do we thank volunteers and share the credit, and the fare?"
    comp = composer(doc, answer_threshold=0.0)
    comp.max_quotes = 2
    comp.scoring = ScoringConfig(cover_terms=False)
    before = ask(comp, question)
    assert before.quotes[0].text.startswith("Thank volunteers often")
    assert not any("fare" in q.text for q in before.quotes)  # outscored by sentences about volunteers
    comp.scoring = ScoringConfig()
    after = ask(comp, question)
    assert after.quotes[0].text == before.quotes[0].text  # the best quote keeps its place
    assert len(after.quotes) == 2 and "bus fare" in after.quotes[-1].text
    assert all(doc.text[q.start:q.end] == q.text for q in after.quotes)


def _related_quotes(doc, question: str, **scoring) -> list[str]:
    comp = composer(doc, answer_threshold=0.95)  # every answer is related
    comp.reranker = PicksReranker("olunteers")  # the two sentences about volunteers come first
    comp.scoring = ScoringConfig(rerank=4.0, **scoring)
    a = ask(comp, question)
    assert a.status == RELATED and len(a.quotes) <= RELATED_QUOTES
    assert all(doc.text[q.start:q.end] == q.text for q in a.quotes)
    return [q.text for q in a.quotes]


def test_a_related_answers_second_passage_gives_way_to_the_sentence_holding_an_asked_word(doc):
    question = "how do we keep volunteers, and who pays the bus fare?"
    before = _related_quotes(doc, question, cover_terms=False)
    assert not any("fare" in q for q in before)
    after = _related_quotes(doc, question)
    assert after[0].startswith("Thank volunteers often") and "bus fare" in after[-1]


def test_a_last_quote_that_alone_holds_an_asked_word_keeps_its_place(doc):
    # "stay" is asked and only "Volunteers stay when they feel valued." holds it: "fare" waits
    quotes = _related_quotes(doc, "do volunteers stay, and who pays the bus fare?")
    assert any("Volunteers stay" in q for q in quotes) and not any("fare" in q for q in quotes)


def test_who_wrote_it_finds_the_byline_even_when_retrieval_missed_it():
    text = ("# Growing together\n\nIn these notes A. Gardener looks back on the season.\n\n## Money\n\n"
            "Seed costs rose sharply this spring. The garden still pays each volunteer's bus fare.\n")
    src = Source(id="garden", title="Growing together", kind="blog", url="https://example.org/garden",
                 author="A. Gardener")
    d = Document(src, text, {}, Path("garden.md"))
    comp = composer(d, threshold=0.0, answer_threshold=0.0)
    money = [c for group in comp.section_index.values() for c in group if "Seed costs" in c.text]
    question = "who wrote these notes?"
    a = comp.compose(question, question, False, [Hit(c, 1.0) for c in money], embed(question))
    assert a.status == ANSWERED
    assert a.quotes[0].text == "In these notes A. Gardener looks back on the season."  # not retrieved, still found
    assert text[a.quotes[0].start:a.quotes[0].end] == a.quotes[0].text


def _notes_with_a_linked_case_study() -> tuple[Composer, str]:
    """Notes by A. Gardener that link to a case study whose text the guide has not read (its
    author is known from the manifest only)."""
    text = ("# Growing together\n\nIn these notes A. Gardener looks back on the season.\n\n## Money\n\n"
            "Seed costs rose sharply this spring. The garden still pays each volunteer's bus fare.\n\n"
            "More reading: Case study - Sharing the harvest with the food bank\n")
    notes = Source(id="garden", title="Growing together", kind="blog", url="https://example.org/garden",
                   author="A. Gardener")
    case = Source(id="harvest", title="Case study - Sharing the harvest with the food bank", kind="case-study",
                  url="https://example.org/harvest", organisation="Hilltop Food Bank", author="B. Baker")
    d = Document(notes, text, {}, Path("garden.md"))
    comp = Composer({d.id: text}, {"garden": notes, "harvest": case}, chunk_document(d), embed_documents,
                    threshold=0.0, answer_threshold=0.0)
    return comp, text


def test_who_wrote_a_case_study_the_notes_only_link_to_is_not_answered_with_their_own_byline():
    comp, text = _notes_with_a_linked_case_study()
    question = "Who wrote the case study about sharing the harvest with the food bank?"
    a = ask(comp, question)
    assert a.status == RELATED and a.reason == "answer_type"
    assert a.message.startswith("The sources I have read don't say who wrote that.")
    assert not any("A. Gardener" in q.text for q in a.quotes)  # the notes' author, not the case study's
    assert [s.id for s in a.unread_sources][:1] == ["harvest"]  # the card names its author (B. Baker)
    assert a.unread_sources[0].author == "B. Baker" and "names this case study" in a.unread_sources[0].why
    # the notes' own author is still found when they are the ones asked about
    mine = ask(comp, "Who wrote the growing together notes?")
    assert mine.status == ANSWERED and mine.quotes[0].text == "In these notes A. Gardener looks back on the season."
    assert ask(comp, "who wrote these notes?").quotes[0].text.startswith("In these notes A. Gardener")


def test_a_quoted_sentence_is_finished_by_the_next_one_when_that_one_points_back():
    text = "# Costs\n\nSeed costs rose sharply this spring. This delayed planting by a fortnight. Rain in April.\n"
    d = Document(Source(id="costs", title="Costs", kind="blog", url="https://example.org/costs"), text, {}, Path("c.md"))
    comp = composer(d, answer_threshold=0.0)
    comp.max_quotes = 1
    comp.scoring = ScoringConfig(carry_on=False)
    assert [q.text for q in ask(comp, "seed costs rose?").quotes] == ["Seed costs rose sharply this spring."]
    comp.scoring = ScoringConfig()
    (q,) = ask(comp, "seed costs rose?").quotes
    assert q.text == "Seed costs rose sharply this spring. This delayed planting by a fortnight."
    assert text[q.start:q.end] == q.text and q.verified  # one verbatim span; "Rain in April." does not point back


@pytest.mark.parametrize("before, pointing, question", [
    ("Seed costs rose sharply this spring.", "This delayed planting by a fortnight.", "what delayed planting by a fortnight?"),
    ("The garden shop sits by the gate.", "Here volunteers collect their seed.", "volunteers collect their seed?"),
    ("Our treasurer is Ann Lee.", "She signs every cheque twice.", "who signs every cheque twice?"),
])
def test_a_quoted_sentence_that_points_back_is_shown_with_the_one_it_points_to(before, pointing, question):
    text = f"# Costs\n\nRain fell all April. {before} {pointing}\n"
    d = Document(Source(id="costs", title="Costs", kind="blog", url="https://example.org/costs"), text, {}, Path("c.md"))
    comp = composer(d, answer_threshold=0.0)
    comp.max_quotes = 1
    comp.scoring = ScoringConfig(carry_back=False)
    assert [q.text for q in ask(comp, question).quotes] == [pointing]
    comp.scoring = ScoringConfig()
    (q,) = ask(comp, question).quotes  # what it points to is named just before; "Rain fell all April." is not quoted
    assert q.text == f"{before} {pointing}"
    assert text[q.start:q.end] == q.text and q.verified


def test_a_sentence_between_two_quoted_ones_joins_them_into_one_span(doc):
    comp = composer(doc)
    (chunk,) = [c for group in comp.section_index.values() for c in group if "Volunteers stay" in c.text]
    cands = [Candidate(chunk, i, sp, chunk.span_text(sp.start, sp.end)) for i, sp in enumerate(chunk.sentences)]
    assert len(cands) >= 3
    # chosen in score order: the third sentence, the first, then the one between them
    quotes = comp._quotes([cands[2], cands[0], cands[1]])
    assert len(quotes) == 1  # not the first sentence shown apart from the rest, after them
    q = quotes[0]
    assert q.start == cands[0].span.start and q.end == cands[2].span.end
    assert normalise(doc.text[q.start:q.end]) == q.text and q.verified


CANAL = """# The canal path

## The route

The towpath route is nearly 12 km long and passes three locks. The canal runs through a wide green valley.

## The locks

The lower lock is 4 m deep.
"""


def small_doc(text: str, source_id: str):
    """A composer over an invented one-source document, with a bag-of-words embedding of its own
    words, and a function asking it a question."""
    words = sorted(set(re.findall(r"[a-z]+", text.lower())))

    def bag(t: str) -> np.ndarray:
        return bag_of_words(t, words)

    src = Source(id=source_id, title=source_id, kind="case_study", url=f"https://example.org/{source_id}")
    d = Document(src, text, {}, Path(f"{source_id}.md"))
    comp = Composer({d.id: d.text}, {d.id: src}, chunk_document(d), lambda ts: [bag(t).tolist() for t in ts],
                    threshold=0.2, answer_threshold=0.0)

    def ask_it(question: str) -> Answer:
        hits = [Hit(c, 1.0 / (i + 1)) for i, group in enumerate(comp.section_index.values()) for c in group]
        return comp.compose(question, question, False, hits, bag(question))

    return comp, ask_it


def test_a_measurement_question_is_answered_only_by_the_asked_measurement_of_the_thing_asked_about():
    comp, ask_canal = small_doc(CANAL, "canal")
    a = ask_canal("How long is the towpath route?")
    assert a.status == ANSWERED and a.quotes[0].text.startswith("The towpath route is nearly 12 km long")
    # the passage about the canal's width gives no figure; the figures elsewhere are a length and a depth
    b = ask_canal("How wide is the canal?")
    assert b.status == RELATED and b.reason == "answer_type"
    assert b.message.startswith("The sources I have read don't say how wide that is.") and b.quotes
    # a depth is given, but of the lock: the sentence about the route gives none
    c = ask_canal("How deep is the towpath route?")
    assert c.status == RELATED and c.reason == "answer_type" and c.signals["asked_type"] == "depth"

    class Labelled:  # example questions cover this source: they judge, not this check
        def covers(self, source_id: str) -> bool:
            return True

        def margin(self, query_vec) -> float:
            return 0.5

    comp.scope = Labelled()
    assert ask_canal("How wide is the canal?").signals["asked_type"] is None


def test_a_question_about_a_year_the_passage_is_not_about_is_related():
    market = ("# The market\n\n## Stalls\n\nIn 2019 the market had twelve stalls. Stallholders pay a weekly fee.\n\n"
              "## Visitors\n\nVisitor numbers rose sharply in 2021.\n")
    comp, ask_market = small_doc(market, "market")
    assert ask_market("How many stalls did the market have in 2019?").status == ANSWERED
    a = ask_market("How many stalls did the market have in 2021?")  # the passage about stalls is about 2019
    assert a.status == RELATED and a.reason == "other_time" and a.signals["years"] == ["2021"]
    assert a.message.startswith("The sources I have read don't say this for 2021.") and a.quotes


def test_a_sentence_naming_another_name_where_the_question_names_its_own_is_related():
    garden = ("# The garden\n\n## Funding\n\nThe Clyde Trust funds the seed library every spring. Volunteers run "
              "the stall.\n\n## Visitors\n\nThe Kelvin Trust sends school groups in summer.\n")
    comp, ask_garden = small_doc(garden, "garden")
    assert ask_garden("What does the Clyde Trust fund every spring?").status == ANSWERED
    a = ask_garden("What does the Kelvin Trust fund every spring?")  # the Clyde Trust funds it
    assert a.status == RELATED and a.reason == "swapped" and a.signals["swapped"] == [("Kelvin", "Clyde")]
    assert "names “Clyde” where you asked about “Kelvin”" in a.message
    assert a.quotes[0].text.startswith("The Clyde Trust funds the seed library")  # shown, as not an answer
    # asked whether it holds, the sentence is the answer ("no, the Clyde Trust does")
    assert ask_garden("Does the Kelvin Trust fund the seed library every spring?").reason != "swapped"


def test_a_question_about_what_is_not_so_is_related_when_the_passage_only_says_what_is():
    hall = ("# The hall\n\n## Keys\n\nThe caretaker and the chair have a key to the hall. Volunteers book the hall "
            "by email.\n")
    comp, ask_hall = small_doc(hall, "hall")
    assert ask_hall("Who has a key to the hall?").status == ANSWERED
    a = ask_hall("Who does not have a key to the hall?")  # the passage only says who has one
    assert a.status == RELATED and a.reason == "negation"
    assert a.message.startswith("The sources I have read don't answer this: you asked about what is not so")
    assert a.quotes[0].text.startswith("The caretaker and the chair have a key")  # shown, as not an answer


def test_an_opposite_in_the_quotes_sentence_closest_to_the_question_is_caught():
    rules = ("# Rules\n\n## Problems\n\nA problem is the abstract question to be solved. An instance is a rather "
             "concrete case of it. An instance is the input.\n\n## Other\n\nThe rota is kept in the hall.\n")
    comp, ask_rules = small_doc(rules, "rules")
    assert ask_rules("What is the abstract question to be solved?").status == ANSWERED
    # the quote's other sentence says "concrete", but the sentence about the question says "abstract"
    a = ask_rules("What is the concrete question to be solved?")
    assert a.status == RELATED and a.reason == "opposite" and a.signals["opposites"] == [("concrete", "abstract")]
