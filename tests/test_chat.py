"""The web chat's behaviour (guide/chat.py), without Gradio or a browser.

Most tests use a stand-in guide whose `ask` returns answers built from the real corpus text, so
they run in milliseconds; the last ones ask the real guide."""

from __future__ import annotations

import logging
import re
import threading
import time
from types import SimpleNamespace

import pytest

from guide.answer.compose import ABSTAIN_MESSAGE, Answer, Reading
from guide.answer.llm import Draft
from guide.web.chat import FRIENDLY_ERROR, STARTER_QUESTIONS, Chat, ChatSession
from guide.sources.corpus import load_documents, load_manifest
from guide.errors import StoreUnavailableError
from guide.web.feedback import FeedbackStore
from guide.answer.quotes import Quote, normalise, passage_link, verify
from guide.settings import Settings

BLOG = "facing-the-challenges"
BLOG_URL = "https://coproductionscotland.org.uk/news/facing-the-challenges-of-co-production-in-difficult-times"
TRUST = "Challenge: Co-production requires trust"


@pytest.fixture(scope="module")
def corpus():
    s = Settings()
    manifest = load_manifest(s.manifest_path)
    docs = {d.id: d for d in load_documents(manifest, s.corpus_dir)}
    return manifest, docs


def quote_of(corpus, sentence: str, *, marker: int = 1, section: str = TRUST, title: str | None = None,
             url: str | None = BLOG_URL):
    manifest, docs = corpus
    text = docs[BLOG].text
    start = text.index(sentence)
    end = start + len(sentence)
    return Quote(text=normalise(sentence), source_id=BLOG, start=start, end=end,
                 verified=verify(sentence, text, start, end), title=title or manifest.get(BLOG).title,
                 section=section, url=url, link=passage_link(url, sentence), marker=marker,
                 organisation="Scottish Co-production Network", kind="paragraph")


from guide.search.embedding import HashEmbeddings  # noqa: E402
from guide.sources.casestudies import CaseStudyMatcher  # noqa: E402


class FakeGuide:
    """Stands in for guide.engine.Guide: same `ask` signature, scripted answers, records calls."""

    def __init__(self, corpus, answers=None, error: Exception | None = None):
        manifest, docs = corpus
        self.settings = Settings(max_question_chars=200)
        self.texts = {k: d.text for k, d in docs.items()}
        self.manifest = manifest
        self.answers = list(answers or [])
        self.error = error
        self.calls: list[dict] = []
        self.chunks = []
        self.case_studies = CaseStudyMatcher(manifest.sources, HashEmbeddings().embed_documents)

    def sources(self):
        return [s.info(has_text=s.id in self.texts) for s in self.manifest.sources]

    def ask(self, question, history=None, source=None):
        self.calls.append({"question": question, "history": list(history or []), "source": source})
        if self.error is not None:
            raise self.error
        a = self.answers.pop(0)
        a.question = question
        return a


def trust_answer(corpus, *, rewritten=False, query=None):
    q1 = quote_of(corpus, "Trust is a commodity that we think about lots when talking about co-production.")
    kq = quote_of(corpus, "What actions can we take to ensure trust is maintained?", marker=0)
    manifest, _ = corpus
    reading_src = manifest.get("building-trust-relationship-based").info()
    rq = quote_of(corpus, "Co-pro example - Building trust through relationship-based practice", marker=0)
    return Answer(question="", query=query or "trust", rewritten=rewritten, status="answered", grounding=0.7,
                  message="", quotes=[q1], key_questions=[kq], further_reading=[Reading(rq, reading_src)])


def abstention():
    return Answer(question="", query="sourdough", rewritten=False, status="not_covered", grounding=0.1,
                  message=ABSTAIN_MESSAGE, nearest_topics=["Keeping the doors open", TRUST])


def plain(markdown: str) -> str:
    """What a reader sees of the engine's escaped Markdown (escapes and entities undone)."""
    import html

    return html.unescape(re.sub(r"\\(.)", r"\1", markdown))


# --- streaming -------------------------------------------------------------------------------

def test_a_ready_answer_is_sent_at_once_with_the_engines_markdown(corpus):
    answer = trust_answer(corpus)
    guide = FakeGuide(corpus, [answer])
    chat = Chat(guide)
    session = ChatSession()
    shown = list(chat.stream(session, "How do we keep trust?"))
    # the question on screen before the engine is asked, then the whole answer as soon as it exists
    assert shown == ["", answer.to_markdown()]
    assert guide.calls == [{"question": "How do we keep trust?", "history": [], "source": None}]
    msgs = session.messages()
    assert [m["role"] for m in msgs] == ["user", "assistant"]
    assert "“Trust is a commodity" in msgs[1]["content"]
    assert f"]({BLOG_URL}#:~:text=" in msgs[1]["content"]


