"""The Explore tab's upload control, through Chat.add_documents (no Gradio): a document added in
the web chat is quoted in the next answer; a bad file says why and changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from guide.web.chat import Chat, ChatSession
from guide.engine import Guide, ingest
from guide.settings import Settings

REPO = Path(__file__).resolve().parent.parent
INVENTED = (b"# Invented test handbook\n\n## Allotments\n\n"
            b"This invented test paragraph says the allotment rota is agreed by every gardener together.\n")


@pytest.fixture
def chat(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    cfg = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", data_dir=tmp_path / "data", embedder="hash",
                   abstain_threshold=0.05, answer_threshold=0.05)
    ingest(cfg)
    return Chat(Guide.open(cfg))


def test_an_uploaded_document_is_listed_and_quoted_next(chat):
    before = {s.id for s in chat.sources()}
    message = chat.add_documents([("handbook.md", INVENTED)])
    assert "added" in message and "New questions can now be answered" in message
    new = [s for s in chat.sources() if s.id not in before]
    assert len(new) == 1 and new[0].has_text and new[0].title == "Invented test handbook"
    assert "Invented test handbook" in chat.sources_html()
    turn = chat.ask(ChatSession(), "Who agrees the allotment rota for the gardeners?")
    assert turn.answer and not turn.answer.abstained
    assert any("allotment rota is agreed by every gardener together" in q.text for q in turn.answer.quotes)


def test_a_bad_upload_says_why_and_keeps_everything(chat):
    before = chat.sources()
    message = chat.add_documents([("notes.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00junk")])
    assert "binary" in message and "Traceback" not in message
    assert chat.sources() == before
    assert chat.add_documents([]).startswith("Choose one or more files")
    turn = chat.ask(ChatSession(), "Why does trust matter in co-production?")
    assert turn.answer and turn.answer.quotes  # the blog still answers


def test_the_explore_upload_control_adds_a_document_through_the_app(chat, tmp_path):
    import socket

    from gradio_client import Client, handle_file

    from guide.web.app import launch

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    doc = tmp_path / "handbook.md"
    doc.write_bytes(INVENTED)
    demo, url = launch(chat, host="127.0.0.1", port=port, block=False)
    try:
        from guide.sources.library import MAX_FILE_BYTES

        assert demo.max_file_size == MAX_FILE_BYTES  # the web's upload cap is the library's limit
        client = Client(url, verbose=False, download_files=False)
        message, cards = client.predict([handle_file(str(doc))], api_name="/add_documents")
        assert "added" in message and "Invented test handbook" in cards
        outputs = list(client.submit("Who agrees the allotment rota for the gardeners?", api_name="/ask"))
        final = outputs[-1][0][-1]["content"]
        text = final if isinstance(final, str) else "".join(p.get("text", "") for p in final)
        assert "allotment rota is agreed by every gardener together" in text.replace("\\", "")
        client.close()
    finally:
        demo.close()
