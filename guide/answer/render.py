"""Presentation, in one place: how an answer and the sources are shown.

Every rendering is a Jinja2 template under guide/answer/templates/:

- `answer_text`: an answer for a terminal (`guide ask`); `sources_text`: `guide sources`;
- `answer_markdown` / `chat_message`: an answer as Markdown for the web chat;
- `sources_panel`, `related_panel`, `source_card(s)`: the web chat's HTML panels;
- `about_markdown`, `scope_markdown`, `strong`: the web chat's other Markdown;
- `export_markdown` / `export_html`: an answer or a whole conversation to take away (Markdown to
  copy, a self-contained HTML file to download), for the web chat and `guide ask --format`.

Nothing from a source or a visitor is ever live markup. HTML templates autoescape; Markdown
templates escape every value they print (`escape_md`) unless it was built here as `Markup`
(a link whose label is escaped). URLs become links only when they are http(s).
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from guide.sources.corpus import SUMMARY_LABEL

if TYPE_CHECKING:  # pragma: no cover
    from guide.answer.compose import Answer
    from guide.sources.corpus import Source, SourceInfo  # noqa: F401

# The one wording for whether the guide has read a source.
READ = "read by the guide"
LINK_ONLY = "known only by link: not read yet"

# How the answer states (guide/answer/compose.py: answered | related | not_covered) are labelled.
NOT_AN_ANSWER = "(These are the nearest passages, not an answer to your question.)"
STATUS_LABELS = {"answered": "Answered from the sources", "related": "Related, not an answer",
                 "not_covered": "Not covered by the sources"}

# The answer state in words, for a reader of an exported answer who never saw the chat.
STATUS_EXPLAINED = {
    "answered": "The quotes below answer the question.",
    "related": "The sources touch on this but do not answer it directly; the quotes below are the nearest "
               "passages, not a direct answer.",
    "not_covered": "The sources the guide has read do not cover this, so nothing is quoted.",
}
# An answer from a source without labelled example questions (Answer.without_examples): measured
# on such documents, 15% to 72% of the questions they do not answer were still shown
# an answer (README, "How far to trust it").
WITHOUT_EXAMPLES = ("Checked less closely: no example questions have been labelled for this source, so these "
                    "quotes may be about your question without answering it. Read them before relying on them.")
EXPORT_TITLE = "Co-production Guide"

KIND_LABELS = {"blog": "Blog post", "case-study": "Case study", "document": "Document", "guide": "Guide"}

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def escape_md(text: object) -> str:
    """Escape HTML and Markdown so text shows as typed (no links, no tags, no emphasis)."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape("" if text is None else str(text), quote=False))


_MD_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~])")


def escape_md_inline(text: object) -> str:
    """Escape only what could become Markdown or HTML inside a line (for text people copy and
    read raw: "co-production", not "co\\-production"). The export templates put every value
    after a fixed prefix, so nothing here can start a heading, list or quote."""
    return _MD_INLINE_SPECIAL.sub(r"\\\1", "" if text is None else str(text))


def status(src: "SourceInfo | None") -> str:
    return "" if src is None else READ if src.has_text else LINK_ONLY


def made_by(src: "SourceInfo | None") -> str:
    """Who a source is from, as the manifest says: "VOX Scotland · by Michelle McBride"."""
    if src is None:
        return ""
    return " · ".join(x for x in (src.organisation, f"by {src.author}" if src.author else None) if x)


def kind_label(kind: str | None) -> str:
    return KIND_LABELS.get(kind or "", kind or "")


def http_url(url: str | None) -> str | None:
    """The URL when it is http(s) (the only links the guide makes), else None."""
    return url if url and re.match(r"^https?://", url, re.I) else None


def short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


def md_link(label: object, url: str | None, escape=escape_md) -> Markup:
    """A Markdown link with an escaped label (just the label when there is no URL)."""
    return Markup(f"[{escape(label)}]({url})" if url else escape(label))


def marker_name(marker: int, title: object, new_tab: bool = True) -> str:
    """A citation marker's accessible name (what a screen reader says for "[1]")."""
    return f"Quote {marker} from {title}, opens the source" + (" in a new tab" if new_tab else "")


def md_marker(marker: int, link: str | None, title: object = None) -> Markup:
    """A citation marker linking to the passage. With `title` (the web chat) the link's title
    says which quote and source it opens (`marker_name`); the page makes that the link's
    accessible name (guide/web/app.py HEAD: Gradio's sanitiser drops aria-label). Without it, a
    plain Markdown link (exports people paste elsewhere)."""
    if not link:
        return Markup(f"\\[{marker}\\]")
    if title is None or not http_url(link):
        return Markup(f"[\\[{marker}\\]]({link})")
    name = escape_md(marker_name(marker, title)).replace('"', '\\"')
    return Markup(f'[\\[{marker}\\]]({link} "{name}")')


