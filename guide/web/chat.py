"""The web chat's behaviour, without Gradio (guide/app.py only wires this to widgets).

A `ChatSession` is one visitor's conversation: the turns asked so far, the source the next
questions are scoped to, and the feedback records they left. `Chat` answers for a session:

    chat = Chat(guide, store=FeedbackStore(settings.feedback_db))
    session = ChatSession()
    for partial_markdown in chat.stream(session, "How do we keep people's trust?"):
        ...  # show session.messages(): the last assistant message, as soon as it is ready

The CONTENT of every answer comes from `Guide.ask` (the same path the evals call), or from the
guide's `ask_stream` when it writes its answer in parts; this module only validates, sends each
part as soon as it is ready (no pacing), and turns failures into friendly messages (logged, never
a stack trace).

Everything shown is rendered by guide/answer/render.py (escaped: text from a source or from a
visitor is never live HTML or script).
"""

from __future__ import annotations

import copy
import html
import logging
import re
import threading
import uuid
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Iterator

from guide.answer import render
from guide.answer.compose import STATUSES, Answer
from guide.answer.llm import Draft
from guide.answer.render import escape_md
from guide.errors import GuideError, QuestionError
from guide.redact import redact
from guide.sources.corpus import SourceInfo

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from guide.engine import Guide
    from guide.web.auth import RateLimit
    from guide.web.feedback import FeedbackStore

log = logging.getLogger("guide.web.chat")

TITLE = "Co-production Guide"
TAGLINE = ("Answers to your questions about co-production, in the words of the Scottish Co-production "
           "Network: every answer is made of quotes, word for word, each linked to the exact passage.")

# Questions for a first-time visitor (each one is answered from the blog).
STARTER_QUESTIONS = (
    "How can we keep people's trust when difficult decisions are being made?",
    "Co-production takes a lot of time. How do we hold on to its principles when time is scarce?",
    "What can we do when the people driving a project have to step back?",
    "What questions should we ask ourselves about trust?",
)

FRIENDLY_ERROR = ("Sorry, something went wrong while I was looking through the sources, so I can't answer "
                  "that just now. The problem has been logged (reference {ref}). Please try again in a moment, "
                  "or ask in a different way.")
NO_FEEDBACK_STORE = "Feedback can't be saved on this server."
SHOWN_QUESTION_CHARS = 400  # a refused long question is shown shortened


@dataclass
class Turn:
    """One question and what the guide said."""

    question: str  # as asked (the validated text when it was valid)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    answer: Answer | None = None
    markdown: str = ""  # the assistant message as shown (grows while streaming)
    status: str = "pending"  # pending | answered | related | not_covered (Answer.status) | refused | error
    source: str | None = None  # the scope it was asked in

    @property
    def shown_question(self) -> str:
        q = self.question
        if len(q) > SHOWN_QUESTION_CHARS:
            q = q[:SHOWN_QUESTION_CHARS].rstrip() + f"… ({len(self.question):,} characters)"
        return escape_md(q)

    @property
    def in_history(self) -> bool:
        """Only questions the guide actually answered (or said it could not answer) inform follow-ups."""
        return self.status in STATUSES

    def plain_answer(self) -> str:
        if self.answer is not None:
            return self.answer.to_text()
        return html.unescape(_MD_UNESCAPE.sub(r"\1", self.markdown))


_MD_UNESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Related:
    """A case study linked to an answer, and the reason that links them."""

    source: SourceInfo
    reason: str


@dataclass(frozen=True)
class Export:
    """An answer or a conversation to take away (`Chat.export`)."""

    markdown: str
    html_path: "Path"
    answers: int


NOTHING_TO_EXPORT = "Ask a question first: there is no answer to export yet."


