"""The ask path assembled: settings -> corpus -> chunks -> store -> retriever -> composer.

`Guide.open(settings)` loads a built index; `guide.ask(question, history)` answers;
`guide.as_runnable()` is the same path as a LangChain Runnable. `ingest(settings)` builds
or refreshes the index (no embedding work when nothing changed).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Iterator

import numpy as np

from guide.answer.compose import Answer, Composer
from guide.answer.llm import AnswerWriter, Draft
from guide.answer.scope import CORPUS_GROUP, Example, ScopeModel, examples_from_sets
from guide.search.chunking import Chunk, chunk_document
from guide.sources.casestudies import CaseStudyMatcher
from guide.sources.corpus import Manifest, SourceInfo, load_documents, load_manifest
from guide.search.embedding import CachedEmbeddings, make_embedder
from guide.errors import GuideError, IndexMissingError, QuestionError, StoreUnavailableError
from guide.answer.followup import Resolved, resolve
from guide.search.retrieval import Hit, HybridRetriever, KeywordIndex
from guide.settings import Settings
from guide.search.store import BuildReport, Store, fingerprint, open_client
from guide.search.rerank import make_reranker
from guide.answer.answerability import make_reader
from guide.evaluation.metrics import canonical_url

log = logging.getLogger(__name__)
FIRST_BUILD_MESSAGE = "no index yet: building it from corpus/ now (the same as `guide ingest`)…"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def embedder_for(settings: Settings) -> CachedEmbeddings:
    return make_embedder(settings.embedder, settings.index_dir / "embeddings.sqlite3")


def matcher_for(manifest: Manifest, embedder: CachedEmbeddings) -> CaseStudyMatcher:
    """Matches questions to the manifest's case studies with the guide's own embedder."""
    return CaseStudyMatcher(manifest.sources, embedder.embed_documents, embed_query=embedder.embed_query)


def scope_for(settings: Settings, chunks: list[Chunk], embedder: CachedEmbeddings) -> ScopeModel | None:
    """The out-of-scope detector (guide/answer/scope.py): the corpus's sentences and the tuning
    sets' answerable questions in scope, their unanswerable ones out. Only for the real embedder
    (its thresholds were calibrated with it); None when no tuning set is there."""
    if settings.embedder != "minilm":
        return None
    try:
        questions = examples_from_sets(settings.calibration_sets)
    except GuideError as exc:  # a broken tuning file must not stop the guide answering
        log.warning("scope examples not used: %s", exc)
        return None
    if not any(not e.in_scope for e in questions):
        return None
    # the sources the example questions are about: only their questions are judged with the margin
    keys = {}
    for c in chunks:
        keys[canonical_url(c.source_id)] = c.source_id
        if c.url:
            keys[canonical_url(c.url)] = c.source_id
    covered = {keys[canonical_url(s)] for e in questions for s in e.sources if canonical_url(s) in keys}
    if not covered:
        return None
    sentences = [Example(c.span_text(sp.start, sp.end), True, CORPUS_GROUP) for c in chunks for sp in c.sentences
                 if c.source_id in covered]
    return ScopeModel.build(sentences + questions, embedder.embed_documents, sources=covered)


def corpus_chunks(settings: Settings, manifest: Manifest | None = None) -> tuple[Manifest, dict[str, str], list[Chunk]]:
    manifest = manifest or load_manifest(settings.manifest_path)
    docs = load_documents(manifest, settings.corpus_dir)
    chunks = [c for d in docs for c in chunk_document(d)]
    return manifest, {d.id: d.text for d in docs}, chunks


def ingest(settings: Settings, *, embedder: CachedEmbeddings | None = None, force: bool = False) -> BuildReport:
    """Build the index from the corpus; a no-op when nothing changed."""
    embedder = embedder or embedder_for(settings)
    _, texts, chunks = corpus_chunks(settings)
    client = open_client(settings.index_dir, settings.chroma_url, create=True)
    report = Store(client, settings.collection_prefix).build(chunks, embedder, force=force)
    if report.rebuilt:  # warm the sentence cache so the first question is fast
        embedder.embed_documents([texts[c.source_id][s.start:s.end] for c in chunks for s in c.sentences])
        scope_for(settings, chunks, embedder)  # and the scope examples
    embedder.build_query_encoder()  # questions embed faster through ONNX (once per model)
    return report


def answer_writer(settings: Settings, llm: Any = None) -> AnswerWriter | None:
    """The conversational answer's writer: `llm` (any LangChain chat model), else a ChatOpenAI
    for GUIDE_LLM_URL, else None. Its sentences are checked with the settings' reranker."""
    if llm is None and settings.llm_url:
        from guide.answer.llm import make_chat_model

        llm = make_chat_model(settings)
    if llm is None:
        return None


    return AnswerWriter(llm, make_reranker(settings), timeout=settings.llm_timeout, secret=settings.llm_api_key)


