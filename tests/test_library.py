"""guide.sources.library and its commands: fetching the linked case studies (from a pretend site on
127.0.0.1), --follow, the drift check, a user's own documents, removal, and every bad input.

Each test works on a copy of corpus/ in a temp dir (GUIDE_CORPUS_DIR), with the deterministic
fake embedder, so nothing touches the real corpus or index. The pages and documents are
invented test fixtures (tests/fixtures/site, tests/fixtures/docs/make_docs.py)."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from guide.sources.corpus import load_manifest, parse_front_matter
from guide.engine import Guide, ingest
from guide.errors import CorpusError, QuestionError
from guide.sources.fetch import FetchConfig, normalise_url
from guide.sources.library import Upload, add_sources, check_drift, fetch_corpus, remove_source, text_sha256, upload
from guide.settings import Settings

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
REAL_SITE = "https://coproductionscotland.org.uk"
CASE_STUDIES = ["ethical-approach", "building-trust-relationship-based", "just-ask-the-experts",
                "recognising-and-rewarding-co-design", "co-pro-ideas-clinic-starting-with-a-blank-page"]
FAST = FetchConfig(timeout=2.0, retries=1, backoff=0.01, min_interval=0.0)


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


server = _load("fixture_site_server", TESTS / "fixtures" / "site" / "server.py")
make_docs = _load("make_docs", TESTS / "fixtures" / "docs" / "make_docs.py")


@pytest.fixture
def site():
    with server.serve() as s:
        yield s


@pytest.fixture
def corpus_dir(tmp_path, monkeypatch) -> Path:
    """A copy of corpus/ the test may change; the real one is never touched."""
    target = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", target)
    monkeypatch.setenv("GUIDE_CORPUS_DIR", str(target))
    monkeypatch.setenv("GUIDE_EMBEDDER", "hash")
    return target


def _point_manifest_at(corpus_dir: Path, base: str, extra: str = "") -> None:
    """The manifest's real addresses -> the pretend site (or an address that refuses connections)."""
    manifest = corpus_dir / "sources.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(REAL_SITE, base) + extra, encoding="utf-8")


@pytest.fixture
def lib(corpus_dir, site) -> Settings:
    _point_manifest_at(corpus_dir, site.base)
    return Settings.from_env()


@pytest.fixture
def offline(corpus_dir) -> Settings:
    _point_manifest_at(corpus_dir, f"http://127.0.0.1:{server.closed_port()}")
    return Settings.from_env()


@pytest.fixture
def plain(corpus_dir) -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> dict[str, Path]:
    return make_docs.write_all(tmp_path_factory.mktemp("docs"))


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _front(path: Path) -> tuple[dict, str]:
    return parse_front_matter(path.read_text(encoding="utf-8"), path=path)


def _cli(*args: str):
    from guide.cli.commands import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _quotes(guide: Guide, question: str, source: str | None = None):
    answer = guide.ask(question, source=source)
    return [(q.source_id, q.text, q.verified, q.page) for q in answer.quotes]


# --- guide corpus fetch ------------------------------------------------------------------------

def test_fetch_stores_the_five_case_studies(lib, site):
    before = (lib.corpus_dir / "sources.toml").read_text(encoding="utf-8")
    results = fetch_corpus(lib, config=FAST)
    assert [r.id for r in results] == CASE_STUDIES
    assert all(r.ok and r.status == "added" and r.passages > 0 for r in results), [str(r) for r in results]

    manifest = load_manifest(lib.manifest_path)
    for sid in CASE_STUDIES:
        src = manifest.get(sid)
        assert src.file == f"{sid}.md" and src.kind == "case-study"
        meta, body = _front(lib.corpus_dir / src.file)
        assert meta["url"] == src.url and meta["title"] == src.title and meta["organisation"] == src.organisation
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", meta["fetched_at"])
        assert meta["sha256"] == text_sha256(body)
        assert "Invented test fixture" in body and "cookies" not in body
    # the manifest keeps its comments and entries; only `file` lines were added
    after = (lib.corpus_dir / "sources.toml").read_text(encoding="utf-8")
    assert after.startswith(before.split("[[source]]")[0])
    assert [ln for ln in after.splitlines() if ln not in before.splitlines()] == \
        [f'file = "{sid}.md"' for sid in CASE_STUDIES]

    # the guide now quotes them, word for word, alongside the blog
    report = ingest(lib)
    guide = Guide.open(lib)
    quotes = _quotes(guide, "Did volunteers and paid staff share the keys of the cafe?", source="ethical-approach")
    assert quotes and all(q[2] for q in quotes)
    assert any("shared the keys" in q[1] for q in quotes)
    assert {"facing-the-challenges", *CASE_STUDIES} <= {c.source_id for c in guide.chunks}
    assert report.chunks == len(guide.chunks)
    # a second run has nothing to do
    assert fetch_corpus(lib, config=FAST) == []