_ESCAPED_MARKER = re.compile(r"\\\[(\d{1,3})\\\]")


def _link_markers(pattern: re.Pattern, escaped: str, quotes: Sequence, render) -> Markup:
    """Each [n] marker (matched by `pattern` in already escaped text) given to `render(marker_text,
    quote, url)` when quote n has a web link; other markers stay as they are."""
    by_marker = {q.marker: q for q in quotes}

    def link(m: re.Match) -> str:
        q = by_marker.get(int(m.group(1)))
        url = http_url(q.link) if q else None
        return render(m.group(0), q, url) if url else m.group(0)

    return Markup(pattern.sub(link, escaped))


def md_cited(text: str, quotes: Sequence, escape=escape_md, named: bool = True) -> Markup:
    """A checked model sentence, escaped, its [n] markers linking to the passages quoted as [n]
    (`named`: as links with an accessible name, see `md_marker`)."""
    return _link_markers(_ESCAPED_MARKER, escape(text), quotes,
                         lambda mark, q, url: md_marker(q.marker, url, q.title) if named else f"[{mark}]({url})")


_HTML_MARKER = re.compile(r"\[(\d{1,3})\]")


def html_cited(text: str, quotes: Sequence) -> Markup:
    """A checked model sentence as HTML, escaped, its [n] markers linking to the passages quoted as [n]."""
    def render(mark: str, q, url: str) -> str:
        label = html.escape(marker_name(q.marker, q.title, new_tab=False))
        return f'<a class="marker" href="{html.escape(url)}" aria-label="{label}">{mark}</a>'

    return _link_markers(_HTML_MARKER, str(Markup.escape(text)), quotes, render)


def _md_finalize(value: object) -> str:
    return value if isinstance(value, Markup) else escape_md(value)


def _env(**kw) -> Environment:
    env = Environment(loader=PackageLoader("guide.answer", "templates"), trim_blocks=True, lstrip_blocks=True,
                      undefined=StrictUndefined, **kw)
    env.globals.update(marker_name=marker_name, NOT_AN_ANSWER=NOT_AN_ANSWER, STATUS_LABELS=STATUS_LABELS,
                       STATUS_EXPLAINED=STATUS_EXPLAINED, WITHOUT_EXAMPLES=WITHOUT_EXAMPLES, READ=READ, LINK_ONLY=LINK_ONLY, SUMMARY_LABEL=SUMMARY_LABEL,
                       status=status, made_by=made_by,
                       kind_label=kind_label)
    env.filters.update(http_url=http_url, short=short, link=md_link, marker=md_marker, cited=md_cited,
                       cited_html=html_cited)
    return env


_TEXT = _env(autoescape=False)
_MARKDOWN = _env(autoescape=False, finalize=_md_finalize)
_EXPORT_MD = _env(autoescape=False, finalize=lambda v: v if isinstance(v, Markup) else escape_md_inline(v))
_EXPORT_MD.filters.update(
    link=lambda label, url: md_link(label, url, escape_md_inline),
    cited=lambda text, quotes: md_cited(text, quotes, escape_md_inline, named=False),
    passage=lambda url: Markup(f" ([open at this passage]({url}))") if http_url(url) else "",
)
_HTML = _env(autoescape=True)


def _render(env: Environment, template: str, **context) -> str:
    return env.get_template(template).render(**context).rstrip("\n")


# --- an answer --------------------------------------------------------------------------------
def answer_text(answer: "Answer") -> str:
    """Plain text for a terminal."""
    return _render(_TEXT, "answer.txt.j2", answer=answer)


def answer_markdown(answer: "Answer", draft: str | None = None) -> str:
    """Markdown for the web chat. Source text and user text are escaped: never live HTML.
    `draft`: a language model's unchecked text so far, shown marked as such in place of the
    checked sentences while it streams."""
    return _render(_MARKDOWN, "answer.md.j2", answer=answer, draft=draft)


def chat_message(answer: "Answer", scope: "SourceInfo | None" = None, draft: str | None = None) -> str:
    """The chat's assistant message: the answer's Markdown, the scope it was asked in, and for an
    abstention a pointer to what to try instead."""
    return _render(_MARKDOWN, "message.md.j2", answer=answer, scope=scope,
                   body=Markup(answer_markdown(answer, draft)))


