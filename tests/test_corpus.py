"""The bundled corpus is faithful to the seed, and malformed corpus files fail clearly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from guide.sources.corpus import load_document, load_documents, load_manifest
from guide.errors import CorpusError
from guide.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SEED_DIR = REPO.parent / "shared" / "seed"
SEED = SEED_DIR / "facing-the-challenges-of-co-production-in-difficult-times.txt"
needs_seed = pytest.mark.skipif(not SEED.exists(), reason=f"the seed is not at {SEED}")


@pytest.fixture
def manifest():
    return load_manifest(Settings().manifest_path)


def test_manifest_knows_the_blog_and_the_three_case_studies(manifest):
    kinds = {s.id: s.kind for s in manifest.sources}
    assert kinds["facing-the-challenges"] == "blog"
    assert sorted(k for k, v in kinds.items() if v == "case-study") == [
        "building-trust-relationship-based", "ethical-approach", "just-ask-the-experts"]
    assert [s.id for s in manifest.read] == ["facing-the-challenges"]
    assert {s.id for s in manifest.link_only} == {"ethical-approach", "building-trust-relationship-based",
                                                  "just-ask-the-experts"}
    for s in manifest.link_only:
        assert s.linked_from.startswith("Challenge: ") and s.organisation and s.url


@needs_seed
def test_case_study_addresses_match_the_seed_readme(manifest):
    readme = (SEED_DIR / "README.md").read_text(encoding="utf-8")
    for s in manifest.sources:
        assert s.url in readme, s.id


@needs_seed
def test_blog_is_the_seed_verbatim_line_for_line(manifest):
    doc = load_document(manifest.get("facing-the-challenges"), Settings().corpus_dir)
    seed_lines = [ln for ln in SEED.read_text(encoding="utf-8").splitlines() if ln.strip()]
    body_lines = [re.sub(r"^#+ ", "", ln) for ln in doc.text.splitlines() if ln.strip()]
    assert body_lines == seed_lines
    assert doc.text.splitlines()[1] == "# " + seed_lines[0]
    headings = [ln[3:] for ln in doc.text.splitlines() if ln.startswith("## ")]
    assert headings == ["Keeping the doors open", "Challenge: Co-production can take a lot of time",
                        "Challenge: Co-production requires trust",
                        "Challenge: Co-production is built on people's passion"]
    assert doc.meta["author"] == "Sam Jordan" and doc.meta["kind"] == "blog"
    assert doc.meta["url"] == manifest.get("facing-the-challenges").url


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_malformed_manifest_names_file_and_line(tmp_path):
    p = _write(tmp_path, "sources.toml", '[[source]]\nid = "a"\ntitle = "A"\nkind = "blog"\nfile = \n')
    with pytest.raises(CorpusError) as e:
        load_manifest(p)
    assert "sources.toml" in str(e.value) and "line 5" in str(e.value)


def test_manifest_entry_missing_a_field_names_its_line(tmp_path):
    p = _write(tmp_path, "sources.toml", '[[source]]\nid = "a"\ntitle = "A"\nkind = "blog"\n\n[[source]]\nid = "b"\nkind = "blog"\n')
    with pytest.raises(CorpusError, match=r"line 6: source is missing 'title'"):
        load_manifest(p)


def test_unknown_kind_and_duplicate_ids_are_refused(tmp_path):
    p = _write(tmp_path, "sources.toml", '[[source]]\nid = "a"\ntitle = "A"\nkind = "podcast"\n')
    with pytest.raises(CorpusError, match="kind 'podcast'"):
        load_manifest(p)
    p = _write(tmp_path, "sources.toml", '[[source]]\nid = "a"\ntitle = "A"\nkind = "blog"\n[[source]]\nid = "a"\ntitle = "B"\nkind = "blog"\n')
    with pytest.raises(CorpusError, match="duplicate source id 'a'"):
        load_manifest(p)


def test_missing_manifest_says_so(tmp_path):
    with pytest.raises(CorpusError, match="manifest is missing"):
        load_manifest(tmp_path / "sources.toml")


def _one_source(tmp_path, body: bytes):
    (tmp_path / "doc.md").write_bytes(body)
    _write(tmp_path, "sources.toml", '[[source]]\nid = "doc"\ntitle = "Doc"\nkind = "document"\nfile = "doc.md"\n')
    return load_manifest(tmp_path / "sources.toml")


def test_bad_front_matter_line_is_named(tmp_path):
    m = _one_source(tmp_path, b"---\ntitle: Doc\nthis line is wrong\n---\nText.\n")
    with pytest.raises(CorpusError, match=r"doc\.md, line 3: front matter line is not 'key: value'"):
        load_documents(m, tmp_path)


def test_unclosed_front_matter_binary_and_missing_files_fail_clearly(tmp_path):
    m = _one_source(tmp_path, b"---\ntitle: Doc\nText.\n")
    with pytest.raises(CorpusError, match="no closing"):
        load_documents(m, tmp_path)
    m = _one_source(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00junk")
    with pytest.raises(CorpusError, match="binary"):
        load_documents(m, tmp_path)
    m = _one_source(tmp_path, b"caf\xe9 au lait\nsecond line \xff\n")
    with pytest.raises(CorpusError, match=r"line 1: not UTF-8"):
        load_documents(m, tmp_path)
    (tmp_path / "doc.md").unlink()
    with pytest.raises(CorpusError, match="missing"):
        load_documents(m, tmp_path)