def test_fetching_a_case_study_adds_quotable_text_and_leaves_our_summary_as_it_was(lib, site):
    from guide.sources.corpus import SUMMARY_LABEL
    from guide.web.chat import Chat

    rewards = "recognising-and-rewarding-co-design"
    before = load_manifest(lib.manifest_path).get(rewards)
    assert before.description and not before.has_text
    fetch_corpus(lib, config=FAST)
    after = load_manifest(lib.manifest_path).get(rewards)
    assert (after.description, after.topics, after.title, after.author) == \
        (before.description, before.topics, before.title, before.author)  # the fetch replaced nothing
    meta, body = _front(lib.corpus_dir / after.file)
    assert before.description not in body and "description" not in meta  # our summary is not stored as its text

    ingest(lib)
    guide = Guide.open(lib)
    a = guide.ask("What did each member of the design group choose after every session?", source=rewards)
    assert a.quotes and all(q.source_id == rewards and q.verified for q in a.quotes)
    assert any("shopping voucher" in q.text for q in a.quotes)
    assert all(q.text in " ".join(body.split()) and before.description not in q.text for q in a.quotes)
    # the card now says "read", still shows our summary (labelled), and no longer offers the fetch
    html = Chat(guide).case_study_cards_html()
    card = re.search(rf"<li[^>]*data-source-id='{rewards}'.*?</li>", html, re.S).group(0)
    assert "Read by the guide" in card and "guide corpus fetch" not in card
    assert f"{SUMMARY_LABEL}:</span> {before.description}" in card.replace("&#39;", "'")
    other = re.search(r"<li[^>]*data-source-id='ethical-approach'.*?</li>", html, re.S).group(0)
    assert "Read by the guide" in other  # every fixture case study was fetched
    # a read case study is no longer offered as "known only by link"
    top = guide.case_studies.rank("paying people with lived experience for their time")[0]
    assert top.source.id == rewards and top.status == "read"
    assert rewards not in [m.source.id for m in guide.case_studies.match(top.topic, link_only=True)]


def test_fetch_offline_reports_each_source_and_changes_nothing(offline):
    built = ingest(offline)
    before = _snapshot(offline.corpus_dir)
    results = fetch_corpus(offline, config=FAST)
    assert [r.id for r in results] == CASE_STUDIES
    for r in results:
        assert not r.ok and r.status == "unreachable"
        assert "could not be reached (connection refused)" in str(r) and str(r).endswith("nothing changed")
    assert _snapshot(offline.corpus_dir) == before
    # the guide keeps working on what it has
    assert ingest(offline).collection == built.collection
    assert _quotes(Guide.open(offline), "How can we communicate when we feel trust is being broken?")


def test_cli_fetch_offline(offline):
    res = _cli("corpus", "fetch", "--retries", "0", "--timeout", "2")
    assert res.exit_code == 1
    for sid in CASE_STUDIES:
        assert re.search(rf"^{sid} \(http://127\.0\.0\.1:\d+/resources/{sid}\): could not be reached", res.stderr, re.M)
    assert "nothing changed; the guide keeps answering from the sources it has." in res.stderr


def test_cli_fetch_then_nothing_left(lib):
    res = _cli("corpus", "fetch", "--retries", "0")
    assert res.exit_code == 0, res.output
    assert res.stdout.count(": fetched: ") == 5 and "indexed " in res.stdout
    again = _cli("corpus", "fetch")
    assert again.exit_code == 0 and "nothing to fetch" in again.stdout


