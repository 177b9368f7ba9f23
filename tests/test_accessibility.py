"""Accessibility of the web chat (issue 20: WCAG 2.2 AA, as the Public Sector Bodies Accessibility
Regulations ask), in Debian's chromium driven by playwright.

- axe-core (axe-playwright-python ships it: nothing is downloaded) with the WCAG 2.0/2.1/2.2 A and
  AA rules on every tab: Chat with an answered, a related and a not-covered answer on screen (and
  the export controls open), Explore, Evaluate, and the sign-in page, at 1280 px and at 320 px.
  Any serious or critical violation fails; the counts of every impact are printed.
- What axe cannot see: the chat by keyboard alone with a visible focus ring, the answer state in
  words, one announcement of a new answer (a live region, not the streaming log), accessible names
  of citation markers and the verified badge, reflow at 320 px and text at 200%.
- Taking an answer away: the HTML file the Export button gives is downloaded, opened in chromium
  and checked (quotes verbatim and linked, nothing fetched, axe).

The app is `guide serve` with the real model (tests/test_browser.py's `serving`); the sign-in page
runs on the hash embedder (it shows no answers). Reproduce the figures in docs/accessibility.md:
    .venv/bin/python -m pytest tests/test_accessibility.py -v -rA
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from test_browser import SHOTS, WAIT_MS, browser, page, serving  # noqa: F401 (browser, page: fixtures)
from test_export import assert_links_to_its_passage, assert_self_contained, html_quotes, md_quotes, state_questions

pytestmark = [pytest.mark.browser, pytest.mark.real]

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WIDTHS = {"desktop": 1280, "320px": 320}
BLOCKING = ("critical", "serious")
IMPACTS = ("critical", "serious", "moderate", "minor")
STATE_WORDS = {"answered": "Answered from the sources", "related": "Related, not an answer",
               "not_covered": "Not covered by the sources"}
RESULTS = SHOTS / "axe-results.json"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app as `guide serve` runs it (real model, fresh index and data); yields (url, data_dir)."""
    base = tmp_path_factory.mktemp("a11y")
    with serving(base) as (url, _):
        yield url, base / "data"


@pytest.fixture(scope="module")
def questions(real_guide) -> dict[str, str]:
    """A question for each answer state (checked with the same code and corpus as the server)."""
    return state_questions(real_guide)


@pytest.fixture(scope="module")
def sign_in_url(tmp_path_factory):
    from guide.web.auth import Users

    base = tmp_path_factory.mktemp("a11y-auth")
    users = Users(base / "users.txt")
    users.add("ed", "editor", "editor password 1")
    with serving(base, GUIDE_EMBEDDER="hash", GUIDE_ABSTAIN_THRESHOLD="0.05",
                 GUIDE_USERS_FILE=str(users.path)) as (url, _):
        yield url