class StreamingGuide(FakeGuide):
    """A guide that writes its answer in parts (as an LLM does): `ask_stream` yields provisional
    `Draft`s, word by word, then the final `Answer`."""

    model_writes = None  # a threading.Event the "model" waits for before its first word, if set

    def ask_stream(self, question, history=None, source=None, *, slot):
        with slot:  # this process's own work: retrieval and composing
            self.calls.append({"question": question, "history": list(history or []), "source": source})
            final = self.answers.pop(0)
            final.question = question
        if self.model_writes is not None:
            self.model_writes.wait(30)  # the model server is writing: no slot held here
        words = "Trust takes time to build [1].".split()
        for n in range(1, len(words) + 1):
            yield Draft(" ".join(words[:n]), final)
        yield final


def test_a_guide_that_writes_in_parts_is_streamed_part_by_part(corpus):
    final = trust_answer(corpus)
    chat = Chat(StreamingGuide(corpus, [final]))
    session = ChatSession()
    shown = []
    for message in chat.stream(session, "How do we keep trust?"):
        shown.append((message, session.last_turn.status))
    assert shown[0] == ("", "pending") and len(shown) == 1 + 6 + 1  # echo, six drafts, the answer
    drafts = [m for m, _ in shown[1:-1]]
    assert "Trust takes\n" in drafts[1] and "Trust takes time to build \\[1\\]." in drafts[-1]
    assert all(status == "pending" for _, status in shown[1:-1])  # a draft is never the finished answer
    assert shown[-1] == (final.to_markdown(), "answered") and session.last_turn.answer is final


