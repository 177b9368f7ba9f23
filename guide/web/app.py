"""The web chat's Gradio wiring. Behaviour lives in guide/chat.py; this file only lays out
widgets and connects their events. Import it lazily (it imports gradio)."""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no telemetry, ever

import gradio as gr  # noqa: E402

from guide.web import eval_view  # noqa: E402
from guide.answer.render import escape_md  # noqa: E402
from guide.web.chat import STARTER_QUESTIONS, TAGLINE, TITLE, Chat, ChatSession  # noqa: E402

PAGE_TITLE = f"{TITLE}: verbatim, cited answers from the Scottish Co-production Network"

HEAD = (
    '<meta name="description" content="A guide that answers questions about co-production with quotes, word for '
    'word, from the Scottish Co-production Network, each linked to the exact passage.">'
)

CSS = """
.gradio-container { max-width: 1180px !important; margin: 0 auto !important; }
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
  color: #4b5563; font-size: .9em;  /* darker than Gradio's subdued grey: readable contrast */
}
.dark .guide-section, .dark .guide-org, .dark .guide-muted, .dark .guide-about, .dark .guide-asked,
.dark .guide-query { color: #cbd5e1; }
.guide-excerpt { font-style: italic; font-size: .9em; margin: .25em 0; }
.guide-reason { font-size: .9em; margin-top: .25em; }
.guide-chip {
  display: inline-block; padding: 0 .5em; border-radius: 999px; font-weight: 700; text-decoration: none !important;
  background: var(--color-accent-soft); color: var(--color-accent) !important; border: 1px solid var(--color-accent);
}
.guide-badge { display: inline-block; font-size: .78em; padding: 0 .5em; border-radius: 999px; border: 1px solid; }
.guide-verified { color: #14532d; background: #dcfce7; border-color: #4ade80; }
.guide-linkonly { color: #78350f; background: #fef3c7; border-color: #f59e0b; }
.guide-open { font-size: .9em; }
.guide-panel a:focus-visible, .guide-card a:focus-visible, #guide-chat a:focus-visible {
  outline: 3px solid var(--color-accent); outline-offset: 2px;
}
#guide-scope p { margin: 0; font-size: .9em; }
#guide-status p { margin: 0; }
#guide-chat blockquote { margin: .4em 0 .8em 0; }
@media (max-width: 640px) {
  .gradio-container { padding: 6px !important; }
  #guide-header h1 { font-size: 1.3em; }
  #guide-chat { height: 62vh !important; }
}
"""


def _theme():
    font = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]  # local fonts: nothing is fetched
    return gr.themes.Default(primary_hue="teal", font=font, font_mono=["ui-monospace", "monospace"])


def _new_session() -> ChatSession:
    return ChatSession()


