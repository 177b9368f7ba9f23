"""The web chat in a real browser (Debian's chromium driven by playwright).

One `guide serve` process (the real app, the real model, a fresh index and
data dir) on a free loopback port is shared by the tests of this module. Screenshots go to
tests/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote

import pytest

from guide.answer.quotes import normalise

pytestmark = [pytest.mark.browser, pytest.mark.real]

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "tests" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
BLOG_URL = "https://coproductionscotland.org.uk/news/facing-the-challenges-of-co-production-in-difficult-times"
TRUST_Q = "How can we keep people's trust when difficult decisions are being made?"
WAIT_MS = 90_000  # the first answer may wait for a busy machine; a wait, never an assertion about speed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(base: Path, **env_extra: str) -> Iterator[tuple[str, list[str]]]:
    """`guide serve` in a subprocess on a free loopback port, with its index and data dirs under
    `base` (plus `env_extra`); yields (url, its output lines); stopped at the end, and no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUIDE_")}
    env.update(GUIDE_INDEX_DIR=str(base / "index"), GUIDE_DATA_DIR=str(base / "data"), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1", **env_extra)
    exe = Path(sys.executable).with_name("guide")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "guide.cli"]
    port = free_port()
    proc = subprocess.Popen(cmd + ["serve", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    ready = threading.Event()
    url: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            m = re.search(r"running at (http://\S+)", line)
            if m:
                url.append(m.group(1))
                ready.set()
        ready.set()  # the process ended

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(300) or not url:
            pytest.fail("guide serve did not start:\n" + "".join(lines[-40:]))
        assert url[0].startswith(f"http://127.0.0.1:{port}")  # loopback only, the port asked for
        yield url[0], lines
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()
    assert not any("Traceback" in ln for ln in lines), "".join(lines)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app as `guide serve` runs it; yields (url, data_dir)."""
    base = tmp_path_factory.mktemp("web")
    with serving(base) as (url, _):
        yield url, base / "data"


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Debian's chromium is not installed (`make browser` installs it)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh visitor (new browser context = new chat session) on the app's page."""
    def open_page(width: int = 1280, height: int = 900):
        ctx = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.goto(server[0])
        pg.locator("#guide-question textarea").wait_for()
        pg.errors = errors
        return pg

    contexts: list = []
    yield open_page
    for ctx in contexts:
        ctx.close()


def ask(pg, question: str) -> None:
    """Type a question and press Enter, then wait until the answer is complete (the sources panel
    is redrawn for this question at the very end of the stream)."""
    from playwright.sync_api import expect

    box = pg.locator("#guide-question textarea")
    box.fill(question)
    box.press("Enter")
    expect(pg.locator("#guide-sources")).to_contain_text(f"For: “{question[:30]}", timeout=WAIT_MS)


def last_bot(pg):
    return pg.locator("#guide-chat [data-testid='bot']").last


@pytest.fixture(scope="module")
def corpus():
    from guide.sources.corpus import load_documents, load_manifest
    from guide.settings import Settings

    s = Settings()
    manifest = load_manifest(s.manifest_path)
    return manifest, {d.id: d.text for d in load_documents(manifest, s.corpus_dir)}


def test_an_answer_quotes_the_blog_verbatim_and_links_to_the_passage(page, corpus):
    from playwright.sync_api import expect

    manifest, texts = corpus

    pg = page()
    expect(pg).to_have_title(re.compile("Co-production Guide"))
    ask(pg, TRUST_Q)
    bot = last_bot(pg)
    first_quote = bot.locator("blockquote p").first.inner_text()
    m = re.match(r"^“(.+)” \[(\d+)\]$", first_quote.strip())
    assert m, first_quote
    blog = normalise(texts["facing-the-challenges"])
    assert normalise(m.group(1)) in blog  # word for word from the blog
    marker = bot.locator("blockquote a").first
    href = marker.get_attribute("href")
    assert href.startswith(BLOG_URL + "#:~:text=")
    assert marker.get_attribute("target") == "_blank"
    start_words = unquote(href.split("#:~:text=", 1)[1].split(",")[0])
    assert m.group(1).startswith(start_words)  # the link scrolls to this very quote
    # the sources panel beside the chat: the passage, its section, organisation, link and badge
    panel = pg.locator("#guide-sources")
    expect(panel.locator(".guide-source").first).to_contain_text("Facing the challenges of co-production")
    expect(panel).to_contain_text("Scottish Co-production Network")
    expect(panel).to_contain_text("✓ verified")
    assert panel.locator(f"a.guide-chip[href^='{BLOG_URL}#:~:text=']").count() >= 1
    expect(bot).to_contain_text("Questions to reflect on")
    pg.screenshot(path=str(SHOTS / "answer-desktop.png"), full_page=True)
    # explore the case studies the answer links to, and scope the next questions to one source
    pg.get_by_role("tab", name="Explore").click()
    expect(pg.locator("#guide-related")).to_contain_text("Why:")
    expect(pg.locator(".guide-card:not(.guide-casestudy)")).to_have_count(len(manifest.sources))
    expect(pg.locator(".guide-card").get_by_text("Known only by link: not read yet").first).to_be_visible()
    # one person on 127.0.0.1: no sign-in, and every control (upload, manage, evaluate) is there
    expect(pg.locator("#guide-doc-upload")).to_be_visible()
    expect(pg.locator("#guide-manage")).to_be_visible()
    expect(pg.get_by_role("tab", name="Evaluate")).to_be_visible()
    assert pg.locator("#guide-signed-in").count() == 0
    pg.screenshot(path=str(SHOTS / "explore-desktop.png"), full_page=True)
    pg.locator("#guide-scope-facing-the-challenges").click()
    expect(pg.locator("#guide-scope")).to_contain_text("Answering only from: Facing the challenges")
    assert pg.errors == []


def test_an_off_blog_question_names_the_case_study_that_addresses_it_and_explore_ranks_the_cards(page):
    from playwright.sync_api import expect

    rewards = "https://coproductionscotland.org.uk/resources/recognising-and-rewarding-co-design"
    pg = page()
    ask(pg, "Should we give young co-designers vouchers or cash for their time?")
    bot = last_bot(pg)
    expect(bot).to_contain_text("The sources I have read don't cover that.")
    expect(bot.locator(f"a[href='{rewards}']")).to_have_text("Recognising and rewarding co-design")
    expect(bot).to_contain_text("Glasgow Council for the Voluntary Sector")
    expect(bot).to_contain_text("known only by link")
    expect(bot).to_contain_text("Why: Your question is close in meaning to “")
    expect(bot).to_contain_text("About this case study (our summary): A Glasgow policy")
    assert bot.locator("blockquote").count() == 0  # nothing quoted, and our summary is not a quote
    pg.screenshot(path=str(SHOTS / "not-covered-case-study.png"), full_page=True)

    pg.get_by_role("tab", name="Explore").click()
    expect(pg.locator("#guide-related")).to_contain_text("Recognising and rewarding co-design")
    expect(pg.locator("#guide-related")).to_contain_text("Why: Your question is close in meaning to “")
    cards = pg.locator("#guide-casestudies .guide-casestudy")
    expect(cards).to_have_count(5)
    for i in range(5):
        expect(cards.nth(i)).to_contain_text("About this case study (our summary):")
        expect(cards.nth(i)).to_contain_text("Case-study hub section:")
        expect(cards.nth(i)).to_contain_text("guide corpus fetch")
    expect(cards.filter(has_text="Zsara McEwan")).to_contain_text("Recognising and rewarding co-design")
    expect(cards.filter(has_text="Stevan Sutherland")).to_contain_text(
        "Linked from the blog section “Challenge: Co-production requires trust”")
    box = pg.locator("#guide-cs-topic textarea, #guide-cs-topic input").first
    box.fill("paying people with lived experience")
    box.press("Enter")
    expect(pg.locator("#guide-casestudies h3")).to_contain_text("closest to “paying people with lived experience”",
                                                                timeout=WAIT_MS)
    expect(cards.first).to_contain_text("Recognising and rewarding co-design")
    expect(cards.first).to_contain_text("Why: Your topic is close in meaning to “")
    expect(cards).to_have_count(5)
    pg.screenshot(path=str(SHOTS / "explore-case-studies.png"), full_page=True)
    # a blog challenge ranks them too: the case study the blog links from it first
    box.fill("")
    pg.locator("#guide-cs-challenge input").click()
    pg.get_by_role("option", name="Challenge: Co-production requires trust").click()
    expect(pg.locator("#guide-casestudies h3")).to_contain_text("for “Challenge: Co-production requires trust”",
                                                                timeout=WAIT_MS)
    expect(cards.first).to_contain_text("Building trust through relationship-based practice")
    expect(cards.first).to_contain_text("Why: The blog links to it from “Challenge: Co-production requires trust”.")
    expect(cards).to_have_count(5)
    assert pg.errors == []


def test_a_starter_question_can_be_clicked_and_the_about_panel_says_what_was_read(page):
    from playwright.sync_api import expect

    pg = page()
    pg.get_by_text("About this guide").click()
    expect(pg.locator("#guide-about")).to_contain_text("What it has read (1)")
    starter = pg.locator("#guide-chat button.example").first
    text = starter.inner_text().strip()
    starter.click()
    expect(pg.locator("#guide-chat [data-testid='user']").first).to_have_text(text)
    expect(pg.locator("#guide-sources")).to_contain_text(f"For: “{text[:30]}", timeout=WAIT_MS)
    expect(last_bot(pg).locator("blockquote").first).to_be_visible()
    assert pg.errors == []


def test_an_off_topic_question_gets_an_honest_abstention_and_clear_starts_again(page):
    from playwright.sync_api import expect

    pg = page()
    ask(pg, "What is the best recipe for sourdough bread?")
    bot = last_bot(pg)
    expect(bot).to_contain_text("The sources I have read don't cover that")
    expect(bot).to_contain_text("Rather than guess")
    assert bot.locator("blockquote").count() == 0
    expect(pg.locator("#guide-sources")).to_contain_text("did not answer")
    pg.screenshot(path=str(SHOTS / "abstention-desktop.png"), full_page=True)
    pg.locator("#guide-clear").click()
    expect(pg.locator("#guide-chat [data-testid='user']")).to_have_count(0)
    expect(pg.locator("#guide-chat button.example").first).to_be_visible()  # the starters are back
    assert pg.errors == []


def test_thumbs_up_and_a_comment_are_stored_with_the_question_and_sources(page, server):
    from playwright.sync_api import expect

    from guide.web.feedback import FeedbackStore

    pg = page()
    ask(pg, TRUST_Q)
    expect(last_bot(pg)).to_contain_text("“", timeout=WAIT_MS)  # the finished answer is on screen
    pg.locator("#guide-chat button[aria-label='Like']").last.click()
    expect(pg.locator("#guide-status")).to_contain_text("Thanks, saved: 👍")
    pg.locator("#guide-comment textarea").fill("Useful for our team meeting")
    pg.locator("#guide-send-comment").click()
    expect(pg.locator("#guide-status")).to_contain_text("your comment was saved")
    [record] = FeedbackStore(server[1] / "feedback.sqlite3").records()
    assert record["question"] == TRUST_Q and record["rating"] == "up"
    assert record["comment"] == "Useful for our team meeting"
    assert record["sources"] and record["sources"][0]["link"].startswith(BLOG_URL + "#:~:text=")
    assert record["answer"].startswith("“")  # the answer as shown, in plain text
    assert record["user"] == "anonymous"  # no sign-in on loopback


def test_html_typed_by_a_user_is_shown_as_text_and_long_input_is_refused_at_phone_width(page):
    from playwright.sync_api import expect

    pg = page(width=390, height=844)
    payload = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned2 = 1"> bread?'
    ask(pg, payload)
    user = pg.locator("#guide-chat [data-testid='user']").last
    expect(user).to_have_text(payload)  # the literal characters, as typed
    assert pg.locator("#guide-chat script").count() == 0
    assert pg.locator("#guide-chat img[src='x'], #guide-sources img").count() == 0
    assert pg.evaluate("[typeof window.__pwned, typeof window.__pwned2]") == ["undefined", "undefined"]
    # readable at phone width: nothing wider than the screen
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390
    pg.screenshot(path=str(SHOTS / "script-as-text-phone.png"), full_page=True)
    box = pg.locator("#guide-question textarea")
    box.fill("trust " * 300)
    pg.locator("#guide-ask").click()
    expect(last_bot(pg)).to_contain_text("the limit is 1,000", timeout=WAIT_MS)
    expect(box).to_have_value(re.compile("^trust trust"))  # kept, so it can be shortened
    ask(pg, TRUST_Q)
    pg.screenshot(path=str(SHOTS / "answer-phone.png"), full_page=True)
    assert pg.errors == []
