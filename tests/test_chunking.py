"""Chunking keeps sections, labels and sentence offsets right, so quotes can be exact."""

from __future__ import annotations

from pathlib import Path

from guide.search.chunking import chunk_document, paragraphs, split_sentences
from guide.sources.corpus import Document, Source, load_document, load_manifest
from guide.settings import Settings


def _doc(text: str, sid: str = "t") -> Document:
    return Document(Source(id=sid, title="T", kind="document", url="https://example.org/t"), text, {}, Path("t.md"))


def blog() -> Document:
    m = load_manifest(Settings().manifest_path)
    return load_document(m.get("facing-the-challenges"), Settings().corpus_dir)


def test_every_sentence_offset_points_at_its_text():
    d = blog()
    for c in chunk_document(d):
        assert d.text[c.start:c.end] == c.text
        for s in c.sentences:
            piece = d.text[s.start:s.end]
            assert piece == piece.strip() and piece
            assert c.start <= s.start < s.end <= c.end


def test_key_questions_split_one_question_per_sentence_without_the_label():
    d = blog()
    kq = [c for c in chunk_document(d) if c.kind == "key_questions"]
    assert len(kq) == 3
    trust = next(c for c in kq if c.section == "Challenge: Co-production requires trust")
    questions = [d.text[s.start:s.end] for s in trust.sentences]
    assert questions[0] == "What actions can we take to ensure trust is maintained?"
    assert len(questions) == 5 and all(q.endswith("?") for q in questions)
    assert not any("Key questions" in q for q in questions)


def test_more_reading_lines_are_their_own_passages_with_the_case_study_title():
    d = blog()
    reading = {c.section: c.text for c in chunk_document(d) if c.kind == "more_reading"}
    assert reading["Challenge: Co-production requires trust"] == (
        "Co-pro example - Building trust through relationship-based practice")
    assert len(reading) == 3


def test_passages_stay_inside_one_section_and_carry_the_heading_path():
    chunks = chunk_document(blog())
    doors = [c for c in chunks if c.section == "Keeping the doors open"]
    assert doors and all(c.section_path[0] == "Facing the challenges of co-production in difficult times" for c in doors)
    assert all("Challenge:" not in c.text for c in doors)
    assert "Keeping the doors open" in doors[0].search_text  # the heading helps retrieval


def test_chunk_ids_come_from_content():
    a = chunk_document(_doc("# H\n\nOne para here.\n\nTwo para here.\n"))
    b = chunk_document(_doc("# H\n\nOne para here.\n\nTwo para here.\n"))
    c = chunk_document(_doc("# H\n\nOne para changed.\n\nTwo para here.\n"))
    assert [x.id for x in a] == [x.id for x in b]
    assert a[0].id != c[0].id


def test_sentence_splitter_keeps_abbreviations_and_lists_of_questions():
    text = "We met Dr. Smith, e.g. on Monday. Did it help? Yes! It did... Then we left."
    got = [text[s.start:s.end] for s in split_sentences(text)]
    assert got == ["We met Dr. Smith, e.g. on Monday.", "Did it help?", "Yes!", "It did...", "Then we left."]
    text = "The ice reached its limit ca. 22,000 years ago. Cllr. Reid and Prof. Ahmed agreed."
    got = [text[s.start:s.end] for s in split_sentences(text)]
    assert got == ["The ice reached its limit ca. 22,000 years ago.", "Cllr. Reid and Prof. Ahmed agreed."]


def test_bullets_are_separate_units_and_pages_are_kept():
    text = "# Guide\n\n<!-- page: 3 -->\nIntro text.\n\n- First point here.\n- Second point.\n\n<!-- page: 4 -->\nLater text.\n"
    paras = paragraphs(text)
    assert [(text[p.start:p.end], p.kind, p.page) for p in paras] == [
        ("Intro text.", "paragraph", 3), ("First point here.", "list_item", 3),
        ("Second point.", "list_item", 3), ("Later text.", "paragraph", 4)]
    chunks = chunk_document(_doc(text))
    assert chunks[-1].extra == {"page": 4}