def open_or_build(settings: Settings, *, embedder: CachedEmbeddings | None = None,
                  on_build: Callable[[str], None] | None = None) -> "Guide":
    """`Guide.open`, building the index first when there is none yet (a first run): building
    takes seconds, so a fresh checkout answers at once. `on_build` hears one line saying so."""
    embedder = embedder or embedder_for(settings)
    try:
        return Guide.open(settings, embedder=embedder)
    except IndexMissingError:
        pass
    if on_build is not None:
        on_build(FIRST_BUILD_MESSAGE)
    ingest(settings, embedder=embedder)
    return Guide.open(settings, embedder=embedder)


def validate_question(question: Any, max_chars: int) -> str:
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    q = _CONTROL.sub(" ", question).strip()
    if not q:
        raise QuestionError("Please type a question.")
    if len(q) > max_chars:
        raise QuestionError(
            f"That question is {len(q):,} characters long; the limit is {max_chars:,}. Please shorten it to the point you want answered."
        )
    return q


@dataclass
class _Step:
    question: str
    history: list[dict]
    source: str | None
    resolved: Resolved | None = None
    hits: list[Hit] | None = None
    started: float = 0.0


class Guide:
    def __init__(self, settings: Settings, manifest: Manifest, texts: dict[str, str], chunks: list[Chunk],
                 retriever: HybridRetriever, composer: Composer, embedder: CachedEmbeddings, index_info: dict,
                 stale: bool, case_studies: CaseStudyMatcher | None = None, store: Store | None = None,
                 writer: AnswerWriter | None = None):
        self.settings = settings
        self.case_studies = case_studies or matcher_for(manifest, embedder)
        self.manifest = manifest
        self.texts = texts
        self.chunks = chunks
        self.retriever = retriever
        self.composer = composer
        self.embedder = embedder
        self.index_info = index_info
        self.stale = stale
        self.store = store  # where the served collection's pointer lives (for `refreshed`)
        self.writer = writer  # the optional language model's checked answer (None: quotes only)

    @classmethod
    def open(cls, settings: Settings | None = None, *, embedder: CachedEmbeddings | None = None,
             llm: Any = None, scope: bool = True) -> "Guide":
        """Open the built index. `llm`: any LangChain chat model for the conversational answer
        (default: a ChatOpenAI for GUIDE_LLM_URL when it is set, else none). `scope=False`: no
        out-of-scope examples (a corpus the tuning sets' questions are not about)."""
        settings = settings or Settings.from_env()
        embedder = embedder or embedder_for(settings)
        manifest, texts, corpus = corpus_chunks(settings)
        client = open_client(settings.index_dir, settings.chroma_url, create=False)
        store = Store(client, settings.collection_prefix)
        info = store.current()
        if info is None:
            raise IndexMissingError("the index has not been built yet. Build it with `guide ingest` (or `make run`).")
        chunks = [c for c in store.load_chunks(info["collection"]) if c.source_id in texts]
        stale = info.get("fingerprint") != fingerprint(embedder.model_id, corpus)
        return cls.assemble(settings, manifest, texts, chunks, client, info, embedder, stale=stale, llm=llm,
                            scope=scope)

    @classmethod
    def assemble(cls, settings: Settings, manifest: Manifest, texts: dict[str, str], chunks: list[Chunk], client,
                 info: dict, embedder: CachedEmbeddings, *, stale: bool = False, llm: Any = None,
                 scope: bool = True) -> "Guide":
        """Wire retriever and composer over a built collection (`info["collection"]`). `scope=False`:
        no out-of-scope examples (a corpus the tuning sets' questions are not about, e.g. SciFact)."""
        from langchain_chroma import Chroma

        vectorstore = Chroma(client=client, collection_name=info["collection"], embedding_function=embedder,
                             create_collection_if_not_exists=False)
        retriever = HybridRetriever(vectorstore=vectorstore, embedder=embedder,
                                    keyword=KeywordIndex(chunks), k=settings.top_k)
        sources = {s.id: s for s in manifest.sources}
        case_studies = matcher_for(manifest, embedder)
        scope_model = scope_for(settings, chunks, embedder) if scope else None
        # the answer threshold was calibrated with the scope margin in the answerability; without
        # it, the one calibrated without it
        answer_cut = settings.answer_cut if scope_model is not None else settings.answer_cut_without_scope
        reader = make_reader(settings) if settings.embedder == "minilm" else None  # calibrated with the real model
        composer = Composer(texts, sources, chunks, embedder.embed_documents,
                            threshold=settings.abstain_threshold, answer_threshold=answer_cut,
                            max_quotes=settings.max_quotes,
                            case_studies=case_studies, reranker=make_reranker(settings), scope=scope_model,
                            answer_threshold_without_scope=settings.answer_cut_without_scope,
                            reader=reader, reader_threshold=settings.reader_threshold,
                            embed_query=embedder.embed_query)
        return cls(settings, manifest, texts, chunks, retriever, composer, embedder, info, stale, case_studies,
                   Store(client, settings.collection_prefix), writer=answer_writer(settings, llm))

    def refreshed(self) -> "Guide":
        """This guide, or a new one over the index `guide ingest` built since this one was opened.

        A build writes a new collection and then moves the store's pointer (guide/search/store.py),
        so a long-running process (the web app) calls this before each question: one small read of
        the pointer; when it has moved, the corpus texts and the new collection are loaded (the
        embedding cache is shared, so nothing is embedded again). If the pointer cannot be read,
        this guide is returned unchanged and the question's own search reports the problem."""
        if self.store is None:
            return self
        try:
            info = self.store.current()
        except StoreUnavailableError:
            return self
        if info is None or info.get("collection") == self.index_info.get("collection"):
            return self
        return Guide.open(self.settings, embedder=self.embedder, llm=self.writer.model if self.writer else None)

    # --- the ask path, step by step (shared by ask() and as_runnable()) ----------------
    def _start(self, question: str, history: list[dict] | None, source: str | None) -> _Step:
        q = validate_question(question, self.settings.max_question_chars)
        if source is not None and source not in self.texts:
            known = ", ".join(sorted(self.texts))
            raise QuestionError(f"No source {source!r} has been read; choose one of: {known}.")
        return _Step(q, list(history or []), source, started=time.perf_counter())

    def _resolve(self, step: _Step) -> _Step:
        step.resolved = resolve(step.question, step.history)
        return step

    def _retrieve(self, step: _Step) -> _Step:
        step.hits = self.retriever.search(step.resolved.query, source_id=step.source)
        return step

    def _compose(self, step: _Step) -> Answer:
        r = step.resolved
        qvec = np.asarray(self.embedder.embed_query(r.query), dtype=np.float32)
        own_vec = None
        if r.rewritten and r.own_terms:
            own_vec = np.asarray(self.embedder.embed_query(step.question), dtype=np.float32)
        answer = self.composer.compose(step.question, r.query, r.rewritten, step.hits, qvec, own_vec=own_vec,
                                       own_terms=r.own_terms, source_filter=step.source)
        answer.timings["total_ms"] = round((time.perf_counter() - step.started) * 1000, 2)
        return answer

    def _write(self, step: _Step, answer: Answer) -> Iterator[Draft]:
        """The language model's checked sentences over the quotes (when one is configured)."""
        if self.writer is not None and self.writer.applies(answer):
            yield from self.writer.stream(answer, step.started)
            answer.timings["total_ms"] = round((time.perf_counter() - step.started) * 1000, 2)

    def ask_stream(self, question: str, history: list[dict] | None = None, source: str | None = None, *,
                   slot: ContextManager = contextlib.nullcontext()) -> Iterator[Draft | Answer]:
        """Ask, yielding the language model's provisional `Draft`s (unchecked: show them only
        until the answer comes) and, last, the `Answer` with only checked sentences.

        `slot` is held around this process's own work (retrieval, reranking, composing), not
        while the language model server writes: the web chat passes its answer slots."""
        with slot:
            step = self._retrieve(self._resolve(self._start(question, history, source)))
            answer = self._compose(step)
        yield from self._write(step, answer)
        yield answer

    def ask(self, question: str, history: list[dict] | None = None, source: str | None = None) -> Answer:
        for event in self.ask_stream(question, history, source):
            pass
        return event

    def as_runnable(self):
        """The ask path as a LangChain Runnable: input a question string or
        {"question": ..., "history": [...], "source": ...}; output an `Answer`."""
        from langchain_core.runnables import RunnableLambda

        def start(inp: Any) -> _Step:
            if isinstance(inp, str):
                inp = {"question": inp}
            return self._start(inp.get("question"), inp.get("history"), inp.get("source"))

        return (
            RunnableLambda(start, name="validate")
            | RunnableLambda(self._resolve, name="resolve_followup")
            | RunnableLambda(self._retrieve, name="hybrid_retrieve")
            | RunnableLambda(lambda step: self._finish(step), name="compose_and_check")
        )

    def _finish(self, step: _Step) -> Answer:
        answer = self._compose(step)
        for _ in self._write(step, answer):
            pass
        return answer

    def sources(self) -> list[SourceInfo]:
        """Every source the guide knows; `has_text` when the index holds its text."""
        indexed = {c.source_id for c in self.chunks}
        return [s.info(has_text=s.id in indexed) for s in self.manifest.sources]
