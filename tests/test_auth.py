"""Sign-in, roles, limits and the audit trail as a library (guide/web/auth.py, guide/sources/audit.py)
and through the `guide` command. No Gradio here: tests/test_app_auth.py calls the running app."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from guide.errors import AuthError, PermissionDenied
from guide.web.auth import (Access, EVALUATION_BUSY, RateLimit, Users, access_for, evaluation_slot, hash_password,
                            is_loopback, verify_password)

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


@pytest.fixture
def users_file(tmp_path) -> Path:
    path = tmp_path / "users.txt"
    Users(path).add("ed", "editor", PASSWORD)
    Users(path).add("rita", "reader", PASSWORD + "!")
    return path


def test_a_password_is_stored_salted_and_checked_in_constant_time():
    a, b = hash_password(PASSWORD), hash_password(PASSWORD)
    assert a != b and PASSWORD not in a  # a fresh salt each time, never the password
    assert verify_password(PASSWORD, a) and verify_password(PASSWORD, b)
    assert not verify_password(PASSWORD + "x", a)
    assert not verify_password(PASSWORD, "scrypt$broken") and not verify_password(PASSWORD, "")


def test_the_users_file_has_one_line_per_user_readable_only_by_its_owner(users_file):
    lines = users_file.read_text().splitlines()
    assert [ln.split(":")[:2] for ln in lines] == [["ed", "editor"], ["rita", "reader"]]
    assert PASSWORD not in users_file.read_text()
    assert users_file.stat().st_mode & 0o077 == 0
    assert Users(users_file).add("ed", "reader", "another password") is False  # an existing user is updated
    assert Users(users_file).load()["ed"].role == "reader" and len(users_file.read_text().splitlines()) == 2
    assert "scrypt" not in repr(Users(users_file).load()["ed"])


@pytest.mark.parametrize("line, says", [
    ("ed:editor", "expected NAME:ROLE:HASH"),
    ("ed:admin:scrypt$1$2$3$4$5", "bad user name or role"),
    ("ed:editor:" + hash_password("x" * 8) + "\ned:reader:" + hash_password("y" * 8), "listed twice"),
])
def test_a_malformed_users_file_names_the_file_and_line(tmp_path, line, says):
    path = tmp_path / "users.txt"
    path.write_text("# team\n" + line + "\n")
    with pytest.raises(AuthError, match=r"users.txt, line \d+: .*" + says.split()[0]):
        Users(path).load()


def test_sign_in_checks_the_password_and_slows_down_guessing(users_file):
    access = Access(Users(users_file))
    assert access.authenticate("ed", PASSWORD) and not access.authenticate("ed", "wrong password")
    assert not access.authenticate("nobody", PASSWORD)
    for _ in range(5):
        access.authenticate("rita", "guess")
    assert not access.authenticate("rita", PASSWORD + "!")  # right, but too many tries this minute


def test_readers_chat_explore_and_rate_editors_also_change_the_corpus(users_file):
    access = Access(Users(users_file))
    for action in ("ask", "explore", "rate"):
        access.check("rita", action)
        access.check("ed", action)
    for action in ("upload", "remove", "fetch", "evaluate", "export", "audit"):
        access.check("ed", action)
        with pytest.raises(PermissionDenied, match="Only editors can .* signed in as rita, a reader"):
            access.check("rita", action)
        with pytest.raises(PermissionDenied, match="Please sign in"):
            access.check(None, action)
        with pytest.raises(PermissionDenied):
            access.check("someone-removed", action)
    assert access.who("rita") == "rita" and access.who(None) == "anonymous"


def test_without_a_users_file_the_one_visitor_may_do_everything_and_is_anonymous():
    access = Access()
    assert not access.enabled and access.authenticate("", "")
    access.check(None, "upload")
    assert access.who("whoever") == "anonymous"


def test_a_role_change_in_the_file_takes_effect_without_a_restart(users_file):
    access = Access(Users(users_file))
    assert access.allowed("rita", "upload") is False
    Users(users_file).add("rita", "editor", "new password")
    assert access.allowed("rita", "upload") is True


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                            ("127.0.0.2", True), ("0.0.0.0", False), ("192.168.1.4", False),
                                            ("::", False), ("guide.example.org", False)])
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_serving_off_loopback_needs_users_or_an_explicit_no_auth(users_file, tmp_path):
    with pytest.raises(AuthError, match="refusing to serve on 0.0.0.0 without sign-in: .*guide users add"):
        access_for("0.0.0.0", None)
    access, warning = access_for("0.0.0.0", None, no_auth=True)
    assert not access.enabled and "anyone who can reach 0.0.0.0" in warning
    access, warning = access_for("0.0.0.0", users_file)
    assert access.enabled and warning is None
    access, warning = access_for("127.0.0.1", None)  # a laptop: unchanged, no sign-in
    assert not access.enabled and warning is None
    assert access_for("127.0.0.1", users_file)[0].enabled  # configured: sign-in on loopback too
    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody yet\n")
    with pytest.raises(AuthError, match="has no users"):
        access_for("0.0.0.0", empty)
    with pytest.raises(AuthError, match="cannot read the users file"):
        access_for("0.0.0.0", tmp_path / "missing.txt")


def test_questions_per_minute_are_limited_per_session_with_a_friendly_message():
    limit = RateLimit(3)
    assert [limit.check("a") for _ in range(3)] == [None, None, None]
    message = limit.check("a")
    assert message.startswith("You've asked 3 questions in the last minute") and "Please wait" in message
    assert limit.check("b") is None  # another visitor is not affected
    assert RateLimit(0).check("a") is None  # 0: no limit


def test_only_one_evaluation_runs_at_a_time_even_across_threads(tmp_path):
    seen = []
    with evaluation_slot(tmp_path) as first:
        t = threading.Thread(target=lambda: seen.append(evaluation_slot(tmp_path).__enter__()))
        t.start()
        t.join()
        with evaluation_slot(tmp_path) as second:
            assert first is True and second is False and seen == [False]
    with evaluation_slot(tmp_path) as again:
        assert again is True  # free once the first one finished
    assert "only one runs at a time" in EVALUATION_BUSY


# --- the audit trail and feedback users --------------------------------------------------------

@pytest.fixture
def corpus_settings(tmp_path):
    from guide.settings import Settings

    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", data_dir=tmp_path / "data", embedder="hash")


def test_adding_and_removing_sources_is_recorded_with_who_and_when(corpus_settings):
    from guide.sources.audit import AuditLog, audit_path
    from guide.sources.library import Upload, add_sources, remove_source

    doc = Upload(name="handbook.md", data=b"# Invented test handbook\n\nAn invented test paragraph for the audit.\n")
    [added] = add_sources(corpus_settings, [doc], actor="ed")
    remove_source(corpus_settings, added.id, actor="ed")
    add_sources(corpus_settings, [Upload(name="x.txt", data=b"\x89PNG\r\n\x1a\n\x00junk")])  # fails; command line
    entries = AuditLog(audit_path(corpus_settings.data_dir)).entries()
    assert [(e.actor, e.action, e.source, e.outcome) for e in entries[1:]] == [
        ("ed", "remove", added.id, "removed"), ("ed", "add", added.id, "added")]
    assert entries[0].action == "add" and entries[0].outcome == "failed" and entries[0].actor.endswith("(command line)")
    assert all(e.at.endswith("+00:00") for e in entries)


def test_guide_audit_prints_the_trail(corpus_settings, monkeypatch):
    from guide.cli import main
    from guide.sources.audit import AuditLog, audit_path

    monkeypatch.setenv("GUIDE_DATA_DIR", str(corpus_settings.data_dir))
    runner = CliRunner()
    assert "audit trail is empty" in runner.invoke(main, ["audit"]).output
    AuditLog(audit_path(corpus_settings.data_dir)).record("ed", "fetch", [("vox-scotland", "unreachable", "offline")])
    out = runner.invoke(main, ["audit"])
    assert out.exit_code == 0 and "ed" in out.output and "fetch" in out.output and "vox-scotland" in out.output
    js = runner.invoke(main, ["audit", "--json"])
    assert '"outcome": "unreachable"' in js.output


def test_guide_users_add_prompts_without_echo_and_never_stores_the_password(tmp_path, monkeypatch):
    from guide.cli import main

    path = tmp_path / "users.txt"
    monkeypatch.setenv("GUIDE_USERS_FILE", str(path))
    result = CliRunner().invoke(main, ["users", "add", "ana", "--role", "reader"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hide_input: the typed password is not echoed
    assert "added ana (reader)" in result.output and PASSWORD not in path.read_text()
    assert Access(Users(path)).authenticate("ana", PASSWORD)
    short = CliRunner().invoke(main, ["users", "add", "bo", "--role", "editor"], input="short\nshort\n")
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    listed = CliRunner().invoke(main, ["users", "list"])
    assert "ana" in listed.output and "reader" in listed.output and "scrypt" not in listed.output


def test_guide_serve_off_loopback_without_users_refuses_with_one_line(monkeypatch):
    from guide.cli import main

    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to serve on 0.0.0.0 without sign-in")
    assert "GUIDE_USERS_FILE" in lines[0] and "--no-auth" in lines[0]


def test_feedback_records_who_left_it_and_old_stores_gain_the_column(tmp_path):
    import sqlite3

    from guide.web.feedback import FeedbackStore

    old = tmp_path / "old.sqlite3"
    con = sqlite3.connect(old)
    con.execute("CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, "
                "updated_at TEXT, session_id TEXT NOT NULL, turn_id TEXT NOT NULL, rating TEXT, comment TEXT, "
                "question TEXT NOT NULL, query TEXT, answer TEXT NOT NULL, abstained INTEGER, "
                "sources TEXT NOT NULL DEFAULT '[]')")
    con.execute("INSERT INTO feedback (created_at, session_id, turn_id, question, answer) "
                "VALUES ('t', 's', 't1', 'q', 'a')")
    con.commit()
    con.close()
    store = FeedbackStore(old)
    rid = store.add(session_id="s", turn_id="t2", question="q", answer="a", rating="up", user="rita")
    assert [r["user"] for r in store.records()] == ["anonymous", "rita"] and store.get(rid)["user"] == "rita"


@pytest.fixture
def hash_chat(settings, hash_embedder):
    from guide.engine import Guide, ingest
    from guide.web.chat import Chat
    from guide.web.feedback import FeedbackStore

    s = settings.replace(embedder="hash", abstain_threshold=0.05)
    ingest(s, embedder=hash_embedder)
    return Chat(Guide.open(s, embedder=hash_embedder), store=FeedbackStore(s.feedback_db), limit=RateLimit(2))


def test_the_chat_answers_a_few_questions_a_minute_per_session_then_asks_to_wait(hash_chat):
    from guide.web.chat import ChatSession

    mine, theirs = ChatSession(), ChatSession()
    assert hash_chat.ask(mine, "").status == "refused"  # an empty question does not use up the allowance
    assert [hash_chat.ask(mine, "Why does trust matter?").status for _ in range(2)] == ["answered", "answered"]
    third = hash_chat.ask(mine, "Why does trust matter?")
    assert third.status == "refused" and third.answer is None
    assert "You've asked 2 questions in the last minute" in third.markdown and "wait" in third.markdown
    assert hash_chat.ask(theirs, "Why does trust matter?").status == "answered"
    assert len(mine.history()) == 4  # the refused turn does not enter the conversation's history


def test_feedback_is_stored_with_the_signed_in_user(hash_chat):
    from guide.web.chat import ChatSession

    session = ChatSession(user="rita")
    hash_chat.ask(session, "Why does trust matter?")
    hash_chat.record_feedback(session, 1, True)
    hash_chat.add_comment(session, "useful")
    [record] = hash_chat.store.records()
    assert record["user"] == "rita" and record["rating"] == "up" and record["comment"] == "useful"
    anonymous = ChatSession()
    hash_chat.ask(anonymous, "Why does trust matter?")
    hash_chat.record_feedback(anonymous, 1, False)
    assert hash_chat.store.records()[-1]["user"] == "anonymous"


def test_guide_serve_no_auth_off_loopback_starts_with_a_warning(monkeypatch, tmp_path):
    from guide.cli import main

    # no corpus: serve gets past the sign-in check, warns, then stops (one line) before listening
    monkeypatch.setenv("GUIDE_CORPUS_DIR", str(tmp_path / "no-corpus"))
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--no-auth"])
    lines = result.output.splitlines()
    assert lines[0].startswith("warning: --no-auth: anyone who can reach 0.0.0.0 can add and remove sources")
    assert result.exit_code == 1 and lines[-1].startswith("error:") and "refusing" not in result.output
