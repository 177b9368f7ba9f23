"""Sign-in and roles in a real browser (Debian's chromium driven by playwright).

One `guide serve` process with a users file (an editor and a reader) on a free loopback port:
with users configured, sign-in is required even on 127.0.0.1. The test is about who sees which
controls, not about answers, so the guide runs on the deterministic hash embedder (no model
to load). Screenshots go to tests/screenshots/."""

from __future__ import annotations

import pytest

from test_browser import SHOTS, WAIT_MS, browser, serving  # noqa: F401 (browser: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.real]

PASSWORDS = {"ed": "editor password 1", "rita": "reader password 1"}
QUESTION = "How can we keep people's trust when difficult decisions are being made?"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`guide serve` with GUIDE_USERS_FILE; yields (url, data_dir)."""
    from guide.web.auth import Users

    base = tmp_path_factory.mktemp("web-auth")
    users = Users(base / "users.txt")
    users.add("ed", "editor", PASSWORDS["ed"])
    users.add("rita", "reader", PASSWORDS["rita"])
    with serving(base, GUIDE_EMBEDDER="hash", GUIDE_ABSTAIN_THRESHOLD="0.05",
                 GUIDE_USERS_FILE=str(users.path)) as (url, lines):
        yield url, base / "data"
    output = "".join(lines)
    assert not any(p in output for p in PASSWORDS.values())  # never logged
    assert "Sign-in required" in output


@pytest.fixture
def visitor(browser, server):  # noqa: F811 (the fixture imported above)
    contexts: list = []

    def open_page(width: int = 1280, height: int = 900):
        ctx = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.goto(server[0])
        return pg

    yield open_page
    for ctx in contexts:
        ctx.close()


def sign_in(pg, name: str, password: str | None = None) -> None:
    pg.get_by_label("username").fill(name)
    pg.get_by_label("password").fill(password or PASSWORDS[name])
    pg.get_by_role("button", name="Login").click()


def test_a_visitor_must_sign_in_and_a_wrong_password_is_refused(visitor):
    from playwright.sync_api import expect

    pg = visitor()
    expect(pg.get_by_role("button", name="Login")).to_be_visible(timeout=WAIT_MS)
    assert pg.locator("#guide-question").count() == 0  # nothing of the guide before sign-in
    pg.screenshot(path=str(SHOTS / "sign-in.png"))
    sign_in(pg, "rita", "not her password")
    expect(pg.get_by_text("Incorrect Credentials", exact=False)).to_be_visible(timeout=WAIT_MS)
    assert pg.locator("#guide-question").count() == 0


def test_a_reader_chats_and_rates_but_sees_no_editor_controls(visitor, server):
    from playwright.sync_api import expect

    from guide.web.feedback import FeedbackStore

    pg = visitor()
    sign_in(pg, "rita")
    pg.locator("#guide-question textarea").wait_for(timeout=WAIT_MS)
    expect(pg.locator("#guide-signed-in")).to_contain_text("Signed in as rita (reader)")
    expect(pg.get_by_role("tab", name="Evaluate")).to_have_count(0)
    box = pg.locator("#guide-question textarea")
    box.fill(QUESTION)
    box.press("Enter")
    expect(pg.locator("#guide-sources")).to_contain_text(f"For: “{QUESTION[:30]}", timeout=WAIT_MS)
    pg.locator("#guide-chat button[aria-label='Like']").last.click()
    expect(pg.locator("#guide-status")).to_contain_text("Thanks, saved: 👍")
    pg.get_by_role("tab", name="Explore").click()
    expect(pg.locator(".guide-card").first).to_be_visible()
    expect(pg.locator("#guide-doc-upload")).to_have_count(0)
    expect(pg.locator("#guide-manage")).to_have_count(0)
    expect(pg.locator("#guide-audit")).to_have_count(0)
    pg.screenshot(path=str(SHOTS / "reader-explore.png"), full_page=True)
    [record] = FeedbackStore(server[1] / "feedback.sqlite3").records()
    assert record["user"] == "rita" and record["rating"] == "up" and record["question"] == QUESTION


def test_an_editor_sees_upload_manage_audit_and_evaluate(visitor):
    from playwright.sync_api import expect

    pg = visitor()
    sign_in(pg, "ed")
    pg.locator("#guide-question textarea").wait_for(timeout=WAIT_MS)
    expect(pg.locator("#guide-signed-in")).to_contain_text("Signed in as ed (editor)")
    expect(pg.get_by_role("tab", name="Evaluate")).to_be_visible()
    pg.get_by_role("tab", name="Explore").click()
    expect(pg.locator("#guide-doc-upload")).to_be_visible()
    expect(pg.locator("#guide-doc-add")).to_be_visible()
    pg.locator("#guide-manage").get_by_text("Manage sources, feedback and the audit trail").click()
    expect(pg.locator("#guide-remove")).to_be_visible()
    expect(pg.locator("#guide-export")).to_be_visible()
    expect(pg.locator("#guide-audit")).to_be_visible()
    pg.screenshot(path=str(SHOTS / "editor-explore.png"), full_page=True)
    pg.get_by_role("tab", name="Evaluate").click()
    expect(pg.locator("#guide-eval-run")).to_be_visible()