@dataclass
class ChatSession:
    """One visitor's conversation (kept per browser session by the app)."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    turns: list[Turn] = field(default_factory=list)
    source: str | None = None  # source id the next questions are scoped to (None: everything read)
    feedback_ids: dict[str, int] = field(default_factory=dict)  # turn id -> feedback record id
    comment_turn: str | None = None  # the turn a comment will be attached to
    user: str = "anonymous"  # the signed-in user (recorded with feedback)

    def __deepcopy__(self, memo) -> "ChatSession":
        """A copy is a conversation of its own, with its own id. The app's `gr.State` holds one
        untouched session, and Gradio deep-copies it for each visitor on their first event."""
        return ChatSession(**{f.name: copy.deepcopy(getattr(self, f.name), memo)
                              for f in fields(self) if f.name != "id"})

    def history(self) -> list[dict]:
        """Earlier turns for `Guide.ask(history=...)`, oldest first."""
        out: list[dict] = []
        for t in self.turns:
            if not t.in_history:
                continue
            out.append({"role": "user", "content": t.question})
            out.append({"role": "assistant", "content": t.plain_answer()})
        return out

    def messages(self) -> list[dict]:
        """The conversation for the chat widget: user text escaped so it shows exactly as typed."""
        out: list[dict] = []
        for t in self.turns:
            out.append({"role": "user", "content": t.shown_question})
            if t.markdown:
                out.append({"role": "assistant", "content": t.markdown})
        return out

    def turn_for_message(self, index: int) -> Turn | None:
        """The turn whose ASSISTANT message is the widget's message number `index` (else None)."""
        i = 0
        for t in self.turns:
            if t.markdown and index == i + 1:
                return t
            i += 2 if t.markdown else 1
        return None

    @property
    def last_answer(self) -> Answer | None:
        for t in reversed(self.turns):
            if t.answer is not None:
                return t.answer
        return None

    @property
    def last_turn(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def clear(self) -> None:
        self.turns.clear()
        self.source = None
        self.feedback_ids.clear()
        self.comment_turn = None


class Chat:
    """Answers questions for chat sessions, streaming each answer as it becomes ready.

    `slots` answers are worked on at once (retrieval, reranking, composing); any number of
    answers are being *sent* at once, since sending holds no slot. Before each question the
    guide is `refreshed()`, so an index rebuilt by `guide ingest` in another process is served
    from the next question on, with no restart.
    """

    def __init__(self, guide: "Guide", *, store: "FeedbackStore | None" = None, slots: int = 1,
                 limit: "RateLimit | None" = None):
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.guide = guide
        self.store = store
        self.limit = limit  # questions per minute per session (None: no limit)
        self.slots = slots
        self._slots = threading.BoundedSemaphore(slots)
        self._reload = threading.Lock()
        self.max_chars = guide.settings.max_question_chars
        self._sources = guide.sources()

    def current_guide(self) -> "Guide":
        """The guide to answer with: reloaded if the index was rebuilt since it was opened."""
        refreshed = getattr(self.guide, "refreshed", None)
        if refreshed is None:
            return self.guide
        with self._reload:  # one reload at a time; the others then see the new guide
            try:
                new = refreshed()
            except Exception:  # noqa: BLE001 — a broken new index must not stop the old one serving
                log.exception("the index was rebuilt but could not be loaded; still serving %s",
                              self.guide.index_info.get("collection"))
                return self.guide
            if new is not self.guide:
                log.info("serving the rebuilt index %s (was %s)", new.index_info.get("collection"),
                         self.guide.index_info.get("collection"))
                self.guide, self._sources = new, new.sources()
        return self.guide

    def answer_parts(self, question: str, history: list[dict], source: str | None) -> Iterator["Answer | Draft"]:
        """The answer as it becomes ready: an LLM's provisional `Draft`s, if any, then the final
        `Answer` (an `Answer` is always the last part).

        An answer slot is held only while this process works: around `ask` for a guide that only
        has `ask`; a guide with `ask_stream` is given the slot (`slot=`) and holds it around its
        own retrieval and composing, not while a language model server writes. Parts are sent by
        the caller without a slot."""
        with self._slots:
            guide = self.current_guide()
            stream = getattr(guide, "ask_stream", None)
            if stream is None:
                answer = guide.ask(question, history=history, source=source)
        if stream is None:
            yield answer
            return
        yield from stream(question, history=history, source=source, slot=self._slots)

    def guarded_guide(self) -> "_SlotGuide":
        """The current guide for other callers (the Evaluate tab): every `ask` takes a slot."""
        return _SlotGuide(self)

    # --- sources and scope ---------------------------------------------------------------
    def sources(self) -> list[SourceInfo]:
        return list(self._sources)

    def source(self, source_id: str | None) -> SourceInfo | None:
        return next((s for s in self._sources if s.id == source_id), None)

    def can_scope(self, source_id: str) -> bool:
        return source_id in self.guide.texts

    def set_scope(self, session: ChatSession, source_id: str | None) -> str:
        """Scope the next questions to one source (None: every source read). Returns a notice."""
        if source_id is None:
            session.source = None
            return "Now answering from every source the guide has read."
        src = self.source(source_id)
        if src is None:
            return "That source isn't in the guide's list."
        if not self.can_scope(source_id):
            return (f"The guide knows “{src.title}” only by its link: it hasn't read its text, so it can't "
                    "quote it. Open the link to read it.")
        session.source = source_id
        return f"Next questions will be answered only from “{src.title}”."

    def scope_markdown(self, session: ChatSession) -> str:
        return render.scope_markdown(self.source(session.source) if session.source else None)

    # --- asking --------------------------------------------------------------------------
    def stream(self, session: ChatSession, question: object) -> Iterator[str]:
        """Ask `question` in `session`; yields the assistant message as it grows.

        The first yield comes before the engine is asked (the question is on screen, the answer
        is not yet): it is the empty string. Then each part of the answer as soon as it is ready
        (one, complete, without an LLM); the last yield is the whole message. The turn's status
        leaves "pending" as soon as the answer is known to be complete (with the last yield when
        the guide says so, else after it).
        """
        raw = question if isinstance(question, str) else ""
        turn = Turn(question=raw.strip(), source=session.source)
        session.turns.append(turn)
        try:
            from guide.engine import validate_question

            turn.question = validate_question(question, self.max_chars)
            if self.limit is not None and (notice := self.limit.check(session.id)):
                raise QuestionError(notice)
        except QuestionError as exc:
            turn.status = "refused"
            turn.markdown = render.strong(str(exc))
            yield turn.markdown
            return
        yield ""  # the question is shown; the answer is on its way

        history = session.history()  # earlier answered turns (this one is still pending)
        answer = None
        try:
            for answer in self.answer_parts(turn.question, history, session.source):
                turn.markdown = self.render(answer, session.source)
                if not isinstance(answer, Draft):  # the final answer: the app sends it with its panels at once
                    self._finish(turn, answer)
                yield turn.markdown  # sent as soon as it is ready: no pacing
        except QuestionError as exc:
            turn.status = "refused"
            turn.markdown = render.strong(str(exc))
            yield turn.markdown
            return
        except Exception as exc:  # noqa: BLE001 — anything at all becomes a friendly message
            ref = uuid.uuid4().hex[:8]
            kind = "guide error" if isinstance(exc, GuideError) else "unexpected error"
            log.exception("%s answering %r (reference %s, session %s)", kind, turn.question[:200], ref,
                          session.id[:8])
            turn.status = "error"
            turn.markdown = escape_md(FRIENDLY_ERROR.format(ref=ref))
            yield turn.markdown
            return

        if answer is not None and turn.answer is None:
            self._finish(turn, answer)

    @staticmethod
    def _finish(turn: Turn, answer: Answer) -> None:
        turn.answer = answer
        turn.status = answer.status

    def ask(self, session: ChatSession, question: object) -> Turn:
        """Ask without streaming; returns the finished turn."""
        for _ in self.stream(session, question):
            pass
        return session.turns[-1]

    def render(self, answer: "Answer | Draft", source_id: str | None = None) -> str:
        """The assistant message for an answer: the engine's Markdown, with a note of the scope.
        A language model's `Draft` shows marked as unchecked until the checked answer replaces it."""
        scope = self.source(source_id) if source_id else None
        if isinstance(answer, Draft):
            return render.chat_message(answer.answer, scope, draft=answer.text)
        return render.chat_message(answer, scope)

    # --- panels (HTML rendered by guide/answer/render.py, every value escaped) ------------------
    def sources_panel_html(self, session: ChatSession) -> str:
        turn = next((t for t in reversed(session.turns) if t.answer is not None), None)
        if turn is None:
            return render.sources_panel(None, None, {})
        return render.sources_panel(turn.question, turn.answer, {s.id: s for s in self._sources},
                                    self.related_case_studies(turn.answer))

    def related_case_studies(self, answer: Answer | None) -> list[Related]:
        """Case studies linked to the current answer, each with the reason that links them."""
        if answer is None:
            return []
        if answer.abstained:  # the case studies that address the question (matched by meaning), with why
            return [Related(self.source(s.id) or s, s.why or "") for s in answer.unread_sources]
        cited = {q.source_id for q in answer.quotes}
        out: dict[str, Related] = {}
        for r in answer.further_reading:
            src = r.source and self.source(r.source.id)
            if src and src.id not in cited and src.id not in out:
                out[src.id] = Related(src, f"The blog recommends it as further reading in “{r.quote.section}”, "
                                           "the section this answer quotes.")
        by_section: dict[str, list[int]] = {}
        for q in answer.quotes:
            by_section.setdefault(q.section, []).append(q.marker)
        for s in self._sources:
            sec = s.linked_from
            if sec in by_section and s.id not in cited and s.id not in out:
                markers = ", ".join(f"[{m}]" for m in by_section[sec])
                out[s.id] = Related(s, f"Linked from “{sec}”, the section quote {markers} comes from.")
        for m in self.guide.case_studies.match(answer.question):  # by meaning, with why
            src = self.source(m.source.id)
            if src and src.id not in cited and src.id not in out:
                out[src.id] = Related(src, m.why)
        return list(out.values())

    # --- Explore: the case studies as cards, filtered by a blog challenge or a typed topic -------
    def challenges(self) -> list[str]:
        """The blog's challenges (its "Challenge: ..." sections), in the order the blog has them."""
        blogs = {s.id for s in self._sources if s.kind == "blog"}
        out: list[str] = []
        for c in sorted(self.guide.chunks, key=lambda c: (c.source_id, c.start)):
            if c.source_id in blogs and c.section.startswith("Challenge:") and c.section not in out:
                out.append(c.section)
        return out

    def case_study_cards_html(self, challenge: str | None = None, topic: str | None = None) -> str:
        """Every case study as a card; a blog challenge or a typed topic ranks them (same matching
        as the answers) and says why each matching one is there."""
        from guide.sources.casestudies import challenge_query, explore_cards

        topic = (topic or "").strip()[: self.max_chars] or None
        challenge = challenge if challenge in self.challenges() else None
        text = challenge_query(self.guide.chunks, challenge) if challenge and not topic else None
        cards = explore_cards(self.guide.case_studies, self._sources, challenge=challenge, challenge_text=text,
                              topic=topic)
        if topic:
            heading = f"Case studies, closest to “{topic}” first"
        elif challenge:
            heading = f"Case studies for “{challenge}”, closest first"
        else:
            heading = f"The network's case studies the guide knows ({len(cards)})"
        return render.case_study_cards(cards, heading)

    def related_html(self, session: ChatSession) -> str:
        a = session.last_answer
        return render.related_panel(a, self.related_case_studies(a))

    def source_card_html(self, s: SourceInfo) -> str:
        return render.source_card(s)

    def sources_html(self) -> str:
        """Every source the guide knows, as cards (re-rendered after an upload)."""
        return render.source_cards(self._sources)
    # --- adding documents (the Explore tab's upload control) -------------------------------
    def add_documents(self, files: list, actor: str | None = None) -> str:
        """Add uploaded documents to the corpus, refresh the index (only new text is embedded)
        and serve them at once. Returns a Markdown summary, one line per file.

        A file that cannot be added says why and nothing else changes; a failed index rebuild
        leaves the previous index serving. `actor` is recorded in the audit trail."""
        from guide.sources.library import upload

        files = [f for f in (files or []) if f]
        if not files:
            return "Choose one or more files first (Markdown, text, HTML, PDF or Word .docx)."

        def change():
            report = upload(self.guide.settings, files, embedder=self.guide.embedder, actor=actor)
            return report.summary().splitlines(), report.changed and report.error is None, False

        return self._change_corpus(change, "adding the documents", "New questions can now be answered from "
                                                                   "these documents too.")

    def remove_source(self, source_id: str | None, actor: str | None = None) -> str:
        """Take a source out of the guide (its stored text and passages) and serve without it."""
        from guide.sources.library import remove_source

        if not source_id:
            return "Choose a source to remove first."

        def change():
            r = remove_source(self.guide.settings, source_id, actor=actor)
            return [str(r)], r.ok, True

        return self._change_corpus(change, "removing the source", "Its passages are no longer quoted.")

    def fetch_sources(self, actor: str | None = None) -> str:
        """Download the case studies known only by link (needs internet) and serve them."""
        from guide.sources.library import fetch_corpus

        def change():
            results = fetch_corpus(self.guide.settings, actor=actor)
            lines = [str(r) for r in results] or ["Nothing to fetch: every source with a link already has its text."]
            return lines, any(r.ok and r.status in ("added", "updated") for r in results), True

        return self._change_corpus(change, "fetching the sources", "New questions can now be answered from "
                                                                    "the fetched sources too.")

    def _change_corpus(self, change, doing: str, done: str) -> str:
        """Run `change()` -> (lines, changed, needs_ingest); re-index and serve the new corpus."""
        from guide.engine import Guide, ingest

        try:
            lines, changed, needs_ingest = change()  # files written (and an upload's text embedded)
            if changed:
                with self._slots:  # re-indexing and reloading are work like answering: they take a slot
                    if needs_ingest:
                        build = ingest(self.guide.settings, embedder=self.guide.embedder)
                        lines.append(f"index refreshed: {build.chunks} passages, {build.embedded} newly embedded")
                    with self._reload:
                        self.guide = Guide.open(self.guide.settings, embedder=self.guide.embedder)
                        self._sources = self.guide.sources()
        except GuideError as exc:
            log.warning("%s failed: %s", doing, exc)
            return f"Sorry, something went wrong while {doing}: {escape_md(redact(exc))}"
        except Exception:  # never a stack trace in the page
            ref = uuid.uuid4().hex[:8]
            log.exception("%s failed (ref %s)", doing, ref)
            return f"Sorry, something went wrong while {doing} (reference {ref})."
        out = [f"- {escape_md(line)}" for line in lines]
        if changed:
            out.append(f"\n{done}")
        return "\n".join(out)

    @staticmethod
    def announcement(session: ChatSession) -> str:
        """What the live region says about the last turn: that it is being answered, then once,
        when it is finished, how it ended (the answer state in words)."""
        t = session.last_turn
        if t is None:
            return ""
        return render.announcement(t.status, len(t.answer.quotes) if t.answer else 0)

    # --- taking an answer away ----------------------------------------------------------------
    def export(self, session: ChatSession, what: str = "answer") -> "Export | None":
        """The latest answer (`what="answer"`) or every answered turn of the conversation
        (`"conversation"`) as Markdown to copy and a self-contained HTML file to download (in a
        fresh temp folder). None when nothing has been answered yet."""
        import tempfile
        from datetime import datetime, timezone
        from pathlib import Path

        answers = [t.answer for t in session.turns if t.answer is not None]
        if what == "answer":
            answers = answers[-1:]
        elif what != "conversation":
            raise ValueError(f"what must be 'answer' or 'conversation', not {what!r}")
        if not answers:
            return None
        when = datetime.now(timezone.utc)
        out = Path(tempfile.mkdtemp(prefix="guide-export-")) / f"coproduction-guide-{what}-{when:%Y-%m-%d-%H%M}.html"
        out.write_text(render.export_html(answers, when), encoding="utf-8")
        return Export(markdown=render.export_markdown(answers, when), html_path=out, answers=len(answers))

    # --- feedback ------------------------------------------------------------------------
    def export_feedback(self) -> "Path | None":
        """Every feedback record as CSV in a fresh temp folder (None without a store). Editors only:
        the app checks the role before calling it."""
        import tempfile
        from pathlib import Path

        if self.store is None:
            return None
        out = Path(tempfile.mkdtemp(prefix="guide-feedback-")) / "feedback.csv"
        self.store.export(out, "csv")
        return out

    def record_feedback(self, session: ChatSession, message_index: int, liked: object) -> str:
        """Store a thumbs up/down (liked True/False; "" clears it) for the answer at `message_index`."""
        turn = session.turn_for_message(int(message_index))
        if turn is None:
            return "That message can't be rated."
        rating = "up" if liked is True else "down" if liked is False else "cleared"
        if self.store is None:
            return NO_FEEDBACK_STORE
        try:
            if rating == "cleared" and turn.id not in session.feedback_ids:
                return "Rating removed."
            self._save(session, turn, rating=rating)
        except GuideError as exc:
            log.warning("feedback not saved: %s", exc)
            return f"Sorry, your feedback could not be saved ({exc})."
        session.comment_turn = turn.id
        return {"up": "Thanks, saved: 👍 helpful.", "down": "Thanks, saved: 👎 not helpful.",
                "cleared": "Rating removed."}[rating]

    def _save(self, session: ChatSession, turn, **fields) -> None:
        """Add the answer's feedback record, or update it if this answer has one."""
        rid = session.feedback_ids.get(turn.id)
        if rid is None:
            session.feedback_ids[turn.id] = self.store.add(**fields, **self._record(session, turn))
        else:
            self.store.update(rid, **fields)

    def add_comment(self, session: ChatSession, comment: object) -> str:
        """Attach a comment to the answer rated last (or, if none was rated, the latest answer)."""
        text = comment.strip() if isinstance(comment, str) else ""
        if not text:
            return "Type a comment first."
        turn = next((t for t in session.turns if t.id == session.comment_turn), None)
        if turn is None:
            turn = next((t for t in reversed(session.turns) if t.markdown), None)
        if turn is None:
            return "Ask a question first: comments are about an answer."
        if self.store is None:
            return NO_FEEDBACK_STORE
        try:
            self._save(session, turn, comment=text)
        except GuideError as exc:
            log.warning("comment not saved: %s", exc)
            return str(exc) if "limit" in str(exc) else f"Sorry, your comment could not be saved ({exc})."
        return "Thanks, your comment was saved."

    def _record(self, session: ChatSession, turn: Turn) -> dict:
        a = turn.answer
        sources = []
        if a is not None:
            sources = [{"marker": q.marker, "source_id": q.source_id, "title": q.title, "section": q.section,
                        "url": q.url, "link": q.link, "verified": q.verified, "text": q.text} for q in a.quotes]
        return {"session_id": session.id, "turn_id": turn.id, "question": turn.question, "user": session.user,
                "query": a.query if a else None, "answer": turn.plain_answer(),
                "abstained": a.abstained if a else None, "sources": sources}

    # --- about -----------------------------------------------------------------------------
    def about_markdown(self) -> str:
        writer = getattr(self.guide, "writer", None)
        return render.about_markdown(TITLE, self._sources, llm=writer.name if writer else None)


class _SlotGuide:
    """A chat's current guide whose `ask` waits for an answer slot (see `Chat.guarded_guide`)."""

    def __init__(self, chat: Chat):
        self._chat = chat

    def __getattr__(self, name: str):
        return getattr(self._chat.guide, name)

    def ask(self, question, history=None, source=None) -> Answer:
        for part in self._chat.answer_parts(question, list(history or []), source):
            pass
        return part