def test_each_bad_page_gets_one_message_and_the_rest_are_stored(corpus_dir, site):
    faults = {
        "fault-404": ("/resources/gone-missing", "not found (HTTP 404)"),
        "fault-503": ("/status/503", "the server failed (HTTP 503) (tried 2 times)"),
        "fault-slow": ("/slow", "timed out"),
        "fault-away": ("/redirect/away", "redirects to another site (localhost); not followed"),
        "fault-pdf": ("/doc.pdf", "is application/pdf, not an HTML page"),
        "fault-big": ("/big", "over the 0.2 MB limit; not fetched"),
        "fault-no-text": ("/resources/no-text", "has no extractable text"),
        "fault-robots": ("/resources/robots-blocked", "robots.txt asks robots not to fetch it"),
    }
    extra = "".join(f'\n[[source]]\nid = "{sid}"\ntitle = "Invented fault {sid}"\nkind = "case-study"\n'
                    f'url = "{site.base}{path}"\n' for sid, (path, _) in faults.items())
    _point_manifest_at(corpus_dir, site.base, extra)
    settings = Settings.from_env()
    site.slow = 1.0
    ingest(settings)
    blog_chunks = len(Guide.open(settings).chunks)
    results = {r.id: r for r in fetch_corpus(settings, config=FetchConfig(
        timeout=0.4, retries=1, backoff=0.01, min_interval=0.0, max_bytes=200_000))}
    for sid, (_, message) in faults.items():
        assert not results[sid].ok and message in results[sid].message, str(results[sid])
        assert not (corpus_dir / f"{sid}.md").exists()
    assert all(results[sid].ok for sid in CASE_STUDIES)
    manifest = load_manifest(settings.manifest_path)
    assert all(manifest.get(sid).file is None for sid in faults)
    ingest(settings)
    chunks = Guide.open(settings).chunks
    assert sum(c.source_id == "facing-the-challenges" for c in chunks) == blog_chunks  # nothing lost


# --- --follow ----------------------------------------------------------------------------------

def test_follow_discovers_new_case_studies_once_each(lib, site):
    results = fetch_corpus(lib, follow=True, hub_url=site.url("/case-studies"), config=FAST)
    added = [r.id for r in results if r.ok and r.status == "added"]
    assert added == CASE_STUDIES + ["fixture-community-garden", "fixture-tenants-panel", "fixture-youth-forum",
                                    "fixture-deep-page"]
    blocked = [r for r in results if "robots-blocked" in r.source]
    assert len(blocked) == 1 and blocked[0].status == "skipped" and "robots.txt asks robots" in blocked[0].message
    assert site.hits["/resources/robots-blocked"] == 0
    manifest = load_manifest(lib.manifest_path)
    keys = [normalise_url(s.url) for s in manifest.sources if s.url]
    assert len(keys) == len(set(keys))  # tracking/slash/page-2 links made no duplicates
    garden = manifest.get("fixture-community-garden")
    assert garden.kind == "case-study" and garden.title == "Case study - The invented community garden"
    assert garden.url == site.url("/resources/fixture-community-garden")
    assert garden.extra["discovered_from"] == site.url("/case-studies")
    assert not any("example.org" in (s.url or "") for s in manifest.sources)
    assert not (lib.corpus_dir / "robots-blocked.md").exists()
    again = fetch_corpus(lib, follow=True, hub_url=site.url("/case-studies"), config=FAST)
    assert [r.status for r in again] == ["skipped", "unchanged"] and "no new case studies" in str(again[-1])


def test_follow_respects_max(lib, site):
    res = _cli("corpus", "fetch", "--follow", "--max", "1", "--hub", site.url("/case-studies"), "--no-index")
    assert res.exit_code == 0, res.output
    manifest = load_manifest(lib.manifest_path)
    assert [s.id for s in manifest.sources if s.extra.get("discovered_from")] == ["fixture-community-garden"]
    assert "stopped at the limit (1 case studies" in res.stdout


def test_follow_offline(offline):
    hub = offline.manifest_path.read_text().split('url = "')[1].split("/news/")[0] + "/case-studies"
    results = fetch_corpus(offline, follow=True, hub_url=hub, config=FAST)
    assert len(results) == 6 and not any(r.ok for r in results)
    assert "case-study hub" in results[-1].source and "could not be reached" in results[-1].message


# --- guide corpus check (snapshot drift) -----------------------------------------------------------