def test_waiting_for_a_language_model_holds_no_slot(corpus):
    """With one slot, while the model writes one visitor's answer, another visitor is answered."""
    guide = StreamingGuide(corpus, [trust_answer(corpus), trust_answer(corpus)])
    guide.model_writes = threading.Event()
    chat = Chat(guide, slots=1)
    first: list = []
    writing = threading.Thread(target=lambda: first.append(chat.ask(ChatSession(), "How do we keep trust?")))
    writing.start()
    second: list = []
    other = threading.Thread(target=lambda: second.append(chat.ask(ChatSession(), "And trust again?")))
    while len(guide.calls) < 1:  # the first visitor's retrieval is done; its model is "writing"
        time.sleep(0.01)
    other.start()
    deadline = time.monotonic() + 10
    while len(guide.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(guide.calls) == 2  # the second visitor's retrieval ran while the first's model was writing
    guide.model_writes.set()
    writing.join(timeout=10)
    other.join(timeout=10)
    assert first and first[0].status == "answered" and second and second[0].status == "answered"


def test_a_finished_answer_is_marked_finished_when_it_is_sent(corpus):
    """So the app can send the answer and its panels in one update."""
    answer = trust_answer(corpus)
    chat = Chat(FakeGuide(corpus, [answer]))
    session = ChatSession()
    stream = chat.stream(session, "How do we keep trust?")
    assert next(stream) == "" and session.last_turn.status == "pending"
    assert next(stream) == answer.to_markdown() and session.last_turn.status == "answered"
    assert session.last_turn.answer is answer


class SlowGuide(FakeGuide):
    """Answers take a while and record how many were being worked on at once."""

    def __init__(self, corpus, n):
        super().__init__(corpus, [trust_answer(corpus) for _ in range(n)])
        self.busy = self.most_busy = 0
        self.lock = threading.Lock()

    def ask(self, question, history=None, source=None):
        with self.lock:
            self.busy += 1
            self.most_busy = max(self.most_busy, self.busy)
        time.sleep(0.03)
        with self.lock:
            self.busy -= 1
            return super().ask(question, history, source)


@pytest.mark.parametrize("slots", [1, 2])
def test_answers_are_worked_on_at_most_slots_at_a_time(corpus, slots):
    guide = SlowGuide(corpus, 8)
    chat = Chat(guide, slots=slots)
    threads = [threading.Thread(target=chat.ask, args=(ChatSession(), "How do we keep trust?")) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(guide.calls) == 8
    assert 1 <= guide.most_busy <= slots


def test_an_answer_being_sent_holds_no_slot(corpus):
    """With one slot, a second visitor is answered while the first visitor's answer is still being
    sent (its stream not yet read to the end)."""
    chat = Chat(FakeGuide(corpus, [trust_answer(corpus), trust_answer(corpus)]), slots=1)
    first = chat.stream(ChatSession(), "How do we keep trust?")
    assert next(first) == "" and "Trust is a commodity" in next(first)  # paused mid-send
    done: list = []
    t = threading.Thread(target=lambda: done.append(chat.ask(ChatSession(), "And trust again?")))
    t.start()
    t.join(timeout=10)
    assert done and done[0].status == "answered"
    list(first)


def test_the_next_question_is_answered_from_a_rebuilt_index(corpus):
    old = FakeGuide(corpus, [trust_answer(corpus)])
    new = FakeGuide(corpus, [abstention()])
    new.index_info = {"collection": "guide-new"}
    old.index_info = {"collection": "guide-old"}
    old.refreshed = lambda: old if not old.calls else new  # the pointer moves after the first answer
    new.refreshed = lambda: new
    chat = Chat(old)
    session = ChatSession()
    assert chat.ask(session, "How do we keep trust?").status == "answered"
    assert chat.ask(session, "How do we bake bread?").status == "not_covered"
    assert chat.guide is new and [c["question"] for c in new.calls] == ["How do we bake bread?"]


def test_an_index_that_cannot_be_loaded_leaves_the_old_one_serving(corpus, caplog):
    guide = FakeGuide(corpus, [trust_answer(corpus)])
    guide.index_info = {"collection": "guide-old"}

    def broken():
        raise StoreUnavailableError("the new collection is unreadable")

    guide.refreshed = broken
    chat = Chat(guide)
    with caplog.at_level(logging.ERROR, logger="guide.web.chat"):
        assert chat.ask(ChatSession(), "How do we keep trust?").status == "answered"
    assert chat.guide is guide and "still serving guide-old" in caplog.text


def test_follow_ups_get_the_earlier_turns_as_history(corpus):
    guide = FakeGuide(corpus, [trust_answer(corpus), trust_answer(corpus, rewritten=True, query="why? — trust")])
    chat = Chat(guide)
    session = ChatSession()
    chat.ask(session, "How do we keep trust?")
    chat.ask(session, "x" * 500)  # refused: never reaches the engine and is not history
    turn = chat.ask(session, "Why does that matter?")
    assert len(guide.calls) == 2
    history = guide.calls[1]["history"]
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[0]["content"] == "How do we keep trust?"
    assert "Trust is a commodity" in history[1]["content"]
    # the rewritten query is shown, in the message and in the sources panel
    assert "*Searched for:*" in turn.markdown and "why? — trust" in plain(turn.markdown)
    assert "Searched for:</strong> why? — trust" in chat.sources_panel_html(session)


# --- refusals, abstentions and errors ----------------------------------------------------------

def test_a_long_question_is_refused_with_a_clear_message_and_the_engine_is_not_asked(corpus):
    guide = FakeGuide(corpus)
    chat = Chat(guide)
    session = ChatSession()
    turn = chat.ask(session, "why " * 200)
    assert guide.calls == []
    assert turn.status == "refused"
    assert "799 characters long; the limit is 200" in turn.markdown
    assert "Please shorten it" in turn.markdown
    assert len(session.messages()[0]["content"]) < 500  # the long question is shown shortened
    assert session.history() == []


@pytest.mark.parametrize("blank", ["", "   ", None, "\x00\x01"])
def test_an_empty_question_asks_for_one(corpus, blank):
    turn = Chat(FakeGuide(corpus)).ask(ChatSession(), blank)
    assert turn.status == "refused"
    assert "Please type a question" in turn.markdown or "must be text" in turn.markdown


def test_an_abstention_looks_like_an_honest_abstention(corpus):
    chat = Chat(FakeGuide(corpus, [abstention()]))
    session = ChatSession()
    turn = chat.ask(session, "What's the best sourdough recipe?")
    assert turn.status == "not_covered"
    assert plain(turn.markdown).startswith(f"**{ABSTAIN_MESSAGE}**")  # said first, in bold
    assert "Rather than guess" in turn.markdown
    assert "Keeping the doors open" in turn.markdown
    assert "“" not in turn.markdown and "](" not in turn.markdown  # no quote, no link
    panel = chat.sources_panel_html(session)
    assert "did not answer" in panel and "guide-source'" not in panel
    assert "wasn't answered" in chat.related_html(session)


@pytest.mark.parametrize("error", [RuntimeError("boom: secret internals"),
                                   StoreUnavailableError("the Chroma server at http://x cannot be reached")])
def test_an_engine_error_is_a_friendly_message_and_is_logged(corpus, caplog, error):
    chat = Chat(FakeGuide(corpus, error=error))
    session = ChatSession()
    with caplog.at_level(logging.ERROR, logger="guide.web.chat"):
        turn = chat.ask(session, "How do we keep trust?")
    assert turn.status == "error"
    shown = plain(turn.markdown)
    ref = re.search(r"reference ([0-9a-f]{8})", shown).group(1)
    assert shown == FRIENDLY_ERROR.format(ref=ref)
    assert "Traceback" not in turn.markdown and str(error) not in shown
    [record] = [r for r in caplog.records if r.name == "guide.web.chat"]
    assert ref in record.getMessage() and record.exc_info and record.exc_info[1] is error
    assert session.history() == []  # a failed turn is not history


# --- rendering safety ----------------------------------------------------------------------------

def test_what_a_user_types_is_shown_as_text_not_html(corpus):
    chat = Chat(FakeGuide(corpus, [abstention()]))
    session = ChatSession()
    chat.ask(session, "<script>alert(1)</script><img src=x onerror=alert(2)> [link](javascript:alert(3))")
    user = session.messages()[0]["content"]
    assert "<script" not in user and "<img" not in user
    assert "&lt;script&gt;" in user
    assert "\\[link\\]\\(javascript:alert\\(3\\)\\)" in user  # not a Markdown link
    assert plain(user) == "<script>alert(1)</script><img src=x onerror=alert(2)> [link](javascript:alert(3))"
    panel = chat.sources_panel_html(session)
    assert "<script" not in panel and "&lt;script&gt;" in panel


def test_source_text_in_the_panels_is_escaped(corpus):
    evil = quote_of(corpus, "Trust is a commodity that we think about lots when talking about co-production.",
                    title="<img src=x onerror=alert(1)>", url="javascript:alert(1)")
    answer = Answer(question="", query="q", rewritten=False, status="answered", grounding=1.0, message="",
                    quotes=[evil])
    chat = Chat(FakeGuide(corpus, [answer]))
    session = ChatSession()
    turn = chat.ask(session, "trust?")
    panel = chat.sources_panel_html(session)
    assert "<img" not in panel and "&lt;img src=x onerror=alert(1)&gt;" in panel
    assert "javascript:" not in panel  # a non-http link is not made a link
    assert "<img" not in turn.markdown


# --- sources panel, case studies and scope -----------------------------------------------------

def test_sources_panel_lists_each_passage_with_link_section_organisation_and_badge(corpus):
    chat = Chat(FakeGuide(corpus, [trust_answer(corpus)]))
    session = ChatSession()
    assert "will be listed here" in chat.sources_panel_html(session)
    chat.ask(session, "How do we keep trust?")
    panel = chat.sources_panel_html(session)
    assert panel.count("class='guide-source'") == 1
    assert f"href='{BLOG_URL}#:~:text=Trust%20is%20a%20commodity" in panel
    assert ">[1]</a>" in panel and "✓ verified" in panel
    assert TRUST in panel and "Scottish Co-production Network" in panel and "Blog post" in panel


def test_related_case_studies_come_with_the_reason_that_links_them(corpus):
    chat = Chat(FakeGuide(corpus, [trust_answer(corpus)]))
    session = ChatSession()
    chat.ask(session, "How do we keep trust?")
    related = chat.related_case_studies(session.last_answer)
    assert [r.source.id for r in related] == ["building-trust-relationship-based"]
    assert TRUST in related[0].reason
    html_ = chat.related_html(session)
    assert "Building trust through relationship-based practice" in html_ and "Why:" in html_
    assert "known only by link" in html_


def test_every_manifest_source_has_a_card_saying_whether_it_was_read(corpus):
    chat = Chat(FakeGuide(corpus))
    manifest, _ = corpus
    cards = {s.id: chat.source_card_html(s) for s in chat.sources()}
    assert set(cards) == {s.id for s in manifest.sources}
    assert "Read by the guide" in cards[BLOG] and "Known only by link" not in cards[BLOG]
    for sid in ("ethical-approach", "building-trust-relationship-based", "just-ask-the-experts"):
        assert "Known only by link" in cards[sid]
        assert f"href='{manifest.get(sid).url}'" in cards[sid]
        assert "Case study" in cards[sid]


def test_ask_about_this_one_scopes_the_next_questions(corpus):
    guide = FakeGuide(corpus, [trust_answer(corpus)])
    chat = Chat(guide)
    session = ChatSession()
    assert "every source" in chat.scope_markdown(session)
    assert "only from" in chat.set_scope(session, BLOG)
    assert "Facing the challenges" in chat.scope_markdown(session)
    turn = chat.ask(session, "How do we keep trust?")
    assert guide.calls[0]["source"] == BLOG
    assert turn.markdown.startswith("*Answering only from:* Facing the challenges")
    # a case study known only by link can't be quoted, so it can't be the scope
    notice = chat.set_scope(session, "ethical-approach")
    assert "only by its link" in notice and session.source == BLOG
    chat.set_scope(session, None)
    assert session.source is None


def test_clearing_forgets_the_conversation_and_the_scope(corpus):
    chat = Chat(FakeGuide(corpus, [trust_answer(corpus)]))
    session = ChatSession()
    chat.set_scope(session, BLOG)
    chat.ask(session, "How do we keep trust?")
    session.clear()
    assert session.messages() == [] and session.history() == [] and session.source is None
    assert "will be listed here" in chat.sources_panel_html(session)


def test_starter_questions_exist_and_fit_the_limit():
    assert 3 <= len(STARTER_QUESTIONS) <= 6
    assert all(20 < len(q) < Settings().max_question_chars for q in STARTER_QUESTIONS)


# --- feedback ----------------------------------------------------------------------------------

def test_thumbs_and_a_comment_are_stored_with_question_answer_and_sources(corpus, tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    chat = Chat(FakeGuide(corpus, [abstention(), trust_answer(corpus)]), store=store)
    session = ChatSession()
    chat.ask(session, "Sourdough?")
    chat.ask(session, "How do we keep trust?")
    assert "👍" in chat.record_feedback(session, 3, True)  # message 3 = the second answer
    assert "saved" in chat.add_comment(session, "Exactly what I needed")
    assert "👎" in chat.record_feedback(session, 1, False)  # the abstention
    [second, first] = sorted(store.records(), key=lambda r: r["question"])
    assert first["question"] == "Sourdough?" and first["rating"] == "down" and first["abstained"] is True
    assert second["question"] == "How do we keep trust?" and second["rating"] == "up"
    assert second["comment"] == "Exactly what I needed"
    assert "Trust is a commodity" in second["answer"]
    assert second["sources"][0]["link"].startswith(BLOG_URL + "#:~:text=")
    assert second["sources"][0]["verified"] is True
    # changing your mind updates the same record rather than adding one
    chat.record_feedback(session, 3, False)
    assert store.count() == 2 and store.get(second["id"])["rating"] == "down"
    assert chat.record_feedback(session, 0, True) == "That message can't be rated."  # a user message


def test_feedback_without_a_store_says_so(corpus):
    chat = Chat(FakeGuide(corpus, [trust_answer(corpus)]))
    session = ChatSession()
    chat.ask(session, "trust?")
    assert "can't be saved" in chat.record_feedback(session, 1, True)


def test_a_too_long_comment_is_refused_with_a_clear_message(corpus, tmp_path):
    chat = Chat(FakeGuide(corpus, [trust_answer(corpus)]), store=FeedbackStore(tmp_path / "fb.sqlite3"))
    session = ChatSession()
    chat.ask(session, "trust?")
    assert "the limit is 2,000" in chat.add_comment(session, "x" * 5000)
    assert chat.store.count() == 0


# --- the real guide ------------------------------------------------------------------------------

@pytest.mark.real
def test_the_chat_answers_with_the_real_guides_verbatim_quotes(real_guide):
    chat = Chat(real_guide)
    session = ChatSession()
    question = "How can we keep people's trust when difficult decisions are being made?"
    turn = chat.ask(session, question)
    assert turn.status == "answered"
    assert turn.markdown == real_guide.ask(question).to_markdown()  # the content is Guide.ask's
    blog = normalise(real_guide.texts[BLOG])
    quotes = re.findall(r"^> “(.+?)” \[", turn.markdown, flags=re.M)
    assert quotes
    for q in quotes:
        assert normalise(plain(q)) in blog  # verbatim
    assert f"({BLOG_URL}#:~:text=" in turn.markdown
    # a follow-up is rewritten with the earlier question, and the query used is shown
    follow = chat.ask(session, "What should we ask ourselves about it?")
    assert follow.answer.rewritten and "*Searched for:*" in follow.markdown


@pytest.mark.real
def test_the_real_guide_abstains_on_an_off_topic_question(real_guide):
    turn = Chat(real_guide).ask(ChatSession(), "What is the best recipe for sourdough bread?")
    assert turn.status == "not_covered"
    assert plain(turn.markdown).startswith("**" + ABSTAIN_MESSAGE.rstrip("."))
