"""The web chat's Gradio wiring. Behaviour lives in guide/chat.py; this file only lays out
widgets and connects their events. Import it lazily (it imports gradio)."""

from __future__ import annotations

# GRADIO_ANALYTICS_ENABLED=False is set by the entry point (guide.settings.offline_environment)
# before this module is imported; the Blocks below also pass analytics_enabled=False.
import gradio as gr

from guide.errors import PermissionDenied
from guide.sources.library import MAX_FILE_BYTES
from guide.web import eval_view
from guide.answer.render import escape_md
from guide.web.auth import EVALUATION_BUSY, Access, PageTitle, evaluation_slot
from guide.web.chat import NOTHING_TO_EXPORT, STARTER_QUESTIONS, TAGLINE, TITLE, Chat, ChatSession

ALL_CHALLENGES = "All case studies (no filter)"
PAGE_TITLE = f"{TITLE}: verbatim, cited answers from the Scottish Co-production Network"

HEAD = (
    '<meta name="description" content="A guide that answers questions about co-production with quotes, word for '
    'word, from the Scottish Co-production Network, each linked to the exact passage.">'
    # Screen readers hear a new answer once: the status line (#guide-status's text, set when an answer
    # is complete) is the chat's live region, and the conversation log is not (Gradio makes it one, which
    # would read a streamed answer as it grows). Set again whenever Gradio redraws them.
    "<script>(() => { const fix = () => {"
    " const log = document.querySelector('#guide-chat [role=log]');"
    " if (log && log.getAttribute('aria-live') !== 'off') log.setAttribute('aria-live', 'off');"
    # a citation marker's title says which quote and source it opens: that is its name too
    " document.querySelectorAll('#guide-chat a[title^=\"Quote \"]:not([aria-label])')"
    ".forEach(a => a.setAttribute('aria-label', a.title));"
    # Gradio names each message div with its raw Markdown (backslashes, addresses): the text is the name
    " document.querySelectorAll('#guide-chat [data-testid=bot][aria-label], #guide-chat [data-testid=user][aria-label]')"
    ".forEach(e => e.removeAttribute('aria-label'));"
    # an empty image's placeholder is a plain div named "Empty value" (a name a div may not have)
    " document.querySelectorAll('.empty[aria-label]:not([role])').forEach(e => e.removeAttribute('aria-label'));"
    # the starter questions are buttons in a role=list without list items: a group instead
    " document.querySelectorAll('#guide-chat .examples[role=list]').forEach(e => {"
    " e.setAttribute('role', 'group'); e.setAttribute('aria-label', 'Starter questions'); });"
    # Gradio's own announcer ("Loading", "common.complete" after each event) would talk over it
    " document.querySelectorAll('.sr-only[role=status]').forEach(e => { e.removeAttribute('role');"
    " e.setAttribute('aria-live', 'off'); });"
    # The live regions: the chat's status line, and the results of adding documents, managing
    # sources and running an evaluation (their text, not their block, which also holds Gradio's
    # ticking progress timer)
    " for (const id of ['guide-status', 'guide-doc-result', 'guide-manage-result', 'guide-eval-summary']) {"
    " const st = document.querySelector('#' + id + ' [data-testid=markdown-wrapper]');"
    " if (st && st.getAttribute('aria-live') !== 'polite') { st.setAttribute('role', 'status');"
    " st.setAttribute('aria-live', 'polite'); st.setAttribute('aria-atomic', String(id === 'guide-status')); } } };"
    " new MutationObserver(fix).observe(document.documentElement, {childList: true, subtree: true}); })();</script>"
)

