"""The bundled corpus is faithful to the seed, and malformed corpus files fail clearly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from guide.sources.corpus import load_document, load_documents, load_manifest
from guide.errors import CorpusError
from guide.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SEED_DIR = Settings.from_env().shared_dir / "seed"
SEED = SEED_DIR / "facing-the-challenges-of-co-production-in-difficult-times.txt"
needs_seed = pytest.mark.needs_data(SEED, what="the seed blog text")


@pytest.fixture
def manifest():
    return load_manifest(Settings().manifest_path)


CASE_STUDIES = ["ethical-approach", "building-trust-relationship-based", "just-ask-the-experts",
                "recognising-and-rewarding-co-design", "co-pro-ideas-clinic-starting-with-a-blank-page"]


def test_manifest_knows_the_blog_and_five_case_studies_with_authors_and_summaries(manifest):
    kinds = {s.id: s.kind for s in manifest.sources}
    assert kinds["facing-the-challenges"] == "blog"
    assert [k for k, v in kinds.items() if v == "case-study"] == CASE_STUDIES
    assert [s.id for s in manifest.read] == ["facing-the-challenges"]
    assert [s.id for s in manifest.link_only] == CASE_STUDIES
    for s in manifest.link_only:
        assert s.organisation and s.author and s.url and s.status == "link only"
        assert s.description and "\n" not in s.description and len(s.topics) >= 3
    linked = {s.id: s.linked_from for s in manifest.link_only if s.linked_from}
    assert list(linked) == CASE_STUDIES[:3] and all(v.startswith("Challenge: ") for v in linked.values())
    assert manifest.get("recognising-and-rewarding-co-design").organisation == "Glasgow Council for the Voluntary Sector"
    assert manifest.get("recognising-and-rewarding-co-design").hub_section == "Recognising and rewarding co-design"


@needs_seed
def test_case_study_facts_match_the_seed_readme(manifest):
    readme = (SEED_DIR / "README.md").read_text(encoding="utf-8")
    for s in manifest.sources:
        assert s.url.rsplit("/", 1)[-1] in readme, s.id
        if s.kind == "case-study":
            assert s.author.split(",")[0] in readme, s.id  # an author the seed names, not one we made up
    hub_sections = re.search(r"groups them under (.*?) and more", readme, re.S).group(1)
    for s in manifest.sources:
        if s.hub_section:
            assert f'"{s.hub_section}"' in hub_sections.replace("\n", " ")


@pytest.mark.needs_data(SEED_DIR / "README.md", what="the seed README")
def test_summaries_are_ours_not_the_seed_readmes_words(manifest):
    """The descriptions are written for this project: no run of 6 words copied from the seed's table."""
    seed_words = re.findall(r"[a-z']+", (SEED_DIR / "README.md").read_text(encoding="utf-8").lower())
    grams = {tuple(seed_words[i:i + 6]) for i in range(len(seed_words) - 5)}
    for s in manifest.link_only:
        words = re.findall(r"[a-z']+", s.description.lower())
        assert not {tuple(words[i:i + 6]) for i in range(len(words) - 5)} & grams, s.id


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


@pytest.mark.parametrize("entry, message", [
    ('description = """two\nlines"""', "'description' of source 'a' must be one line"),
    ('description = "' + "x" * 301 + '"', "longer than 300 characters"),
    ("author = 3", "'author' of source 'a' must be non-empty text"),
    ('hub_section = ""', "'hub_section' of source 'a' must be non-empty text"),
    ('topics = "rewards"', "topics of source 'a' must be a list of short one-line phrases"),
    ('url = "coproductionscotland.org.uk/x"', "must be an http(s) address"),
])
def test_a_bad_case_study_field_is_one_line_error_with_file_and_line(tmp_path, entry, message):
    text = ('[[source]]\nid = "blog"\ntitle = "B"\nkind = "blog"\n\n'
            f'[[source]]\nid = "a"\ntitle = "A"\nkind = "case-study"\n{entry}\n')  # the bad key is on line 10
    p = _write(tmp_path, "sources.toml", text)
    with pytest.raises(CorpusError) as e:
        load_manifest(p)
    assert "\n" not in str(e.value) and "sources.toml, line 10: " in str(e.value) and message in str(e.value)


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
