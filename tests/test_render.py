"""Presentation (guide/answer/render.py): one wording for a source's status, and escaping in
every format."""

from __future__ import annotations

import re

from guide.answer import render
from guide.answer.compose import ABSTAIN_MESSAGE, Answer, Reading
from guide.answer.quotes import Quote
from guide.sources.corpus import SourceInfo

LINK_ONLY = SourceInfo(id="cafe", title="The <b>cafe</b> [study](javascript:alert(1))", kind="case-study",
                       has_text=False, url="https://example.org/cafe", organisation="A *co-op*")
READ = SourceInfo(id="blog", title="The blog", kind="blog", has_text=True, url="https://example.org/blog")


def reading_answer(src: SourceInfo) -> Answer:
    q = Quote(text="Read <this> one", source_id="blog", start=0, end=15, verified=True, title="The blog",
              section="More reading", url=READ.url, link=READ.url + "#:~:text=Read", marker=1)
    return Answer(question="q", query="q", rewritten=False, status="answered", grounding=1.0, message="",
                  quotes=[q], further_reading=[Reading(q, src)])


def test_a_source_known_by_link_is_worded_the_same_in_every_format():
    a = reading_answer(LINK_ONLY)
    related = [type("R", (), {"source": LINK_ONLY, "reason": "linked"})()]
    shown = [render.answer_text(a), render.answer_markdown(a), render.related_panel(a, related),
             render.source_card(LINK_ONLY)]
    for out in shown:
        assert render.LINK_ONLY in out.replace("Known", "known"), out
        assert render.READ not in out.lower()
    read = reading_answer(READ)
    assert f"({render.READ})" in render.answer_text(read) and render.LINK_ONLY not in render.answer_text(read)
    assert "Read by the guide" in render.source_card(READ)


def test_source_text_is_never_live_markup_in_markdown_or_html():
    a = Answer(question="q", query="q", rewritten=False, status="not_covered", grounding=0.0, message=ABSTAIN_MESSAGE,
               nearest_topics=["<script>x</script>"], unread_sources=[LINK_ONLY])
    md = render.answer_markdown(a)
    assert "<b>" not in md and "<script>" not in md and "](javascript:" not in md
    assert f"[{render.escape_md(LINK_ONLY.title)}](https://example.org/cafe)" in md  # the link is the source's URL
    card = render.source_card(LINK_ONLY)
    assert "<b>" not in card and "&lt;b&gt;cafe&lt;/b&gt;" in card and "A *co-op* · Case study" in card
    evil = SourceInfo(id="x", title="x", kind="case-study", has_text=False, url="javascript:alert(1)")
    assert "javascript:" not in render.source_card(evil) and not re.search(r"<a ", render.source_card(evil))


def test_an_answer_from_a_source_without_example_questions_says_it_was_checked_less_closely():
    # a practitioner's own document has no labelled example questions: its answers pass more
    # non-answers, so every format says so; the blog's answers (scope examples) and hedged answers do not
    def answer(status: str, scope_examples: bool) -> Answer:
        a = reading_answer(READ)
        a.status, a.signals = status, {"scope_examples": scope_examples}
        return a

    def shown(a: Answer) -> list[str]:
        return [render.answer_text(a), render.answer_markdown(a), render.export_markdown([a]),
                render.export_html([a])]

    caution = "Checked less closely"
    assert all(caution in out for out in shown(answer("answered", False)))
    assert not any(caution in out for out in shown(answer("answered", True)))
    assert not any(caution in out for out in shown(answer("related", False)))
    assert answer("answered", False).to_dict()["without_examples"] is True
