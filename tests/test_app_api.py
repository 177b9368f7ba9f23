"""The web app through its API (gradio_client): the same answer path as the browser, without one.

The app runs in this process on a free loopback port with the real guide."""

from __future__ import annotations

import html
import re
import socket
import subprocess
import sys

import pytest

from guide.answer.quotes import normalise

BLOG = "facing-the-challenges"
BLOG_URL = "https://coproductionscotland.org.uk/news/facing-the-challenges-of-co-production-in-difficult-times"
TRUST_Q = "How can we keep people's trust when difficult decisions are being made?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def text_of(message: dict) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def plain(markdown: str) -> str:
    return html.unescape(re.sub(r"\\(.)", r"\1", markdown))


@pytest.fixture(scope="module")
def app(real_guide, tmp_path_factory):
    from guide.web.app import launch
    from guide.web.chat import Chat
    from guide.web.feedback import FeedbackStore

    store = FeedbackStore(tmp_path_factory.mktemp("api-data") / "feedback.sqlite3")
    chat = Chat(real_guide, store=store)
    demo, url = launch(chat, host="127.0.0.1", port=free_port(), block=False)
    try:
        yield url, chat
    finally:
        demo.close()


@pytest.fixture
def client(app):
    from gradio_client import Client

    c = Client(app[0], verbose=False, download_files=False)
    yield c
    c.close()


def ask(client, question: str) -> list[tuple]:
    """Every streamed output of one question, in order."""
    job = client.submit(question, api_name="/ask")
    return list(job)


@pytest.mark.real
def test_the_api_streams_a_verbatim_cited_answer_from_guide_ask(app, client, real_guide):
    url, chat = app
    outputs = ask(client, TRUST_Q)
    assert len(outputs[0][0]) == 1  # the question is on screen first
    assert len(outputs) == 2, "the answer and its panels are sent in one update as soon as it is composed"
    final_chat, _, sources_html, related_html, _ = outputs[-1]
    assert text_of(final_chat[0]) == TRUST_Q
    answer = text_of(final_chat[1])
    assert answer == real_guide.ask(TRUST_Q).to_markdown()  # the content is exactly Guide.ask's
    quotes = re.findall(r"^> “(.+?)” \[", answer, flags=re.M)
    assert quotes and all(normalise(plain(q)) in normalise(real_guide.texts[BLOG]) for q in quotes)
    assert re.search(re.escape(f"]({BLOG_URL}#:~:text=") + r"[^)\s]+( \"[^\"]*\")?\)", answer)
    assert "✓ verified" in sources_html and f"href='{BLOG_URL}#:~:text=" in sources_html
    assert "Why:" in related_html  # the related case study, with its reason


@pytest.mark.real
def test_a_follow_up_in_the_same_session_shows_the_query_used_and_clear_forgets_it(app, client):
    from gradio_client import Client

    ask(client, TRUST_Q)
    final = ask(client, "What should we ask ourselves about it?")[-1]
    follow = text_of(final[0][-1])
    assert follow.startswith("*Searched for:*") and "keep people's trust" in plain(follow)
    assert "Searched for:</strong>" in final[2]
    other = Client(app[0], verbose=False, download_files=False)  # another visitor has their own conversation
    try:
        theirs = ask(other, "What should we ask ourselves about it?")[-1]
        assert len(theirs[0]) == 2 and "keep people's trust" not in plain(text_of(theirs[0][-1]))
    finally:
        other.close()
    client.predict(api_name="/clear")
    fresh = ask(client, "What should we ask ourselves about it?")[-1]
    assert len(fresh[0]) == 2  # only the new question and its answer
    assert "keep people's trust" not in plain(text_of(fresh[0][-1]))


@pytest.mark.real
def test_an_off_topic_question_gets_an_abstention(client):
    final = ask(client, "What is the best recipe for sourdough bread?")[-1]
    answer = plain(text_of(final[0][-1]))
    assert answer.startswith("**The sources I have read don't cover that")
    assert "“" not in answer and "#:~:text=" not in answer
    assert "did not answer" in final[2]


@pytest.mark.real
def test_a_too_long_question_is_refused_with_a_clear_message(client, real_guide):
    limit = real_guide.settings.max_question_chars
    final = ask(client, "trust " * limit)[-1]
    answer = plain(text_of(final[0][-1]))
    assert f"the limit is {limit:,}" in answer and "Please shorten it" in answer
    assert "Traceback" not in answer


@pytest.mark.real
def test_an_engine_error_is_a_friendly_message_in_the_chat_and_is_logged(real_guide, caplog):
    from gradio_client import Client

    from guide.web.app import launch
    from guide.web.chat import Chat

    class BrokenGuide:  # the real guide, except that answering fails deep inside
        settings, texts, sources = real_guide.settings, real_guide.texts, real_guide.sources
        chunks, case_studies = real_guide.chunks, real_guide.case_studies

        def ask(self, *args, **kwargs):
            raise RuntimeError("chroma segment file vanished at /srv/secret/path")

    demo, url = launch(Chat(BrokenGuide()), host="127.0.0.1", port=free_port(), block=False)
    try:
        c = Client(url, verbose=False, download_files=False)
        with caplog.at_level("ERROR", logger="guide.web.chat"):
            final = ask(c, TRUST_Q)[-1]
        c.close()
    finally:
        demo.close()
    shown = plain(text_of(final[0][-1]))
    assert shown.startswith("Sorry, something went wrong") and "reference" in shown
    assert "secret" not in shown and "Traceback" not in shown
    assert any("vanished" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_importing_the_cli_does_not_import_gradio():
    code = "import sys, guide.cli; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_first_run_builds_the_missing_index_and_says_so_once(tmp_path):
    from guide.engine import FIRST_BUILD_MESSAGE, Guide, open_or_build
    from guide.errors import IndexMissingError
    from guide.settings import Settings

    settings = Settings.from_env(embedder="hash")
    with pytest.raises(IndexMissingError):
        Guide.open(settings)
    messages: list[str] = []
    guide = open_or_build(settings, on_build=messages.append)
    assert guide.chunks and messages == [FIRST_BUILD_MESSAGE]
    assert open_or_build(settings, on_build=messages.append).index_info == guide.index_info
    assert messages == [FIRST_BUILD_MESSAGE]  # built once


def test_serve_on_a_busy_port_says_so_in_one_line(monkeypatch):
    from click.testing import CliRunner

    from guide.cli.commands import main

    monkeypatch.setenv("GUIDE_EMBEDDER", "hash")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