def build_app(chat: Chat) -> gr.Blocks:
    """The Blocks app for a `Chat`. Launch it with `launch()`."""
    skip = gr.skip

    with gr.Blocks(title=PAGE_TITLE, analytics_enabled=False) as demo:
        session = gr.State(_new_session)  # called once per visitor: each gets their own conversation
        gr.Markdown(f"# {TITLE}\n{TAGLINE}", elem_id="guide-header")
        with gr.Accordion("About this guide: what it is and what it has read", open=False, elem_id="guide-about"):
            gr.Markdown(chat.about_markdown())

        with gr.Tabs(selected="chat") as tabs:
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=320):
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
                        with gr.Group(visible=False, elem_id="guide-feedback") as fb_group:
                            comment = gr.Textbox(label="Add a comment (optional)", lines=2, max_lines=6,
                                                 elem_id="guide-comment",
                                                 placeholder="What was helpful, or what was missing?")
                            send_comment = gr.Button("Send comment", size="sm", elem_id="guide-send-comment")
                        status = gr.Markdown("", elem_id="guide-status")
                    with gr.Column(scale=2, min_width=280):
                        sources_panel = gr.HTML(chat.sources_panel_html(ChatSession()), elem_id="guide-sources")

            with gr.Tab("Explore", id="explore"):
                related = gr.HTML(chat.related_html(ChatSession()), elem_id="guide-related")
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
                gr.Markdown("### Add your own documents\nMarkdown, text, HTML, PDF or Word (.docx). They are "
                            "stored with the guide's sources and quoted word for word like the blog.")
                doc_upload = gr.File(label="Documents to add", file_count="multiple", type="filepath",
                                     file_types=[".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx"],
                                     elem_id="guide-doc-upload")
                doc_add = gr.Button("Add to the guide", elem_id="guide-doc-add")
                doc_result = gr.Markdown(elem_id="guide-doc-result")
                doc_sources = gr.HTML(elem_id="guide-doc-sources")

            with gr.Tab("Evaluate", id="evaluate"):
                gr.Markdown("### Run a question set through this guide\nEach question is asked the way the chat "
                            "asks it; the answers are scored and checked against the project's thresholds. "
                            "Question file format: evals/README.md.")
                sets = eval_view.project_sets()
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

        def on_ask(text, sess: ChatSession):
            first = True
            for _ in chat.stream(sess, text):
                if first:  # the question on screen; a refused one stays in the box so it can be shortened
                    box = skip() if sess.last_turn.status == "refused" else ""
                    yield sess.messages(), box, skip(), skip(), ""
                    first = False
                else:
                    yield sess.messages(), skip(), skip(), skip(), skip()
            yield sess.messages(), skip(), chat.sources_panel_html(sess), chat.related_html(sess), skip()

        def on_example(sess: ChatSession, evt: gr.SelectData):
            value = evt.value
            text = value.get("text", "") if isinstance(value, dict) else str(value or "")
            yield from on_ask(text, sess)

        ask.click(on_ask, [question, session], answer_outputs, api_name="ask", concurrency_id="ask")
        question.submit(on_ask, [question, session], answer_outputs, api_visibility="undocumented",
                        concurrency_id="ask")
        chatbot.example_select(on_example, [session], answer_outputs, api_visibility="undocumented",
                               concurrency_id="ask")

        def on_clear(sess: ChatSession):
            sess.clear()
            return ([], "", chat.sources_panel_html(sess), chat.related_html(sess), "Conversation cleared.",
                    chat.scope_markdown(sess), gr.update(visible=False), gr.update(visible=False), "")

        clear_outputs = [chatbot, question, sources_panel, related, status, scope, unscope, fb_group, comment]
        clear.click(on_clear, [session], clear_outputs, api_name="clear", concurrency_limit=None)
        chatbot.clear(on_clear, [session], clear_outputs, api_visibility="undocumented", concurrency_limit=None)

        def on_like(sess: ChatSession, evt: gr.LikeData):
            message = chat.record_feedback(sess, evt.index if isinstance(evt.index, int) else evt.index[0],
                                           evt.liked)
            return escape_md(message), gr.update(visible=sess.comment_turn is not None)

        chatbot.like(on_like, [session], [status, fb_group], api_visibility="undocumented", concurrency_limit=None)

        def on_comment(text, sess: ChatSession):
            message = chat.add_comment(sess, text)
            saved = message.startswith("Thanks")
            return escape_md(message), ("" if saved else skip())

        send_comment.click(on_comment, [comment, session], [status, comment], api_visibility="undocumented",
                           concurrency_limit=None)
        comment.submit(on_comment, [comment, session], [status, comment], api_visibility="undocumented",
                       concurrency_limit=None)

        def scoper(source_id):
            def on_scope(sess: ChatSession):
                notice = chat.set_scope(sess, source_id)
                return (chat.scope_markdown(sess), gr.update(visible=sess.source is not None), escape_md(notice),
                        gr.Tabs(selected="chat"))
            return on_scope

        scope_outputs = [scope, unscope, status, tabs]
        for sid, b in scope_buttons:
            b.click(scoper(sid), [session], scope_outputs, api_visibility="undocumented", concurrency_limit=None)
        unscope.click(scoper(None), [session], scope_outputs, api_visibility="undocumented", concurrency_limit=None)

        def on_add_documents(files):
            message = chat.add_documents(list(files or []))
            return message, "<h4>Sources now</h4>" + chat.sources_html()

        # Adding documents rebuilds the index: one job at a time with the answers.
        doc_add.click(on_add_documents, [doc_upload], [doc_result, doc_sources], api_name="add_documents",
                      concurrency_id="ask")

        def on_evaluate(set_name, upload, progress=gr.Progress(track_tqdm=True)):
            view = eval_view.run_evaluation(chat.guide, set_name=set_name, upload=upload, progress=True)
            return view.markdown, (str(view.png) if view.png else None)

        # The same guide as the chat, one job at a time with its answers (concurrency_id "ask").
        eval_run.click(on_evaluate, [eval_set, eval_upload], [eval_summary, eval_chart], api_name="evaluate",
                       concurrency_id="ask")

    return demo


def launch(chat: Chat, *, host: str = "127.0.0.1", port: int = 7860, block: bool = True) -> tuple[gr.Blocks, str]:
    """Start the app on host:port (never a public share link). Returns (app, local address).

    With block=False the server runs in a background thread: call `app.close()` to stop it."""
    demo = build_app(chat)
    demo.queue(default_concurrency_limit=1)  # one answer at a time (2 cores); feedback is not queued behind it
    _, url, _ = demo.launch(
        server_name=host, server_port=port, share=False, inbrowser=False, prevent_thread_lock=True, quiet=True,
        show_error=False, footer_links=["api"], run_history=False, ssr_mode=False, mcp_server=False,
        enable_monitoring=False, pwa=False, theme=_theme(), css=CSS, head=HEAD,
    )
    if block:
        demo.block_thread()
    return demo, url