def test_drift_check_lists_passages_gone_from_the_live_page(lib, site):
    fetch_corpus(lib, config=FAST)
    before = _snapshot(lib.corpus_dir)
    unchanged = {d.source_id: d for d in check_drift(lib, config=FAST)}
    assert all(unchanged[sid].status == "unchanged" for sid in CASE_STUDIES)
    # the blog's address is not on the pretend site: it is reported, not guessed
    assert unchanged["facing-the-challenges"].status == "failed"
    assert unchanged["facing-the-challenges"].message == "not checked: not found (HTTP 404)"

    site.version = 2  # the live ethical-approach page has been edited since it was stored
    drift = {d.source_id: d for d in check_drift(lib, config=FAST)}
    ethical = drift["ethical-approach"]
    assert ethical.status == "drifted" and not ethical.ok
    assert [m["text"] for m in ethical.missing] == [
        "Decisions took longer, but they held, because everyone had been part of making them.",
        "Pay people for their time where you can.",
    ]
    assert ethical.missing[0]["section"] == "Why it is more than a method"
    assert "2 of 8 stored paragraphs are no longer on the live page" in str(ethical)
    assert drift["just-ask-the-experts"].status == "unchanged"
    assert _snapshot(lib.corpus_dir) == before  # nothing changed

    res = _cli("corpus", "check", "--retries", "0")
    assert res.exit_code == 1
    assert "“Decisions took longer, but they held" in res.stdout
    assert "6 sources: 1 drifted, 1 could not be checked" in res.stdout
    assert _snapshot(lib.corpus_dir) == before


def test_drift_check_offline(offline):
    reports = check_drift(offline, config=FAST)
    blog = next(r for r in reports if r.source_id == "facing-the-challenges")
    assert blog.status == "unreachable" and "could not be reached" in blog.message
    assert all(r.status == "skipped" for r in reports if r.source_id in CASE_STUDIES)


# --- guide ingest PATH|URL: a user's own documents ----------------------------------------------------

def test_ingest_each_format(plain, docs):
    names = ["report.pdf", "notes.docx", "harbour.md", "bus-survey.txt", "lifeboat.html"]
    results = add_sources(plain, [docs[n] for n in names])
    assert all(r.ok and r.status == "added" for r in results), [str(r) for r in results]
    manifest = load_manifest(plain.manifest_path)
    titles = {manifest.get(r.id).title for r in results}
    assert titles == {make_docs.REPORT_TITLE, make_docs.DOCX_TITLE, "Invented harbour hall notes",
                      "Invented village bus survey", "Invented lifeboat station minutes"}
    for r in results:
        src = manifest.get(r.id)
        assert src.kind == "document" and src.file == f"{r.id}.md"
        meta, body = _front(plain.corpus_dir / src.file)
        assert meta["sha256"] == text_sha256(body) and meta["kind"] == "document"
    assert str(results[0]).endswith(f"(PDF, 3 pages, 4 passages) -> {plain.corpus_dir / results[0].id}.md")

    ingest(plain)
    guide = Guide.open(plain)
    quotes = _quotes(guide, "Did the timetable panel have a veto over any sailing that was cut?")
    top = quotes[0]
    assert top[0] == "invented-ferry-timetable-report" and top[2] and top[3] == 2  # PDF page in the citation
    assert "veto over any sailing" in top[1]
    docx_quotes = _quotes(guide, "Who held the shed keys?", source="invented-allotment-society-notes")
    assert any("shed keys" in q[1] for q in docx_quotes)


def test_bad_inputs_each_get_one_message_and_the_rest_is_ingested(plain, docs, tmp_path):
    ingest(plain)
    blog_chunks = {c.id for c in Guide.open(plain).chunks}
    copy = tmp_path / "copy-of-harbour.md"
    shutil.copy(docs["harbour.md"], copy)
    items = [docs["report.pdf"], docs["encrypted.pdf"], docs["scanned.pdf"], docs["corrupt.docx"],
             docs["junk.txt"], docs["harbour.md"], copy, tmp_path / "never-existed.docx", docs["notes.docx"]]
    results = add_sources(plain, items)
    messages = {Path(r.source).name: (r.ok, r.message) for r in results}
    assert messages == {
        "report.pdf": (True, messages["report.pdf"][1]),
        "encrypted.pdf": (False, "not added: is an encrypted (password-protected) PDF; save an unprotected copy "
                                 "and ingest that"),
        "scanned.pdf": (False, "not added: has no text layer (an image-only or scanned PDF, 1 page); run it "
                               "through OCR and ingest the result"),
        "corrupt.docx": (False, "not added: is not a readable Word document (.docx): the file is damaged "
                                "(BadZipFile)"),
        "junk.txt": (False, "not added: does not look like text (it contains binary data)"),
        "harbour.md": (True, messages["harbour.md"][1]),
        "copy-of-harbour.md": (False, "not added: the same text is already in the guide as "
                                      "'invented-harbour-hall-notes'"),
        "never-existed.docx": (False, "not added: no such file"),
        "notes.docx": (True, messages["notes.docx"][1]),
    }
    report = ingest(plain)
    chunks = Guide.open(plain).chunks
    assert blog_chunks <= {c.id for c in chunks}  # nothing already indexed is lost
    assert {c.source_id for c in chunks} == {"facing-the-challenges", "invented-ferry-timetable-report",
                                             "invented-harbour-hall-notes", "invented-allotment-society-notes"}
    assert report.embedded == len(chunks) - len(blog_chunks) - 1  # one passage is shared by two documents


