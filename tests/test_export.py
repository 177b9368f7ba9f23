"""Taking an answer away (issue 20): an answer or a whole conversation as Markdown to copy and as
a self-contained HTML file (guide/answer/render.py `export_markdown` / `export_html`, the web
chat's Export buttons, `guide ask --format md|html`).

What a reader of the file must be able to rely on: every quote in it is word for word in the
stored source (the same check as the quotes shown in the chat, guide.evaluation.metrics.in_corpus)
and links to its passage; the answer state is said in words; the sources and the date are there;
the HTML needs nothing from anywhere else."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote

import pytest

from guide.answer import render
from guide.evaluation.metrics import in_corpus

REPO = Path(__file__).resolve().parent.parent
BLOG_URL = "https://coproductionscotland.org.uk/news/facing-the-challenges-of-co-production-in-difficult-times"
WHEN = datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc)

# Questions and the answer state the real model gives them, first match wins (the states are
# re-checked by `state_questions`, so a change in answer judgement picks another question
# rather than testing the wrong state).
CANDIDATES = {
    "answered": ["How can we keep people's trust when difficult decisions are being made?",
                 "What can we do when the people driving a project have to step back?"],
    "related": ["How should we reward young people who help co-design our service?",
                "How do we measure the impact of co-production?",
                "What does co-production mean for commissioning?",
                "What training do staff need for co-production?"],
    "not_covered": ["Which train gets me to Aberdeen before 9am?",
                    "What is the best recipe for sourdough bread?"],
}
STATE_WORDS = {"answered": "Answered from the sources", "related": "Related, not an answer",
               "not_covered": "Not covered by the sources"}

_MD_QUOTE = re.compile(r"^> “(?P<text>.+)” \[\\\[(?P<marker>\d+)\\\]\]\((?P<link>[^)\s]+)\)$", re.M)
_MD_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def state_questions(guide) -> dict[str, str]:
    """One question per answer state, checked against the guide."""
    out = {}
    for state, questions in CANDIDATES.items():
        out[state] = next((q for q in questions if guide.ask(q).status == state), None)
        assert out[state], f"none of the candidate questions gives {state!r} any more: add one"
    return out


def md_quotes(md: str) -> list[tuple[str, int, str]]:
    """(quote text as a Markdown renderer shows it, marker, link) of every quote in an export."""
    return [(_MD_UNESCAPE.sub(r"\1", m["text"]), int(m["marker"]), m["link"]) for m in _MD_QUOTE.finditer(md)]


def html_quotes(page: str) -> list[tuple[str, int, str, str]]:
    """(quote text, marker, link, link's accessible name) of every quote in an exported HTML file."""
    from lxml import html as lhtml

    doc = lhtml.fromstring(page)
    out = []
    for bq in doc.xpath("//blockquote[@class='quote']"):
        [text] = bq.xpath(".//span[@class='quote-text']")
        [a] = bq.xpath(".//a[@class='marker']")
        out.append((text.text_content(), int(a.text_content().strip("[]")), a.get("href"), a.get("aria-label")))
    return out


def assert_links_to_its_passage(text: str, link: str, source_url: str) -> None:
    assert link.startswith(source_url + "#:~:text="), link
    start = unquote(link.split("#:~:text=", 1)[1].split(",")[0])
    assert text.startswith(start), (start, text)  # the link scrolls to this very quote


def assert_self_contained(page: str) -> None:
    from lxml import html as lhtml

    doc = lhtml.fromstring(page)
    assert doc.get("lang") == "en-GB" and doc.xpath("//head/style") and doc.xpath("//head/title")
    assert not doc.xpath("//script|//link|//img|//iframe|//object|//embed")  # nothing to fetch or run
    assert not [e for e in doc.iter() if isinstance(e.tag, str) and (e.get("src") or e.get("srcset"))]
    assert "url(" not in page and "@import" not in page
    assert all(h.startswith("https://") for h in doc.xpath("//a/@href"))  # only links out, to the sources


# --- with the real model: the three answer states ---------------------------------------------------
@pytest.fixture(scope="module")
def answers(real_guide):
    return {state: real_guide.ask(q) for state, q in state_questions(real_guide).items()}


@pytest.mark.real
@pytest.mark.parametrize("state", list(CANDIDATES))
def test_an_exported_answer_has_its_state_every_quote_verbatim_and_linked_the_sources_and_the_date(
        state, answers, real_guide):
    a = answers[state]
    texts = list(real_guide.texts.values())
    md, page = render.export_markdown([a], WHEN), render.export_html([a], WHEN)
    for out in (md, page):
        assert f"Answer state:{'**' if out is md else ''} {STATE_WORDS[state]}" in out
        assert render.STATUS_EXPLAINED[state] in out
        assert "7 December 2026 at 09:30 UTC" in out
        assert a.question.replace("'", "&#39;" if out is page else "'") in out
    shown = {q.marker: q for q in a.quotes}
    for quotes in (md_quotes(md), [q[:3] for q in html_quotes(page)]):
        assert sorted(m for _, m, _ in quotes) == sorted(shown)  # every quote of the answer, none added
        for text, marker, link in quotes:
            assert in_corpus(text, texts), text  # word for word from a stored source
            assert text == shown[marker].text and link == shown[marker].link
            assert_links_to_its_passage(text, link, shown[marker].url)
    for _, marker, _, name in html_quotes(page):
        assert name == f"Quote {marker} from {shown[marker].title}, opens the source"
    if a.quotes:  # the source list: title, organisation and address of what was quoted
        assert "**Sources**" in md and f"]({BLOG_URL})" in md and "Scottish Co-production Network" in md
        assert f'<a href="{BLOG_URL}">Facing the challenges of co-production in difficult times</a>' in page
    else:
        assert "**Sources**" not in md and "<h3>Sources</h3>" not in page
        assert "nothing is quoted" in md and "<blockquote" not in page
    if state == "related":
        assert render.NOT_AN_ANSWER in md and render.NOT_AN_ANSWER in page
    for src in a.unread_sources:  # the case study that addresses it, its link and why (known by link only)
        assert f"[{render.escape_md_inline(src.title)}]({src.url})" in md and f'<a href="{src.url}">' in page
        assert f"Why: {render.escape_md_inline(src.why)}" in md
    assert_self_contained(page)


@pytest.mark.real
def test_an_exported_conversation_has_every_question_in_order(answers):
    convo = [answers["answered"], answers["not_covered"], answers["related"]]
    md, page = render.export_markdown(convo), render.export_html(convo)
    today = datetime.now(timezone.utc)
    for out in (md, page):
        assert "a conversation" in out and f"{today.day} {today:%B %Y}" in out
        heads = [out.index(f"Question {i}: ") for i in (1, 2, 3)]
        assert heads == sorted(heads)
    assert len(md_quotes(md)) == sum(len(a.quotes) for a in convo) == len(html_quotes(page))
    assert [STATE_WORDS[a.status] for a in convo] == re.findall(r"Answer state:\*\* ([^.]+)\.", md)
    assert_self_contained(page)


@pytest.mark.real
def test_text_typed_by_a_visitor_is_text_in_both_exports(real_guide):
    a = real_guide.ask("<script>alert(1)</script> How do we keep [people's](javascript:x) trust?")
    md, page = render.export_markdown([a]), render.export_html([a])
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    from markdown_it import MarkdownIt  # a CommonMark renderer, as a reader's editor would use

    shown = MarkdownIt("commonmark").render(md)  # raw HTML allowed, as CommonMark does
    assert "<script>" not in shown and "javascript:" not in re.findall(r'href="([^"]*)"', shown).__str__()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; How do we keep [people's](javascript:x) trust?" in shown
    assert_self_contained(page)


# --- the terminal: guide ask --format md|html --------------------------------------------------------
def guide(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "guide.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300, cwd=REPO)


HASH = {"GUIDE_EMBEDDER": "hash", "GUIDE_ABSTAIN_THRESHOLD": "0.05"}  # no model to load


def test_guide_ask_format_md_and_html_print_the_export_with_verbatim_linked_quotes():
    from guide.settings import Settings
    from guide.sources.corpus import load_documents, load_manifest

    s = Settings()
    texts = [d.text for d in load_documents(load_manifest(s.manifest_path), s.corpus_dir)]
    q = "How can we keep people's trust when difficult decisions are being made?"
    md = guide("ask", q, "--format", "md", env=HASH)
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# Co-production Guide: an answer\n")
    assert f"## Question: {q}" in md.stdout and "**Answer state:** " in md.stdout
    page = guide("ask", q, "--format", "html", env=HASH)
    assert page.returncode == 0 and page.stdout.startswith("<!DOCTYPE html>")
    quoted = md_quotes(md.stdout)
    assert quoted and [x[:3] for x in html_quotes(page.stdout)] == quoted  # the same quotes in both
    for text, _, link in quoted:
        assert in_corpus(text, texts)
        assert_links_to_its_passage(text, link, BLOG_URL)
    assert_self_contained(page.stdout)
    text = guide("ask", q, env=HASH)  # plain text stays the default
    assert text.returncode == 0 and not text.stdout.startswith("#") and "“" in text.stdout


@pytest.mark.parametrize("args, message", [
    (("--format", "pdf"), "error: --format must be one of text, md, html, not 'pdf'"),
    (("--format", "md", "--json"), "error: choose --json or --format, not both"),
])
def test_a_bad_format_is_one_line(args, message):
    r = guide("ask", "How do we rebuild trust?", *args, env=HASH)
    assert r.returncode == 1 and r.stdout == "" and r.stderr.strip() == message


# --- the web chat's export (guide/web/chat.py Chat.export), without a model -----------------------------
from test_chat import FakeGuide, abstention, corpus, trust_answer  # noqa: E402,F401 (corpus: a fixture)


def test_the_chat_exports_the_latest_answer_or_every_answered_turn_and_nothing_before_a_question(corpus):  # noqa: F811
    from guide.web.chat import Chat, ChatSession

    chat = Chat(FakeGuide(corpus, [trust_answer(corpus), abstention()]))
    session = ChatSession()
    assert chat.export(session, "answer") is None and chat.export(session, "conversation") is None
    chat.ask(session, "")  # refused: not in an export
    chat.ask(session, "How do we keep trust?")
    chat.ask(session, "Best sourdough recipe?")
    latest, whole = chat.export(session, "answer"), chat.export(session, "conversation")
    assert latest.answers == 1 and "## Question: Best sourdough recipe?" in latest.markdown
    assert "Not covered by the sources" in latest.markdown and "“" not in latest.markdown.split("## Question")[1]
    assert whole.answers == 2 and whole.markdown.index("Question 1: How do we keep trust?") < whole.markdown.index(
        "Question 2: Best sourdough recipe?")
    assert whole.html_path.name.startswith("coproduction-guide-conversation-") and whole.html_path.suffix == ".html"
    page = whole.html_path.read_text(encoding="utf-8")
    assert [q[:3] for q in html_quotes(page)] == md_quotes(whole.markdown)
    [(text, marker, link, _)] = html_quotes(page)
    assert in_corpus(text, [d.text for d in corpus[1].values()]) and marker == 1
    assert_links_to_its_passage(text, link, BLOG_URL)
    with pytest.raises(ValueError):
        chat.export(session, "everything")
