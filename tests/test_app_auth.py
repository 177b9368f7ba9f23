"""Roles enforced by the running web app, through its API (gradio_client and plain HTTP), the way
someone who skips the browser would call it: by name, hidden endpoints too, and by fn_index.

The app runs in this process on a free loopback port with sign-in configured (a users file with
an editor and a reader), over a copy of the corpus and the deterministic hash embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from test_app_api import free_port

REPO = Path(__file__).resolve().parent.parent
PASSWORDS = {"ed": "editor password 1", "rita": "reader password 1"}
INVENTED = (b"# Invented test handbook\n\n## Allotments\n\n"
            b"This invented test paragraph says the allotment rota is shared.\n")

# Every handler of the app, by the role that may call it. A new handler must be added to one of
# these (test_every_handler_of_the_app_is_classified), so nothing escapes the role checks.
READER_HANDLERS = {"on_ask", "on_example", "on_clear", "on_like", "on_comment", "on_scope", "on_load",
                   "on_rank", "on_take"}
EDITOR_ENDPOINTS = {  # api_name -> arguments
    "add_documents": lambda doc: ([doc],),
    "evaluate": lambda doc: ("hard.jsonl", None),
    "remove_source": lambda doc: ("facing-the-challenges",),
    "fetch_sources": lambda doc: (),
    "export_feedback": lambda doc: (),
    "audit_trail": lambda doc: (),
}
EDITOR_HANDLERS = {"on_add_documents", "on_evaluate", "on_remove", "on_fetch", "on_export", "on_audit"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from guide.engine import Guide, ingest
    from guide.settings import Settings
    from guide.web.app import launch
    from guide.web.auth import Access, Users
    from guide.web.chat import Chat
    from guide.web.feedback import FeedbackStore

    base = tmp_path_factory.mktemp("auth-app")
    shutil.copytree(REPO / "corpus", base / "corpus")
    settings = Settings(corpus_dir=base / "corpus", index_dir=base / "index", data_dir=base / "data",
                        embedder="hash", abstain_threshold=0.05)
    ingest(settings)
    users = Users(base / "users.txt")
    for name, role in (("ed", "editor"), ("rita", "reader")):
        users.add(name, role, PASSWORDS[name])
    chat = Chat(Guide.open(settings), store=FeedbackStore(settings.feedback_db))
    chat.store.add(session_id="someone-else", turn_id="t", question="a colleague's question", answer="a",
                   comment="a colleague's private comment", user="ed")
    doc = base / "handbook.md"
    doc.write_bytes(INVENTED)
    demo, url = launch(chat, host="127.0.0.1", port=free_port(), block=False, access=Access(users),
                       max_file_bytes=20_000)
    try:
        yield {"url": url, "demo": demo, "chat": chat, "settings": settings, "doc": str(doc), "base": base}
    finally:
        demo.close()


def client_as(app, name: str | None):
    from gradio_client import Client

    auth = (name, PASSWORDS[name]) if name else None
    return Client(app["url"], auth=auth, verbose=False, download_files=False)


def corpus_state(app) -> tuple[str, list[str]]:
    corpus = app["settings"].corpus_dir
    return (corpus / "sources.toml").read_text(), sorted(p.name for p in corpus.iterdir())


def fn_index(app, api_name: str) -> int:
    return next(i for i, fn in app["demo"].fns.items() if fn.api_name == api_name)


def test_every_handler_of_the_app_is_classified(app):
    names = {fn.name for fn in app["demo"].fns.values()}
    assert names - READER_HANDLERS - EDITOR_HANDLERS == set(), "classify the new handler and test its role"
    assert {fn.api_name for fn in app["demo"].fns.values()} >= set(EDITOR_ENDPOINTS)


def test_each_visitor_gets_a_session_of_their_own_that_no_load_event_replaces(app):
    """A callable gr.State default is set by a load event of Gradio's own, which can run after the
    visitor's first question filled a session and replace it with an empty one (the answer then
    "can't be rated", a follow-up loses its history)."""
    import gradio as gr
    from gradio.state_holder import SessionState

    from guide.web.chat import ChatSession

    demo = app["demo"]
    [state_id] = [k for k, b in demo.blocks.items() if isinstance(b, gr.State)
                  and isinstance(SessionState(demo)[k], ChatSession)]
    for fn in demo.fns.values():
        if any(event == "load" for _, event in fn.targets):
            assert state_id not in {o._id for o in fn.outputs}, fn.name
    one, other = SessionState(demo), SessionState(demo)
    assert one[state_id] is one[state_id]  # every event of a visitor gets the same session
    assert one[state_id].id != other[state_id].id  # and each visitor their own


def test_unauthenticated_calls_are_refused_before_any_handler_runs(app):
    from gradio_client import Client

    before = corpus_state(app)
    with pytest.raises(Exception):
        Client(app["url"], verbose=False, download_files=False)
    with httpx.Client(base_url=app["url"], timeout=30) as http:
        assert http.get("gradio_api/info").status_code == 401
        assert http.get("config").status_code == 401
        for api_name in EDITOR_ENDPOINTS:
            r = http.post(f"gradio_api/call/{api_name}", json={"data": []})
            assert r.status_code == 401, api_name
            r = http.post("gradio_api/queue/join", json={"data": [], "fn_index": fn_index(app, api_name),
                                                           "session_hash": "anon"})
            assert r.status_code == 401, api_name
        r = http.post("gradio_api/upload", files={"files": ("handbook.md", INVENTED)})
        assert r.status_code == 401
        r = http.post("login", data={"username": "rita", "password": "wrong password"})
        assert r.status_code == 400
    assert corpus_state(app) == before


def test_a_reader_is_refused_every_editor_endpoint_by_name_and_by_fn_index(app):
    from gradio_client import handle_file

    before = corpus_state(app)
    reader = client_as(app, "rita")
    try:
        for api_name, args in EDITOR_ENDPOINTS.items():
            call_args = args(handle_file(app["doc"]))
            with pytest.raises(Exception, match="Only editors can .*signed in as rita, a reader"):
                reader.predict(*call_args, api_name=f"/{api_name}")
            with pytest.raises(Exception, match="Only editors can"):
                reader.predict(*call_args, fn_index=fn_index(app, api_name))
        # the hidden page-load endpoint shows a reader no editor controls and no audit trail
        load = next(i for i, fn in app["demo"].fns.items() if fn.name == "on_load")
        who, audit = reader.predict(fn_index=load)  # (the client leaves out the layout updates)
        assert "rita" in who and "reader" in who and audit["data"] == []
    finally:
        reader.close()
    assert corpus_state(app) == before
    from guide.sources.audit import AuditLog, audit_path

    assert AuditLog(audit_path(app["settings"].data_dir)).entries() == []


def test_a_reader_can_ask_and_is_limited_to_their_own_conversation(app):
    reader = client_as(app, "rita")
    try:
        final = list(reader.submit("Why does trust matter in co-production?", api_name="/ask"))[-1]
        answer = final[0][-1]["content"]
        text = answer if isinstance(answer, str) else "".join(p.get("text", "") for p in answer)
        assert "“" in text  # quotes from the sources
        assert "colleague" not in str(final)
        note, markdown, html_file = reader.predict(api_name="/export_conversation")  # their own answers only
        assert note.startswith("Exported the conversation (1 answer)") and "Why does trust matter" in markdown
        assert "colleague" not in markdown and html_file
    finally:
        reader.close()


def test_an_editor_adds_and_removes_a_source_and_the_audit_trail_names_them(app):
    from gradio_client import handle_file

    editor = client_as(app, "ed")
    try:
        message, _cards = editor.predict([handle_file(app["doc"])], api_name="/add_documents")
        assert "added" in message
        new_id = next(s.id for s in app["chat"].sources() if s.title == "Invented test handbook")
        message, _choices, audit = editor.predict(new_id, api_name="/remove_source")
        assert "removed" in message
        rows = editor.predict(api_name="/audit_trail")["data"]
        assert [r[1:4] for r in rows[:2]] == [["ed", "remove", new_id], ["ed", "add", new_id]]
        path, note = editor.predict(api_name="/export_feedback")
        exported = Path(path["path"] if isinstance(path, dict) else path)
        assert "a colleague's private comment" in exported.read_text() and "Exported" in note
        load = next(i for i, fn in app["demo"].fns.items() if fn.name == "on_load")
        who, audit = editor.predict(fn_index=load)
        assert "**ed** (editor)" in who and len(audit["data"]) >= 2
    finally:
        editor.close()


def test_an_upload_over_the_cap_is_refused_before_it_is_written(app):
    upload_dir = Path(app["demo"].GRADIO_CACHE)
    before = set(upload_dir.rglob("*")) if upload_dir.exists() else set()
    with httpx.Client(base_url=app["url"], timeout=30) as http:
        r = http.post("login", data={"username": "ed", "password": PASSWORDS["ed"]})
        assert r.status_code == 200
        r = http.post("gradio_api/upload", files={"files": ("big.md", b"a" * 30_000)})
        assert r.status_code == 413 and "maximum allowed size" in r.text
        r = http.post("gradio_api/upload", files={"files": ("small.md", INVENTED)})
        assert r.status_code == 200
    after = set(upload_dir.rglob("*"))
    assert not any(p.name == "big.md" for p in after - before)
    assert any(p.name == "small.md" for p in after - before)


def test_a_reader_asking_too_fast_gets_a_friendly_wait_message(app):
    from guide.web.auth import RateLimit

    app["chat"].limit = RateLimit(2)
    reader = client_as(app, "rita")
    try:
        answers = []
        for _ in range(3):
            final = list(reader.submit("Why does trust matter in co-production?", api_name="/ask"))[-1]
            content = final[0][-1]["content"]
            answers.append(content if isinstance(content, str) else "".join(p.get("text", "") for p in content))
    finally:
        app["chat"].limit = None
        reader.close()
    assert "“" in answers[0] and "“" in answers[1]
    assert "You've asked 2 questions in the last minute" in answers[2] and "wait" in answers[2]
    assert "“" not in answers[2]