@pytest.fixture
def report(request):
    """Print one line per axe run (shown without -s) and keep them in tests/screenshots/axe-results.json."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")

    def say(where: str, counts: dict) -> None:
        line = f"axe {where}: " + ", ".join(f"{k} {counts[k]['rules']} ({counts[k]['nodes']} elements)"
                                            for k in IMPACTS)
        if reporter:
            reporter.write_line(line)
        SHOTS.mkdir(parents=True, exist_ok=True)
        old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        RESULTS.write_text(json.dumps({**old, where: counts}, indent=2, sort_keys=True))

    return say


def settle(pg) -> None:
    """Wait until Gradio has finished redrawing (no pending component, no running transition)."""
    pg.wait_for_function("() => !document.querySelector('.pending, .generating') && "
                         "document.getAnimations().every(a => a.playState !== 'running')", timeout=WAIT_MS)
    pg.wait_for_timeout(300)


def axe(pg, where: str, report) -> None:
    """Run axe-core's WCAG 2.0/2.1/2.2 A and AA rules; fail on a serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    settle(pg)
    result = Axe().run(pg, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
    violations = result.response["violations"]
    assert result.response["testEngine"]["name"] == "axe-core"
    counts = {k: {"rules": 0, "nodes": 0} for k in IMPACTS}
    for v in violations:
        counts[v["impact"]]["rules"] += 1
        counts[v["impact"]]["nodes"] += len(v["nodes"])
    report(where, counts)
    blocking = [f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
                for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"{where}:\n" + "\n".join(blocking)


def no_horizontal_scroll(pg, where: str) -> None:
    width = pg.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1] + 1, f"{where}: the page is {width[0]} px wide in a {width[1]} px window"


def ask(pg, question: str) -> None:
    """Type a question and press Enter; wait for the finished answer (its panel is redrawn last)."""
    from playwright.sync_api import expect

    box = pg.locator("#guide-question textarea")
    box.fill(question)
    box.press("Enter")
    expect(pg.locator("#guide-sources")).to_contain_text(f"For: “{question[:30]}", timeout=WAIT_MS)


def focus_ring(pg) -> str | None:
    """How the focused element shows focus ('outline 3px …' / 'box-shadow …'), or None if it does not."""
    return pg.evaluate("""() => {
        const s = getComputedStyle(document.activeElement);
        if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) return `outline ${s.outlineWidth} ${s.outlineColor}`;
        if (s.boxShadow && s.boxShadow !== 'none') return `box-shadow ${s.boxShadow}`;
        return null; }""")


def tab_until(pg, selector: str, *, key: str = "Tab", limit: int = 60) -> list[str]:
    """Press `key` until the focused element matches `selector`; returns what was focused on the
    way (each with a visible focus ring, or the test fails)."""
    seen: list[str] = []
    for _ in range(limit):
        pg.keyboard.press(key)
        here = pg.evaluate("() => { const e = document.activeElement; return e.tagName + ' ' + "
                           "(e.getAttribute('aria-label') || e.innerText || e.placeholder || '').trim().slice(0, 60) }")
        seen.append(here)
        if not here.startswith("BODY"):  # (the document itself, between the last control and the first)
            assert focus_ring(pg), f"{here} has keyboard focus but shows no focus ring (after {seen[:-1]})"
        if pg.evaluate("(sel) => document.activeElement.matches(sel)", selector):
            return seen
    raise AssertionError(f"{selector} not reached by {key} in {limit} presses: {seen}")


# --- the check itself -----------------------------------------------------------------------------
def test_the_axe_check_fails_on_what_it_should(browser):  # noqa: F811
    """The check itself: a page with text at 1.9:1 and an unnamed button is failed, with the rules named."""
    ctx = browser.new_context()
    try:
        pg = ctx.new_page()
        pg.set_content("<!DOCTYPE html><html lang='en-GB'><head><title>t</title></head><body><main>"
                       "<p style='color:#bbbbc2'>Grey on white</p><button></button></main></body></html>")
        with pytest.raises(AssertionError) as failed:
            axe(pg, "a page made to fail", lambda where, counts: None)
        assert "serious color-contrast" in str(failed.value) and "critical button-name" in str(failed.value)
    finally:
        ctx.close()


# --- axe on every tab, at both widths --------------------------------------------------------------
@pytest.mark.parametrize("width", [*WIDTHS, "desktop, dark theme"])
def test_axe_finds_no_serious_violation_on_any_tab(width, page, server, questions, report):
    from playwright.sync_api import expect

    pg = page(width=WIDTHS[width.split(",")[0]], height=900)
    if "dark" in width:  # Gradio's dark theme (what a visitor whose system is set to dark sees)
        pg.emulate_media(color_scheme="dark")
        pg.goto(server[0] + "?__theme=dark")
        pg.locator("#guide-question textarea").wait_for()
        assert pg.evaluate("document.body.classList.contains('dark') || "
                           "!!document.querySelector('.dark')"), "not in the dark theme"
    axe(pg, f"chat, before a question ({width})", report)
    for state in ("answered", "related", "not_covered"):  # all three answer states on screen
        ask(pg, questions[state])
        expect(pg.locator("#guide-sources")).to_contain_text(f"Answer state: {STATE_WORDS[state]}")
    pg.locator("#guide-export-conversation").click()  # and the export controls open
    expect(pg.locator("#guide-export-html a").first).to_be_visible(timeout=WAIT_MS)
    no_horizontal_scroll(pg, f"chat ({width})")
    axe(pg, f"chat: answered, related, not covered, export open ({width})", report)
    slug = re.sub(r"\W+", "-", width)
    pg.screenshot(path=str(SHOTS / f"a11y-chat-{slug}.png"), full_page=True)
    for tab in ("Explore", "Evaluate"):
        pg.get_by_role("tab", name=tab).click()
        expect(pg.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
        no_horizontal_scroll(pg, f"{tab} ({width})")
        axe(pg, f"{tab.lower()} ({width})", report)
        pg.screenshot(path=str(SHOTS / f"a11y-{tab.lower()}-{slug}.png"), full_page=True)
    assert pg.errors == []


@pytest.mark.parametrize("width", list(WIDTHS))
def test_axe_finds_no_serious_violation_on_the_sign_in_page(width, browser, sign_in_url, report):  # noqa: F811
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": WIDTHS[width], "height": 900})
    try:
        pg = ctx.new_page()
        pg.goto(sign_in_url)
        expect(pg.get_by_role("button", name="Login")).to_be_visible(timeout=WAIT_MS)
        expect(pg).to_have_title("Sign in: Co-production Guide")  # WCAG 2.4.2: the page says what it is
        expect(pg.get_by_label("username")).to_be_visible()
        no_horizontal_scroll(pg, f"sign-in ({width})")
        axe(pg, f"sign-in ({width})", report)
        # a wrong password is said, not only shown (WCAG 4.1.3): the alert region gets the error
        alert = pg.get_by_role("alert")
        expect(alert).to_have_text("")
        pg.get_by_label("username").fill("ed")
        pg.get_by_label("password").fill("not the password")
        pg.get_by_role("button", name="Login").click()
        expect(pg.get_by_text("Incorrect Credentials", exact=False).first).to_be_visible(timeout=WAIT_MS)
        expect(alert).to_have_text("Sign-in failed: that user name and password do not match. Please try again.")
        axe(pg, f"sign-in, after a wrong password ({width})", report)
    finally:
        ctx.close()


# --- what axe cannot see ----------------------------------------------------------------------------
def test_the_whole_chat_works_by_keyboard_alone_with_a_visible_focus_ring(page, questions):
    from playwright.sync_api import expect

    pg = page()
    # the page opens with the question box focused; Tab goes round the whole page and back to it:
    # the controls under it, the page's end, the header, the tabs, the starter questions, the box
    assert pg.evaluate("document.activeElement.closest('#guide-question') !== null")
    seen = tab_until(pg, "#guide-question textarea")
    order = [next((i for i, s in enumerate(seen) if s.startswith(p)), -1) for p in
             ("BUTTON Ask", "BUTTON About this guide", "BUTTON Chat", "BUTTON Select example 1")]
    assert order == sorted(order), seen  # a sensible order
    assert focus_ring(pg), "the question box shows no focus"
    pg.keyboard.type(questions["answered"])
    pg.keyboard.press("Enter")
    expect(pg.locator("#guide-sources")).to_contain_text(f"For: “{questions['answered'][:30]}", timeout=WAIT_MS)
    settle(pg)
    # forward: Ask, Clear, the export buttons, then the first citation in the sources panel
    seen = tab_until(pg, "#guide-export-answer")
    assert focus_ring(pg), seen
    pg.keyboard.press("Enter")  # export by keyboard
    expect(pg.locator("#guide-export-md textarea")).to_have_value(re.compile("^# Co-production Guide: an answer"),
                                                                   timeout=WAIT_MS)
    settle(pg)
    assert pg.evaluate("document.activeElement.id") == "guide-export-answer"  # focus stays where it was
    seen = tab_until(pg, "#guide-sources a.guide-chip")
    ring = focus_ring(pg)
    assert ring, f"a citation link in the sources panel shows no focus ({seen})"
    name = pg.evaluate("document.activeElement.getAttribute('aria-label')")
    assert re.fullmatch(r"Quote 1 from .+, opens the source in a new tab", name), name
    # backward from the question box: into the conversation, to a citation marker of the answer
    pg.locator("#guide-question textarea").focus()
    seen = tab_until(pg, "#guide-chat a[href*='#:~:text=']", key="Shift+Tab")
    assert focus_ring(pg), f"a citation marker in the answer shows no focus ({seen})"
    assert re.fullmatch(r"Quote \d from .+, opens the source in a new tab",
                        pg.evaluate("document.activeElement.getAttribute('aria-label')") or "")
    # every control on the way showed a focus ring (tab_until checks each), and none trapped the keyboard
    assert pg.errors == []


def test_a_new_answer_is_announced_once_its_state_said_in_words_and_citations_named(page, questions):
    from playwright.sync_api import expect

    pg = page()
    # the one live region is the status line; the conversation log is not read as it changes
    status = pg.locator("#guide-status [aria-live]")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_have_attribute("role", "status")
    expect(pg.locator("#guide-chat [role=log]")).to_have_attribute("aria-live", "off")
    pg.evaluate("""() => { const el = document.querySelector('#guide-status [aria-live]'); window.__said = [];
        new MutationObserver(() => window.__said.push(el.textContent.trim()))
            .observe(el, {subtree: true, childList: true, characterData: true}); }""")
    expected = {"answered": "Answer ready: answered from the sources, with {n} quote",
                "related": "Answer ready: related, not a direct answer. The {n} quote",
                "not_covered": "Answer ready: not covered by the sources, so nothing is quoted."}
    for state in ("answered", "related", "not_covered"):
        pg.evaluate("window.__said = []")
        ask(pg, questions[state])
        settle(pg)
        bot = pg.locator("#guide-chat [data-testid='bot']").last
        n = bot.locator("blockquote").count()
        values = pg.evaluate("window.__said")
        said = [v for i, v in enumerate(values) if v and (i == 0 or v != values[i - 1])]
        # while it works, at most one "looking" notice; then the answer once, when it is complete
        assert said[-1] == status.inner_text().strip(), said
        assert said[:-1] in ([], ["Looking through the sources for your question…"]), said
        assert said[-1].startswith(expected[state].format(n=n)), said
        # the state in words: in the status line, the sources panel, and (when not an answer) the message
        expect(pg.locator("#guide-sources")).to_contain_text(f"Answer state: {STATE_WORDS[state]}")
        if state == "related":
            expect(bot).to_contain_text(re.compile(r"n't answer this directly"))
            expect(bot).to_contain_text("not an answer to your question")
        elif state == "not_covered":
            expect(bot).to_contain_text("don't cover that")
        live = pg.evaluate("""() => [...document.querySelectorAll('[aria-live], [role=status], [role=log], [role=alert]')]
            .filter(e => e.getAttribute('aria-live') !== 'off' && e.checkVisibility() && e.textContent.trim())
            .map(e => e.closest('#guide-status') ? 'guide-status' : (e.id || e.className) + ': ' + e.textContent.trim().slice(0, 80))""")
        assert live == ["guide-status"], live  # nothing else speaks up
    # citation markers and the verified badge say what they are
    pg.get_by_role("button", name="Clear conversation").click()
    expect(status).to_have_text("Conversation cleared.")  # (and the question box emptied) before typing
    ask(pg, questions["answered"])
    title = "Facing the challenges of co-production in difficult times"
    marker = f"Quote 1 from {title}, opens the source in a new tab"
    expect(pg.locator("#guide-chat").get_by_role("link", name=marker, exact=True)).to_have_text("[1]")
    expect(pg.locator("#guide-sources").get_by_role("link", name=marker, exact=True)).to_have_text("[1]")
    expect(pg.get_by_role("img", name="Verified: quote 1 was checked word for word against the stored source",
                          exact=True)).to_have_text("✓ verified")
    # the other tabs' results (adding documents, managing sources, an evaluation) are said when they come
    pg.get_by_role("tab", name="Evaluate").click()
    expect(pg.locator("#guide-eval-summary [aria-live]")).to_have_attribute("aria-live", "polite")
    pg.get_by_role("tab", name="Explore").click()
    expect(pg.locator("#guide-doc-result [aria-live]")).to_have_attribute("aria-live", "polite")
    pg.get_by_text("Manage sources, feedback and the audit trail").click()
    expect(pg.locator("#guide-manage-result [aria-live]")).to_have_attribute("aria-live", "polite")
    assert pg.errors == []


def test_reflow_at_320_px_and_text_at_200_percent_lose_nothing(browser, server, questions):  # noqa: F811
    from playwright.sync_api import expect

    # 200% zoom of a 1280 x 900 window is a 640 x 450 CSS-pixel viewport at twice the pixel density;
    # 320 px is the same window at 400% (WCAG 1.4.10)
    for where, viewport, scale in (("200% zoom", {"width": 640, "height": 450}, 2), ("320 px", {"width": 320,
                                                                                              "height": 640}, 1)):
        ctx = browser.new_context(viewport=viewport, device_scale_factor=scale)
        try:
            pg = ctx.new_page()
            pg.goto(server[0])
            pg.locator("#guide-question textarea").wait_for()
            ask(pg, questions["answered"])
            settle(pg)
            no_horizontal_scroll(pg, where)
            for sel in ("#guide-question textarea", "#guide-ask", "#guide-export-answer", "#guide-sources a.guide-chip"):
                el = pg.locator(sel).first
                el.scroll_into_view_if_needed()
                expect(el).to_be_in_viewport()
                box = el.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, (where, sel, box)
            # no text cut off: nothing in the answer or the panel is clipped sideways
            clipped = pg.evaluate("""() => [...document.querySelectorAll('#guide-chat .message-content *, #guide-sources *')]
                .filter(e => ['hidden', 'clip'].includes(getComputedStyle(e).overflowX) && e.scrollWidth > e.clientWidth + 1)
                .map(e => e.className)""")
            assert clipped == [], (where, clipped)
            size = pg.locator("#guide-chat [data-testid='bot'] blockquote p").first.evaluate(
                "e => parseFloat(getComputedStyle(e).fontSize)")
            assert size >= 14, (where, size)  # body text is not shrunk to fit
            pg.screenshot(path=str(SHOTS / f"a11y-{where.replace(' ', '-').replace('%', 'pc')}.png"), full_page=True)
        finally:
            ctx.close()


# --- taking an answer away: the downloaded HTML, opened in chromium --------------------------------
def test_the_exported_conversation_downloads_as_html_that_opens_and_quotes_verbatim(page, questions, real_guide,
                                                                                    report, tmp_path):
    from playwright.sync_api import expect

    from guide.evaluation.metrics import in_corpus

    texts = list(real_guide.texts.values())
    pg = page()
    pg.get_by_role("button", name="Export latest answer").click()  # nothing yet: one line says so
    expect(pg.locator("#guide-status")).to_have_text("Ask a question first: there is no answer to export yet.")
    expect(pg.locator("#guide-export-panel")).to_be_hidden()
    for state in ("answered", "not_covered"):
        ask(pg, questions[state])
    pg.get_by_role("button", name="Export conversation").click()
    expect(pg.locator("#guide-status")).to_contain_text("Exported the conversation (2 answers)", timeout=WAIT_MS)
    md = pg.locator("#guide-export-md textarea").input_value()
    assert md.startswith("# Co-production Guide: a conversation")
    assert md_quotes(md) and all(in_corpus(text, texts) for text, _, _ in md_quotes(md))
    with pg.expect_download() as download:
        pg.locator("#guide-export-html a").first.click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert re.fullmatch(r"coproduction-guide-conversation-\d{4}-\d\d-\d\d-\d{4}\.html", path.name)
    page_html = path.read_text(encoding="utf-8")
    assert_self_contained(page_html)
    quotes = html_quotes(page_html)
    assert [q[:3] for q in quotes] == md_quotes(md)  # the same quotes in the Markdown and the file
    for text, _, link, _ in quotes:
        assert in_corpus(text, texts), text  # word for word in the stored source
        assert_links_to_its_passage(text, link,
                                    "https://coproductionscotland.org.uk/news/"
                                    "facing-the-challenges-of-co-production-in-difficult-times")
    # opened in the browser, as the person who downloaded it would
    ctx = pg.context.browser.new_context(viewport={"width": 320, "height": 800})
    try:
        doc = ctx.new_page()
        requests: list[str] = []
        doc.on("request", lambda r: requests.append(r.url))
        doc.goto(path.as_uri())
        expect(doc).to_have_title("Co-production Guide: a conversation")
        expect(doc.get_by_role("heading", level=2)).to_have_count(2)
        expect(doc.get_by_text(f"Answer state: {STATE_WORDS['answered']}")).to_be_visible()
        expect(doc.get_by_text(f"Answer state: {STATE_WORDS['not_covered']}")).to_be_visible()
        first = doc.locator("blockquote .quote-text").first
        expect(first).to_have_text(quotes[0][0])
        expect(doc.get_by_role("link", name=quotes[0][3], exact=True).first).to_have_attribute("href", quotes[0][2])
        assert requests == [path.as_uri()]  # nothing else fetched
        no_horizontal_scroll(doc, "exported HTML at 320 px")
        axe(doc, "exported HTML (320px)", report)
    finally:
        ctx.close()
