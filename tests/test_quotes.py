"""Quote verification and deep links."""

from __future__ import annotations

from urllib.parse import unquote

from guide.answer.quotes import locate, make_quote, normalise, passage_link, text_fragment_link, verify

SRC = "Trust is a commodity.  It takes time\nto build and can be easily lost."


def test_verify_accepts_whitespace_differences_only():
    s = SRC.index("It takes")
    e = len(SRC)
    assert verify("It takes time to build and can be easily lost.", SRC, s, e)
    assert not verify("It takes time to build and can be quickly lost.", SRC, s, e)
    assert not verify("It takes time to build", SRC, s, e)  # must be the whole span
    assert not verify("x", SRC, -1, 3) and not verify("", SRC, 0, 0)


def test_make_quote_marks_verified_from_an_actual_check():
    fields = dict(source_id="s", title="T", section="S", url=None, link=None)
    q = make_quote("Trust is a commodity.", SRC, 0, SRC.index(".") + 1, **fields)
    assert q.verified and q.text == "Trust is a commodity."
    stale = make_quote("Trust is a resource.", SRC, 0, SRC.index(".") + 1, **fields)
    assert not stale.verified


def test_locate_finds_a_quote_with_other_whitespace_and_rejects_inventions():
    assert locate("It takes time to build", SRC) == (SRC.index("It takes"), SRC.index(" and can"))
    assert locate("It takes effort to build", SRC) is None
    assert locate("   ", SRC) is None


def test_text_fragment_link_encodes_start_and_end():
    quote = "Resources are scarce and difficult decisions are having to be made - decisions that may not align."
    link = text_fragment_link("https://example.org/post#top", quote)
    base, frag = link.split("#:~:text=")
    assert base == "https://example.org/post"
    start, end = frag.split(",")
    assert unquote(start) == "Resources are scarce and difficult"
    assert unquote(end) == "decisions that may not align."
    assert "-" not in frag and " " not in frag


def test_short_quote_is_linked_whole_and_special_characters_are_escaped():
    link = text_fragment_link("https://example.org/p", "co-production, trust & time")
    assert link.endswith("#:~:text=co%2Dproduction%2C%20trust%20%26%20time")
    assert text_fragment_link(None, "x") is None


def test_pdf_quotes_link_to_their_page():
    assert passage_link("https://example.org/a.pdf", "text", 4) == "https://example.org/a.pdf#page=4"
    assert "#:~:text=" in passage_link("https://example.org/a", "text", 4)


def test_normalise():
    assert normalise("  a\n\tb  c ") == "a b c"