def test_a_file_that_disappears_mid_ingest(plain, docs, tmp_path, monkeypatch):
    import guide.sources.library as library

    first, vanishing = tmp_path / "first.md", tmp_path / "vanishing.txt"
    shutil.copy(docs["harbour.md"], first)
    shutil.copy(docs["bus-survey.txt"], vanishing)
    real_convert = library.convert

    def convert_then_delete(*args, **kwargs):  # another program deletes the next file meanwhile
        vanishing.unlink(missing_ok=True)
        return real_convert(*args, **kwargs)

    monkeypatch.setattr(library, "convert", convert_then_delete)
    results = add_sources(plain, [first, vanishing, docs["lifeboat.html"]])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].message == "not added: disappeared before it could be read (moved or deleted?); nothing was added"


def test_a_folder_is_ingested_file_by_file(plain, docs, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in ("harbour.md", "junk.txt", "bus-survey.txt"):
        shutil.copy(docs[name], folder / name)
    (folder / "photo.png").write_bytes(b"\x89PNG not read")
    results = add_sources(plain, [folder, tmp_path / "empty-folder"])
    assert [(Path(r.source).name, r.ok) for r in results] == [
        ("bus-survey.txt", True), ("harbour.md", True), ("junk.txt", False), ("empty-folder", False)]
    (tmp_path / "empty").mkdir()
    assert "no .md, .txt, .html, .pdf or .docx files" in add_sources(plain, [tmp_path / "empty"])[0].message


def test_same_file_again_is_unchanged_and_an_edited_file_is_updated_incrementally(plain, docs, tmp_path):
    notes = tmp_path / "harbour.md"
    shutil.copy(docs["harbour.md"], notes)
    first = add_sources(plain, [notes])[0]
    ingest(plain)
    again = add_sources(plain, [notes])[0]
    assert again.ok and again.status == "unchanged" and again.id == first.id
    assert ingest(plain).rebuilt is False

    notes.write_text(notes.read_text() + "\nThe invented committee also bought a new kettle for the hall.\n")
    updated = add_sources(plain, [notes])[0]
    assert updated.status == "updated" and updated.id == first.id
    assert len([s for s in load_manifest(plain.manifest_path).sources if s.kind == "document"]) == 1
    report = ingest(plain)
    assert report.rebuilt and report.embedded == 1  # only the changed passage is embedded again
    assert _quotes(Guide.open(plain), "Did the committee buy a new kettle?", source=first.id)


def test_a_url_is_ingested_and_a_known_link_gets_its_text(lib, site):
    results = add_sources(lib, [site.url("/resources/fixture-youth-forum?utm_source=x"),
                                site.url("/resources/just-ask-the-experts"), site.url("/doc.json"),
                                site.url("/status/404")], config=FAST)
    assert [r.ok for r in results] == [True, True, False, False]
    manifest = load_manifest(lib.manifest_path)
    forum = manifest.get(results[0].id)
    assert forum.kind == "document" and forum.url == site.url("/resources/fixture-youth-forum")
    known = manifest.get("just-ask-the-experts")
    assert known.kind == "case-study" and known.file == "just-ask-the-experts.md" and results[1].status == "added"
    assert "is application/json, not a supported document" in results[2].message
    assert results[3].message == "not added: not found (HTTP 404)"


# --- guide remove -------------------------------------------------------------------------------------

def test_remove_takes_a_source_and_its_passages_out(plain, docs):
    added = add_sources(plain, [docs["notes.docx"], docs["harbour.md"]])
    ingest(plain)
    assert any(c.source_id == added[0].id for c in Guide.open(plain).chunks)
    manifest_before = plain.manifest_path.read_text()

    result = remove_source(plain, added[0].id)
    assert result.ok and result.status == "removed"
    assert not (plain.corpus_dir / f"{added[0].id}.md").exists()
    after = plain.manifest_path.read_text()
    assert added[0].id not in after and added[1].id in after
    assert after.splitlines()[:3] == manifest_before.splitlines()[:3]  # the comments stay
    ingest(plain)
    guide = Guide.open(plain)
    assert not any(c.source_id == added[0].id for c in guide.chunks)
    with pytest.raises(QuestionError):
        guide.ask("Who held the shed keys?", source=added[0].id)
    with pytest.raises(CorpusError, match="no source with id 'no-such-source'"):
        remove_source(plain, "no-such-source")


def test_remove_keep_link_and_cli(lib):
    fetch_corpus(lib, config=FAST)
    res = _cli("remove", "ethical-approach", "--keep-link")
    assert res.exit_code == 0, res.output
    assert "its text removed, still known by its link" in res.stdout and "indexed" in res.stdout
    src = load_manifest(lib.manifest_path).get("ethical-approach")
    assert src.file is None and src.url and not (lib.corpus_dir / "ethical-approach.md").exists()
    res = _cli("remove", "no-such-source")
    assert res.exit_code == 1 and "no source with id 'no-such-source'" in res.stderr


# --- the index: incremental, and a failure leaves the previous one serving ----------------------------

def test_a_failed_rebuild_leaves_the_previous_index_serving(plain, docs):
    from guide.search.embedding import CachedEmbeddings, HashEmbeddings

    built = ingest(plain)
    add_sources(plain, [docs["report.pdf"]])

    class Broken(HashEmbeddings):
        def embed_documents(self, texts):
            raise RuntimeError("invented crash while embedding")

    with pytest.raises(RuntimeError, match="invented crash"):
        ingest(plain, embedder=CachedEmbeddings(Broken(), None))
    guide = Guide.open(plain)
    assert guide.index_info["collection"] == built.collection and guide.stale
    assert _quotes(guide, "How can we communicate when we feel trust is being broken?")
    assert ingest(plain).embedded == 4  # the next good run embeds only the new document's passages


# --- the web chat's upload control ------------------------------------------------------------------

def test_upload_for_the_web_chat(plain, docs, tmp_path):
    ingest(plain)
    temp = tmp_path / "gradio-tmp" / "notes.docx"
    temp.parent.mkdir()
    shutil.copy(docs["notes.docx"], temp)
    report = upload(plain, [("ferry report.pdf", docs["report.pdf"].read_bytes()), temp,
                            Upload("broken.docx", data=docs["corrupt.docx"].read_bytes())])
    assert [r.ok for r in report.results] == [True, True, False]
    assert report.ok and report.build is not None and report.build.embedded > 0
    assert "broken.docx: not added: is not a readable Word document" in report.summary()
    meta, _ = _front(plain.corpus_dir / f"{report.results[0].id}.md")
    assert meta["original"] == "ferry report.pdf"
    assert load_manifest(plain.manifest_path).get(report.results[1].id).extra["original"] == "upload:notes.docx"
    assert _quotes(Guide.open(plain), "Who held the shed keys?", source=report.results[1].id)
    nothing = upload(plain, [("junk.txt", docs["junk.txt"].read_bytes())])
    assert not nothing.ok and nothing.build is None


def test_cli_ingest_paths(plain, docs):
    res = _cli("ingest", str(docs["bus-survey.txt"]), str(docs["scanned.pdf"]))
    assert res.exit_code == 0, res.output
    assert "added as 'invented-village-bus-survey'" in res.stdout and "indexed" in res.stdout
    assert "scanned.pdf: not added: has no text layer" in res.stderr
    res = _cli("ingest", str(docs["junk.txt"]))
    assert res.exit_code == 1 and "does not look like text" in res.stderr


# --- one test with the real model -----------------------------------------------------------------

@pytest.mark.real
def test_real_model_quotes_a_user_pdf_with_its_page(corpus_dir, docs, minilm, monkeypatch):
    monkeypatch.setenv("GUIDE_EMBEDDER", "minilm")
    settings = Settings.from_env()
    report = upload(settings, [docs["report.pdf"]], embedder=minilm)
    assert report.ok, report.summary()
    guide = Guide.open(settings, embedder=minilm)
    answer = guide.ask("Did the timetable panel have a veto when sailings were cut?")
    assert not answer.abstained
    top = answer.quotes[0]
    assert top.source_id == "invented-ferry-timetable-report" and top.verified and top.page == 2
    assert "veto" in top.text