CSS = """
.gradio-container { max-width: 1180px !important; margin: 0 auto !important; }
/* Gradio pads the page 32 px a side: 6 px at 320 px wide (reflow, WCAG 1.4.10). Top level, as
   Gradio keeps only top-level rules unscoped, and .main sits outside its scope. */
.gradio-container .main { padding-left: clamp(6px, 2.5vw, 32px) !important;
  padding-right: clamp(6px, 2.5vw, 32px) !important; }
#guide-header h1 { margin: 0 0 .2em 0; font-size: 1.6em; }
#guide-header p { margin: 0; color: var(--body-text-color); }
.guide-panel h3 { margin: 0 0 .5em 0; font-size: 1.05em; }
.guide-panel h4 { margin: .8em 0 .4em 0; font-size: .95em; }
.guide-panel p { margin: .3em 0; }
.guide-sources, .guide-related-list { list-style: none; padding-left: 0 !important; margin: .4em 0; }
.guide-source, .guide-related, .guide-card {
  border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .55em .7em; margin: 0 0 .55em 0;
  background: var(--background-fill-primary); overflow-wrap: anywhere;
}
.guide-source-head { display: flex; flex-wrap: wrap; gap: .35em; align-items: baseline; }
.guide-title { font-weight: 600; }
.guide-section, .guide-org, .guide-muted, .guide-about, .guide-asked, .guide-query {
  color: var(--body-text-color-subdued); font-size: .9em;  /* grey-600 light, grey-400 dark: 4.5:1 or more */
}
.guide-excerpt { font-style: italic; font-size: .9em; margin: .25em 0; }
.guide-reason { font-size: .9em; margin-top: .25em; }
.guide-chip {
  display: inline-block; padding: 0 .5em; border-radius: 999px; font-weight: 700; text-decoration: none !important;
  background: #f0fdfa; color: #115e59 !important; border: 1px solid #0f766e;  /* 7:1 and more */
}
.dark button[role=tab][aria-selected=true] { color: #5eead4 !important; }  /* the accent has no dark shade */
.dark .guide-chip { background: #134e4a; color: #ccfbf1 !important; border-color: #5eead4; }
/* Visible focus for everything the keyboard reaches, on any background (WCAG 2.4.7, 2.4.11). */
.gradio-container a:focus-visible, .gradio-container button:focus-visible, .gradio-container [role=tab]:focus-visible,
.gradio-container input:focus-visible, .gradio-container textarea:focus-visible, .gradio-container select:focus-visible {
  outline: 3px solid #0b3d91 !important; outline-offset: 2px !important;
}
.dark .gradio-container a:focus-visible, .dark .gradio-container button:focus-visible,
.dark .gradio-container [role=tab]:focus-visible, .dark .gradio-container input:focus-visible,
.dark .gradio-container textarea:focus-visible { outline-color: #93c5fd !important; }
footer a, footer button, .show-api { color: var(--body-text-color) !important; }
.guide-badge { display: inline-block; font-size: .78em; padding: 0 .5em; border-radius: 999px; border: 1px solid; }
.guide-verified { color: #14532d; background: #dcfce7; border-color: #4ade80; }
.guide-linkonly { color: #78350f; background: #fef3c7; border-color: #f59e0b; }
.guide-open { font-size: .9em; }
#guide-scope p { margin: 0; font-size: .9em; }
#guide-status p { margin: 0; }
#guide-chat blockquote { margin: .4em 0 .8em 0; }
@media (max-width: 640px) {
  .gradio-container { padding: 6px !important; }
  .guide-col { min-width: 100% !important; }  /* reflow at 320 px: the columns stack, none wider than the screen */
  #guide-header h1 { font-size: 1.3em; }
  #guide-chat { height: 62vh !important; }
}
"""


def _theme():
    font = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]  # local fonts: nothing is fetched
    theme = gr.themes.Default(primary_hue="teal", font=font, font_mono=["ui-monospace", "monospace"])
    # White on teal-700 (5.5:1), not Gradio's teal-500 (2.5:1): WCAG 1.4.3 needs 4.5:1.
    # Accent (selected tab, links) teal-700 and subdued text grey-600: 4.5:1 or more on white.
    return theme.set(color_accent="*primary_700", body_text_color_subdued="*neutral_600",
                     button_primary_background_fill="*primary_700", button_primary_background_fill_hover="*primary_800",
                     button_primary_text_color="white", button_primary_background_fill_dark="*primary_700",
                     button_primary_background_fill_hover_dark="*primary_800", button_primary_text_color_dark="white")


AUDIT_HEADERS = ["when (UTC)", "who", "action", "source", "outcome", "detail"]