def sources_text(sources: Sequence["Source | SourceInfo"]) -> str:
    """`guide sources`: one block per source, read or known by link only."""
    return _render(_TEXT, "sources.txt.j2", sources=sources)


# --- an answer or a conversation to take away ------------------------------------------------------
def _export_context(answers: Sequence["Answer"], when: datetime | None) -> dict:
    when = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
    one = len(answers) == 1
    return {"answers": list(answers), "app_title": EXPORT_TITLE,
            "heading": f"{EXPORT_TITLE}: {'an answer' if one else 'a conversation'}",
            "when_text": f"{when.day} {when:%B %Y} at {when:%H:%M} UTC", "when_iso": when.strftime("%Y-%m-%dT%H:%MZ")}


def export_markdown(answers: Sequence["Answer"], when: datetime | None = None) -> str:
    """One answer (a list of one) or a conversation (oldest first) as Markdown to copy: each
    question, its answer state in words, every quote verbatim with its marker linking to the
    passage, the sources and the date (`when`, default now; shown in UTC)."""
    return _render(_EXPORT_MD, "export.md.j2", **_export_context(answers, when)) + "\n"


def export_html(answers: Sequence["Answer"], when: datetime | None = None) -> str:
    """The same as `export_markdown`, as one self-contained HTML document (inline CSS, no
    script, nothing fetched) to download, print or attach."""
    return _render(_HTML, "export.html.j2", **_export_context(answers, when)) + "\n"


# --- what the chat's live region says when an answer is complete (once, not as it streams) -----------
def announcement(status: str, quotes: int = 0) -> str:
    """One sentence for screen readers (and the status line): the question is being answered
    (`pending`), then once, when the turn is finished, how it ended."""
    n = f"{quotes} quote{'' if quotes == 1 else 's'}"
    return {
        "pending": "Looking through the sources for your question…",
        "answered": f"Answer ready: answered from the sources, with {n}.",
        "related": f"Answer ready: related, not a direct answer. The {n} shown are the nearest passages.",
        "not_covered": "Answer ready: not covered by the sources, so nothing is quoted.",
        "refused": "Your question was not asked: see the message in the conversation.",
        "error": "Something went wrong: see the message in the conversation.",
    }.get(status, "")


# --- the web chat's other Markdown ---------------------------------------------------------------
def strong(text: str) -> str:
    """A one-line notice in bold, escaped."""
    return f"**{escape_md(text)}**"


def scope_markdown(scope: "SourceInfo | None") -> str:
    return _render(_MARKDOWN, "scope.md.j2", scope=scope)


def about_markdown(title: str, sources: Sequence["SourceInfo"], llm: str | None = None) -> str:
    """`llm`: the language model's name when one writes the short answers (else None)."""
    return _render(_MARKDOWN, "about.md.j2", title=Markup(escape_md(title)), llm=llm,
                   read=[s for s in sources if s.has_text], link_only=[s for s in sources if not s.has_text])


def eval_summary_markdown(result: dict, *, name: str, n_questions: int, report_md, rows: Sequence[dict],
                          failing: Sequence[str]) -> str:
    """The Evaluate tab's summary of a run: verdict, counts, failing checks, the metrics table."""
    return _render(_MARKDOWN, "eval_summary.md.j2", name=name, n_questions=n_questions, report_md=str(report_md),
                   gate=result["gate"], totals=result["totals"], seconds=result["seconds"], rows=rows,
                   failing=failing, judgement=result.get("guide", {}).get("judgement", {})) + "\n"


# --- the web chat's HTML panels --------------------------------------------------------------------
def _macro(name: str, *args) -> str:
    return str(getattr(_HTML.get_template("chat.html.j2").module, name)(*args)).strip()


def sources_panel(question: str | None, answer: "Answer | None", sources: Mapping[str, "SourceInfo"],
                  related: Sequence = ()) -> str:
    """The passages an answer quotes (or, before any answer, what the panel will show)."""
    return _macro("sources_panel", question, answer, sources, related)


def related_panel(answer: "Answer | None", related: Sequence) -> str:
    """The case studies linked to the last answer, each with its reason (`.source`, `.reason`)."""
    return _macro("related_panel", answer, related)


def source_card(source: "SourceInfo") -> str:
    return _macro("source_card", source)


def source_cards(sources: Iterable["SourceInfo"]) -> str:
    return "".join(source_card(s) for s in sources)


def case_study_cards(cards: Sequence, heading: str) -> str:
    """Explore's case-study cards (`guide.sources.casestudies.Card`: .source, .why, .matched)."""
    from guide.sources.casestudies import FETCH_COMMAND

    return _macro("case_study_cards", cards, heading, FETCH_COMMAND)