# Questions being answered or sent at once. The work itself is limited by the chat's answer
# slots (Chat.slots); this only bounds how many threads wait for a slot, leaving Gradio's
# worker threads free for ratings, comments and the other events (docs/decisions.md, issue 10).
ASK_STREAMS = 16

# Events whose outcome the status line says (the page's one live region): Gradio shows no timer
# for them and its own announcer ("Complete", queue positions) stays silent, so a screen reader
# hears one message for each (docs/accessibility.md).
QUIET = "hidden"


def build_app(chat: Chat, access: Access | None = None, *, streams: int = ASK_STREAMS) -> gr.Blocks:
    """The Blocks app for a `Chat`. Launch it with `launch()`.

    `access` decides who may do what (guide/web/auth.py); every handler asks it on the server,
    whatever the page shows. Without sign-in (the default) the one visitor may do everything."""
    skip = gr.skip
    access = access or Access()
    editor_default = not access.enabled  # with sign-in, editor controls appear only for editors (on load)

    def allow(request: gr.Request | None, action: str, sess: ChatSession | None = None) -> str:
        """The visitor's name if their role allows `action`; otherwise a refusal (gr.Error)."""
        user = getattr(request, "username", None)
        try:
            access.check(user, action)
        except PermissionDenied as exc:
            raise gr.Error(str(exc), title="Not allowed", print_exception=False) from None
        who = access.who(user)
        if sess is not None:
            sess.user = who
        return who

    with gr.Blocks(title=PAGE_TITLE, analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        # Copied once per visitor, on their first event: each gets a conversation (and id) of their
        # own. Not a callable default: Gradio sets that with a load event of its own, which can run
        # after the visitor's first question has filled a session and replace it with an empty one
        # (the answer then "can't be rated", a follow-up loses its history).
        session = gr.State(ChatSession())
        gr.Markdown(f"# {TITLE}\n{TAGLINE}", elem_id="guide-header")
        signed_in = gr.Markdown("", elem_id="guide-signed-in", visible=access.enabled)
        with gr.Accordion("About this guide: what it is and what it has read", open=False, elem_id="guide-about"):
            gr.Markdown(chat.about_markdown())

        with gr.Tabs(selected="chat") as tabs:
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=320, elem_classes=["guide-col"]):
                        chatbot = gr.Chatbot(
                            label="Conversation", show_label=False, elem_id="guide-chat", height=560,
                            sanitize_html=True, allow_tags=False, render_markdown=True, latex_delimiters=[],
                            line_breaks=False, buttons=["copy"], feedback_options=("Like", "Dislike"), layout="bubble",
                            placeholder="**Ask a question, or start with one of these:**",
                            examples=[{"text": q} for q in STARTER_QUESTIONS],
                        )
                        scope = gr.Markdown(chat.scope_markdown(ChatSession()), elem_id="guide-scope")
                        unscope = gr.Button("Answer from every source again", size="sm", visible=False)
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(
                                label="Your question", show_label=False, elem_id="guide-question", lines=1,
                                max_lines=6, scale=5, min_width=180, autofocus=True,
                                placeholder="Ask about co-production in difficult times…",
                            )
                            ask = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="guide-ask")
                        with gr.Row():
                            clear = gr.Button("Clear conversation", size="sm", variant="secondary",
                                              elem_id="guide-clear")
                            take_answer = gr.Button("Export latest answer", size="sm", variant="secondary",
                                                    elem_id="guide-export-answer")
                            take_all = gr.Button("Export conversation", size="sm", variant="secondary",
                                                 elem_id="guide-export-conversation")
                        with gr.Group(visible=False, elem_id="guide-export-panel") as take_panel:
                            take_md = gr.Textbox(label="Markdown to copy into a document or email", lines=6,
                                                 max_lines=14, interactive=False, buttons=["copy"],
                                                 elem_id="guide-export-md")
                            take_html = gr.File(label="HTML file to download (opens in any browser and prints)",
                                                interactive=False, height=90, elem_id="guide-export-html")
                        with gr.Group(visible=False, elem_id="guide-feedback") as fb_group:
                            comment = gr.Textbox(label="Add a comment (optional)", lines=2, max_lines=6,
                                                 elem_id="guide-comment",
                                                 placeholder="What was helpful, or what was missing?")
                            send_comment = gr.Button("Send comment", size="sm", elem_id="guide-send-comment")
                        status = gr.Markdown("", elem_id="guide-status")
                    with gr.Column(scale=2, min_width=280, elem_classes=["guide-col"]):
                        sources_panel = gr.HTML(chat.sources_panel_html(ChatSession()), elem_id="guide-sources")

            with gr.Tab("Explore", id="explore"):
                related = gr.HTML(chat.related_html(ChatSession()), elem_id="guide-related")
                with gr.Row(equal_height=True):
                    cs_challenge = gr.Dropdown(choices=[ALL_CHALLENGES, *chat.challenges()], value=ALL_CHALLENGES,
                                               label="Filter by the blog's challenge", scale=2,
                                               elem_id="guide-cs-challenge")
                    cs_topic = gr.Textbox(label="…or type a topic", lines=1, max_lines=1, scale=3,
                                          placeholder="e.g. paying people with lived experience",
                                          elem_id="guide-cs-topic")
                    cs_rank = gr.Button("Rank the case studies", scale=1, elem_id="guide-cs-rank")
                case_studies = gr.HTML(chat.case_study_cards_html(), elem_id="guide-casestudies")
                gr.Markdown("### Every source the guide knows\nRead sources can be quoted. Sources known only by "
                            "link are the case studies the blog points to: the guide can suggest them but not "
                            "quote them.")
                scope_buttons: list[tuple[str, gr.Button]] = []
                for s in chat.sources():
                    with gr.Group(elem_classes=["guide-source-row"]):
                        gr.HTML(chat.source_card_html(s))
                        if chat.can_scope(s.id):
                            b = gr.Button("Ask about this one", size="sm", elem_id=f"guide-scope-{s.id}")
                        else:
                            b = gr.Button("Can't be quoted: known only by link", size="sm", interactive=False,
                                          elem_id=f"guide-scope-{s.id}")
                        scope_buttons.append((s.id, b))
                with gr.Column(visible=editor_default, elem_id="guide-editor-tools") as editor_tools:
                    gr.Markdown("### Add your own documents\nMarkdown, text, HTML, PDF or Word (.docx). They are "
                                "stored with the guide's sources and quoted word for word like the blog.")
                    doc_upload = gr.File(label="Documents to add", file_count="multiple", type="filepath",
                                         file_types=[".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx"],
                                         elem_id="guide-doc-upload")
                    doc_add = gr.Button("Add to the guide", elem_id="guide-doc-add")
                    doc_result = gr.Markdown(elem_id="guide-doc-result")
                    doc_sources = gr.HTML(elem_id="guide-doc-sources")
                    with gr.Accordion("Manage sources, feedback and the audit trail", open=False,
                                      elem_id="guide-manage"):
                        with gr.Row(equal_height=True):
                            remove_choice = gr.Dropdown(choices=_removable(chat), value=None, scale=3,
                                                        allow_custom_value=True,  # the library checks the id
                                                        label="Source to remove", elem_id="guide-remove-choice")
                            remove_run = gr.Button("Remove from the guide", variant="stop", scale=1,
                                                   elem_id="guide-remove")
                        fetch_run = gr.Button("Fetch the case studies known only by link (needs internet)",
                                              elem_id="guide-fetch")
                        manage_result = gr.Markdown(elem_id="guide-manage-result")
                        export_run = gr.Button("Export all feedback (CSV)", elem_id="guide-export")
                        export_file = gr.File(label="Feedback export", interactive=False, height=90,
                                              elem_id="guide-export-file")
                        gr.Markdown("#### Audit trail\nWho added, removed or fetched which source, and when "
                                    "(newest first).")
                        audit_table = gr.Dataframe(headers=AUDIT_HEADERS, interactive=False, wrap=True,
                                                   elem_id="guide-audit")
                        audit_refresh = gr.Button("Refresh the audit trail", size="sm", elem_id="guide-audit-refresh")

            with gr.Tab("Evaluate", id="evaluate", visible=editor_default, elem_id="guide-eval-tab") as eval_tab:
                gr.Markdown("### Run a question set through this guide\nEach question is asked the way the chat "
                            "asks it; the answers are scored and checked against the project's thresholds. "
                            "Question file format: evals/README.md.")
                sets = eval_view.project_sets(chat.guide.settings.evals_dir)
                with gr.Row(equal_height=False):
                    eval_set = gr.Dropdown(choices=sets, value=sets[0] if sets else None, label="Project question set",
                                           elem_id="guide-eval-set")
                    eval_upload = gr.File(label="…or upload a question file (.jsonl); it is used instead",
                                          file_types=[".jsonl"], type="filepath", elem_id="guide-eval-upload")
                eval_run = gr.Button("Run", variant="primary", elem_id="guide-eval-run")
                eval_summary = gr.Markdown(eval_view.NOTHING_CHOSEN, elem_id="guide-eval-summary")
                eval_chart = gr.Image(label="Report chart", type="filepath", interactive=False, buttons=["download"],
                                      elem_id="guide-eval-chart")

        # --- events --------------------------------------------------------------------
        answer_outputs = [chatbot, question, sources_panel, related, status]

        def on_rank(challenge, topic, request: gr.Request):
            allow(request, "explore")
            return chat.case_study_cards_html(None if challenge == ALL_CHALLENGES else challenge, topic)

        # Ranking embeds one short text: quick, not queued behind answers.
        for trigger in (cs_rank.click, cs_topic.submit, cs_challenge.input):
            trigger(on_rank, [cs_challenge, cs_topic], [case_studies], api_visibility="undocumented",
                    concurrency_limit=None)

        def on_ask(text, sess: ChatSession, request: gr.Request):
            allow(request, "ask", sess)
            first, done = True, False
            # The status line is the page's live region: emptied when a question is sent, then set
            # once, when the answer is complete (a screen reader hears it once, not as it streams).
            for _ in chat.stream(sess, text):
                if first:  # the question on screen; a refused one stays in the box so it can be shortened
                    box = skip() if sess.last_turn.status == "refused" else ""
                    yield sess.messages(), box, skip(), skip(), escape_md(chat.announcement(sess))
                    first = False
                elif sess.last_turn.status != "pending":  # finished: the answer and its panels in one update
                    yield (sess.messages(), skip(), chat.sources_panel_html(sess), chat.related_html(sess),
                           escape_md(chat.announcement(sess)))
                    done = True
                else:
                    yield sess.messages(), skip(), skip(), skip(), skip()
            if not done and sess.last_turn.status != "refused":
                yield (sess.messages(), skip(), chat.sources_panel_html(sess), chat.related_html(sess),
                       escape_md(chat.announcement(sess)))

        def on_example(sess: ChatSession, evt: gr.SelectData, request: gr.Request):
            value = evt.value
            text = value.get("text", "") if isinstance(value, dict) else str(value or "")
            yield from on_ask(text, sess, request)

        ask.click(on_ask, [question, session], answer_outputs, api_name="ask", concurrency_id="ask",
                  show_progress=QUIET, concurrency_limit=streams)
        question.submit(on_ask, [question, session], answer_outputs, api_visibility="undocumented",
                        show_progress=QUIET, concurrency_id="ask", concurrency_limit=streams)
        chatbot.example_select(on_example, [session], answer_outputs, api_visibility="undocumented",
                               show_progress=QUIET, concurrency_id="ask", concurrency_limit=streams)

        def on_clear(sess: ChatSession, request: gr.Request):
            allow(request, "ask", sess)
            sess.clear()
            return ([], "", chat.sources_panel_html(sess), chat.related_html(sess), "Conversation cleared.",
                    chat.scope_markdown(sess), gr.update(visible=False), gr.update(visible=False), "",
                    gr.update(visible=False))

        clear_outputs = [chatbot, question, sources_panel, related, status, scope, unscope, fb_group, comment,
                         take_panel]
        clear.click(on_clear, [session], clear_outputs, api_name="clear", show_progress=QUIET, concurrency_limit=None)
        chatbot.clear(on_clear, [session], clear_outputs, api_visibility="undocumented", show_progress=QUIET,
                      concurrency_limit=None)

        def taker(what: str):
            def on_take(sess: ChatSession, request: gr.Request):
                allow(request, "ask", sess)
                result = chat.export(sess, what)
                if result is None:
                    return escape_md(NOTHING_TO_EXPORT), gr.update(visible=False), "", None
                told = ("your latest answer" if what == "answer"
                        else f"the conversation ({result.answers} answer{'s' if result.answers != 1 else ''})")
                return (f"Exported {told}: copy the Markdown below or download the HTML file.",
                        gr.update(visible=True), result.markdown, str(result.html_path))
            return on_take

        take_outputs = [status, take_panel, take_md, take_html]
        take_answer.click(taker("answer"), [session], take_outputs, api_name="export_answer", show_progress=QUIET,
                          concurrency_limit=None)
        take_all.click(taker("conversation"), [session], take_outputs, api_name="export_conversation",
                       show_progress=QUIET, concurrency_limit=None)

        def on_like(sess: ChatSession, evt: gr.LikeData, request: gr.Request):
            allow(request, "rate", sess)
            message = chat.record_feedback(sess, evt.index if isinstance(evt.index, int) else evt.index[0],
                                           evt.liked)
            return escape_md(message), gr.update(visible=sess.comment_turn is not None)

        chatbot.like(on_like, [session], [status, fb_group], api_visibility="undocumented", show_progress=QUIET,
                     concurrency_limit=None)

        def on_comment(text, sess: ChatSession, request: gr.Request):
            allow(request, "rate", sess)
            message = chat.add_comment(sess, text)
            saved = message.startswith("Thanks")
            return escape_md(message), ("" if saved else skip())

        send_comment.click(on_comment, [comment, session], [status, comment], api_visibility="undocumented",
                           show_progress=QUIET, concurrency_limit=None)
        comment.submit(on_comment, [comment, session], [status, comment], api_visibility="undocumented",
                       show_progress=QUIET, concurrency_limit=None)

        def scoper(source_id):
            def on_scope(sess: ChatSession, request: gr.Request):
                allow(request, "explore", sess)
                notice = chat.set_scope(sess, source_id)
                return (chat.scope_markdown(sess), gr.update(visible=sess.source is not None), escape_md(notice),
                        gr.Tabs(selected="chat"))
            return on_scope

        scope_outputs = [scope, unscope, status, tabs]
        for sid, b in scope_buttons:
            b.click(scoper(sid), [session], scope_outputs, api_visibility="undocumented", concurrency_limit=None)
        unscope.click(scoper(None), [session], scope_outputs, api_visibility="undocumented", concurrency_limit=None)

        def on_add_documents(files, request: gr.Request):
            who = allow(request, "upload")
            message = chat.add_documents(list(files or []), actor=who)
            return message, "<h4>Sources now</h4>" + chat.sources_html()

        # Adding documents rebuilds the index: one upload at a time, and it takes an answer slot.
        doc_add.click(on_add_documents, [doc_upload], [doc_result, doc_sources], api_name="add_documents",
                      concurrency_id="documents", concurrency_limit=1)

        def on_evaluate(set_name, upload, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
            allow(request, "evaluate")
            with evaluation_slot(chat.guide.settings.data_dir) as mine:
                if not mine:
                    return f"**{EVALUATION_BUSY}**", None
                view = eval_view.run_evaluation(chat.guarded_guide(), set_name=set_name, upload=upload,
                                                progress=True)
            return view.markdown, (str(view.png) if view.png else None)

        # The same guide as the chat: one run at a time, each question taking an answer slot in
        # turn with the visitors' questions (so a run never holds the chat up for its whole length).
        eval_run.click(on_evaluate, [eval_set, eval_upload], [eval_summary, eval_chart], api_name="evaluate",
                       concurrency_id="evaluate", concurrency_limit=1)

        # --- editors only: every handler checks the role on the server ---------------------
        def audit_rows() -> list[list[str]]:
            from guide.sources.audit import AuditLog, audit_path

            entries = AuditLog(audit_path(chat.guide.settings.data_dir)).entries(limit=200)
            return [[e.at, e.actor, e.action, e.source, e.outcome, e.detail] for e in entries]

        def after_change(message):
            return message, gr.update(choices=_removable(chat), value=None), audit_rows()

        def on_remove(source_id, request: gr.Request):
            return after_change(chat.remove_source(source_id, actor=allow(request, "remove")))

        def on_fetch(request: gr.Request):
            return after_change(chat.fetch_sources(actor=allow(request, "fetch")))

        change_outputs = [manage_result, remove_choice, audit_table]
        # Changing the corpus re-indexes: one change at a time (with uploads); the re-index takes an answer slot.
        remove_run.click(on_remove, [remove_choice], change_outputs, api_name="remove_source",
                         concurrency_id="documents", concurrency_limit=1)
        fetch_run.click(on_fetch, None, change_outputs, api_name="fetch_sources", concurrency_id="documents",
                        concurrency_limit=1)

        def on_export(request: gr.Request):
            allow(request, "export")
            path = chat.export_feedback()
            return (None, "Feedback can't be exported: this server has no feedback store.") if path is None else (
                str(path), f"Exported {chat.store.count()} feedback records.")

        export_run.click(on_export, None, [export_file, manage_result], api_name="export_feedback",
                         concurrency_limit=None)

        def on_audit(request: gr.Request):
            allow(request, "audit")
            return audit_rows()

        audit_refresh.click(on_audit, None, [audit_table], api_name="audit_trail", concurrency_limit=None)

        def on_load(request: gr.Request):
            """Show each visitor the controls of their role (the handlers check it again)."""
            user = getattr(request, "username", None)
            editor = access.allowed(user, "upload")
            role = access.role(user)
            who = (f"Signed in as **{escape_md(user)}** ({role}) · [Sign out](logout)" if access.enabled and user
                   else "")
            return (gr.update(visible=editor), gr.update(visible=editor), who,
                    audit_rows() if access.allowed(user, "audit") else [])

        demo.load(on_load, None, [editor_tools, eval_tab, signed_in, audit_table], api_visibility="undocumented",
                  show_progress=QUIET, concurrency_limit=None)

    return demo


def _removable(chat: Chat) -> list[tuple[str, str]]:
    """(title, id) of the sources whose text the guide has read: what an editor may remove."""
    return [(f"{s.title} ({s.id})", s.id) for s in chat.sources() if chat.can_scope(s.id)]


def launch(chat: Chat, *, host: str = "127.0.0.1", port: int = 7860, block: bool = True,
           access: Access | None = None, max_file_bytes: int = MAX_FILE_BYTES,
           streams: int = ASK_STREAMS) -> tuple[gr.Blocks, str]:
    """Start the app on host:port (never a public share link). Returns (app, local address).

    With an `access` that has users, every page and API call needs sign-in (Gradio's own auth).
    Uploads over `max_file_bytes` (the library's limit) are refused before they are written.
    With block=False the server runs in a background thread: call `app.close()` to stop it."""
    import anyio
    from starlette.middleware import Middleware

    access = access or Access()
    demo = build_app(chat, access, streams=streams)
    demo.queue(default_concurrency_limit=1)  # events not named otherwise: one at a time

    async def authenticate(username: str, password: str) -> bool:  # scrypt off the event loop
        return await anyio.to_thread.run_sync(access.authenticate, username, password)

    _, url, _ = demo.launch(
        server_name=host, server_port=port, share=False, inbrowser=False, prevent_thread_lock=True, quiet=True,
        show_error=False, footer_links=["api"], run_history=False, ssr_mode=False, mcp_server=False,
        enable_monitoring=False, pwa=False, theme=_theme(), css=CSS, head=HEAD,
        auth=authenticate if access.enabled else None, max_file_size=max_file_bytes,
        auth_message=f"Sign in to the {TITLE}." if access.enabled else None,
        app_kwargs={"middleware": [Middleware(PageTitle, title=PAGE_TITLE, sign_in_title=f"Sign in: {TITLE}")]},
    )
    if block:
        demo.block_thread()
    return demo, url
