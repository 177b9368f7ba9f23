"""Composing an answer from retrieved passages: verbatim quotes, citations, reflection
questions, further reading, grounding score and honest abstention.

Nothing here invents text. Every quote is a span of a stored source, built from offsets and
checked against that source (`verified=True` only when the check passes); an unverified span
is never put in an answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Sequence

import numpy as np

from guide.search.chunking import Chunk, Span, heading_spans
from guide.answer import render
from guide.sources.casestudies import CaseStudyMatcher
from guide.sources.corpus import Source, SourceInfo
from guide.answer.opposites import denies_nothing, opposites, takes_as_given
from guide.answer.focus import asked_for, asking_part, focus_text, supports, topic_terms
from guide.answer.answerability import asks_for_a_fact
from guide.answer.coverage import answer_type, fits_type, haystack, missing_names, names_source
from guide.answer.conditions import about_years, asked_years
from guide.answer.measures import MEASURES, gives_measure, measure_asked
from guide.answer.swaps import closest_sentence, swapped_names
from guide.answer.quotes import Quote, make_quote, passage_link
from guide.answer.scope import ScopeModel
from guide.answer.support import Sentence
from guide.search.retrieval import Hit
from guide.text import content_terms

ASKS_FOR_QUESTIONS = frozenset(content_terms("ask ourselves questions question reflect consider"))
ASKS_FOR_READING = frozenset(content_terms("read reading case study studies example examples resource resources"))
# A sentence opening with one of these continues the one before it.
_POINTING = "It|This|That|These|Those|They|Such"
POINTS_BACK = re.compile(rf"^(?:{_POINTING})\b")
# A quoted sentence opening with one of these names nothing it speaks of: the one before it does.
NAMED_BEFORE = re.compile(rf"^(?:{_POINTING}|He|She|His|Her|Its|Their|Here|The latter|The former)\b")
INTENT_WORDS = ASKS_FOR_QUESTIONS | ASKS_FOR_READING  # what kind of passage is asked for, not what about

SUMMARY_INTENT = re.compile(
    r"\b(?:tl;?dr|summar(?:y|ise|ize)|overview|in a nutshell|main points|key points|gist)\b"
    r"|\bwhat(?:'s| is) (?:it|(?:this|the) (?:blog|post|article|piece)|this) (?:all )?about\b", re.I)
AUTHOR_INTENT = re.compile(r"\bwho (?:wrote|writes|is behind|published)\b|\bauthor\b", re.I)

ABSTAIN_MESSAGE = "The sources I have read don't cover that."
RELATED_MESSAGE = "The sources I have read don't answer this directly. The closest they say is:"
BLOG_RELATED_MESSAGE = "The blog doesn't answer this directly. The closest it says is:"

# --- answer states (stable: other modules and helpers build on these names) ---------------------
# answered     the quotes answer the question.
# related      the sources touch the topic but do not answer the question: the answer says so
#              first and shows at most RELATED_QUOTES nearest passages (verbatim and verified,
#              labelled as not an answer). reason: weak_support (answerability below the
#              answer threshold) | answer_type | focus_unsupported (no quote shows the comparison
#              or resource asked for, guide/answer/focus.py) | opposite (the answering sentence
#              says the opposite of a word asked, guide/answer/opposites.py) | swapped (it names another
#              name or figure where the question names its own, guide/answer/swaps.py) | negation (the
#              question asks what is not so, the passage denies nothing) | other_time (the passage
#              is not about the year asked, guide/answer/conditions.py) | no_answer_found (the
#              reader found no sentence that answers) | llm_judge (guide/answer/llm.py)
# not_covered  nothing close enough to quote. reason: low_grounding | not_mentioned
#              | unverified
# Other modules may add reasons (e.g. an LLM judge moving an answer to related); `reason` is
# None only for `answered`.
ANSWERED, RELATED, NOT_COVERED = "answered", "related", "not_covered"
STATUSES = (ANSWERED, RELATED, NOT_COVERED)
RELATED_QUOTES = 2
NAMED_WHY = "Your question names this case study."
TYPE_MESSAGES = {"number": "The sources I have read give no figures or amounts for this.",
                 "date": "The sources I have read give no dates for this.",
                 "contact": "The sources I have read give no contact details for this.",
                 "author": "The sources I have read don't say who wrote that.",
                 **{m: f"The sources I have read don't say {h}." for m, h in (
                     ("width", "how wide that is"), ("height", "how high that is"), ("depth", "how deep that is"),
                     ("length", "how long that is"), ("distance", "how far that is"),
                     ("duration", "how long that took or lasted"), ("ago", "how long ago that was"),
                     ("speed", "how fast that is"))}}


@dataclass(frozen=True)
class ScoringConfig:
    """Every weight the composer uses, in one place (set on tuning data only: evals/dev.jsonl,
    evals/hard.jsonl, evals/practitioner_tune.jsonl; see docs/decisions.md, issue 8).

    A candidate sentence's *evidence* (how well it answers the question) is the weighted mean
        (cosine * MiniLM cosine + lexical * IDF-weighted share of the question's words
         + rerank * sigmoid(cross-encoder logit / rerank_scale)) / (cosine + lexical + rerank)
    plus the intent adjustments below. With a reranker, a candidate it did not score counts 0 in
    the cross-encoder term; without one, that term is left out (weight and all);
    its *score* (quote order) adds `retrieval_rank / (1 + passage rank)` to break near-ties.
    `grounding` is the best evidence; the two thresholds (Settings) cut it into the states.
    """

    cosine: float = 0.75
    lexical: float = 0.25
    rerank: float = 2.0  # weight of the cross-encoder's sigmoid score (no effect without a reranker)
    rerank_scale: float = 4.0  # logits are divided by this before the sigmoid
    rerank_top: int = 8  # candidates (by the cheap score) the cross-encoder scores
    summary_opening: float = 0.3  # "summarise the blog": each source's opening passage
    author: float = 0.3  # "who wrote it": a sentence naming the source's author
    key_questions_asked: float = 0.15  # reflection questions, when questions are asked for
    key_questions_not_asked: float = -0.08
    reading_asked: float = 0.25  # reading lines, when reading is asked for
    reading_not_asked: float = -0.08
    retrieval_rank: float = 0.05  # tie-break by the passage's retrieval rank (not evidence)
    quote_margin: float = 0.4  # a further quote must score within this of the best one (0.2 before the cross-encoder widened the scores)
    # A word of the question (not a topic word such as "co-production") that no chosen quote
    # contains, but a quotable sentence does: that sentence takes the last place ("we've had cuts"
    # gets the sentence about cuts even when sentences about co-production in general score higher).
    # Related answers too: of their two nearest passages, the second gives way to the nearest
    # sentence holding such a word ("We've had big cuts this year..." shows the sentence on cuts).
    # A last quote holding an asked word no other quote holds never gives way.
    cover_terms: bool = True
    # A quoted sentence whose next sentence (in the same passage) opens with a word pointing back
    # to it ("It takes time to build...", "That passion is...") is quoted with that sentence: the
    # thought it starts is finished there.
    carry_on: bool = True
    # A quoted sentence that itself opens with a word naming nothing (`NAMED_BEFORE`: "It is here
    # that the Rhine encounters ...", "This section is nearly 86 km long", "He ordered ...") is
    # quoted with the sentence before it in its passage: that is where "here", "this section" or
    # "he" is named.
    carry_back: bool = True
    # Answerability (answered vs related) = (1 - focus) * grounding
    #   + focus * sigmoid(cross-encoder logit of the question's focus / rerank_scale), where the
    # focus is the question without its topic words (guide/answer/focus.py), scored against the
    # best `focus_top` candidates. Without a reranker, answerability = grounding.
    focus: float = 0.5
    focus_top: int = 2
    # ... + scope * the question's scope margin (guide/answer/scope.py: nearer to what the sources
    # answer than to the tuning sets' unanswerable questions), when a scope model is given.
    # 2.5 (was 1.0, then 2.0): leave one set out on the 164 tuning questions (four practitioner
    # sets), the calibrated thresholds answer no unanswerable question while fully answering 0.821
    # of the answerable ones (1.0: 0.779 with one misleading; 2.0: 0.768; 2.5-3.5 the same, 4.0
    # 0.811): the smallest weight on the plateau; see docs/decisions.md.
    scope: float = 2.5
    # Does the cross-encoder's term count in `grounding` (the score the thresholds cut), or only
    # in the order of the quotes?
    rerank_in_grounding: bool = False
    # Where no scope examples cover the source (a practitioner's own document) and the question asks
    # for a fact (`asks_for_a_fact`: the reader's domain), the answerability
    # reader (guide/answer/answerability.py) reads the best `reader_top` candidates; below the
    # reader threshold (Settings) the answer is `related` (reason no_answer_found). Each read
    # candidate's score may gain `reader` * its probability; 0: the reader judges, it does not
    # reorder (at 1.0 the answer was in the first quote less often on the tuning halves of
    # evals/corpora: 0.772 against 0.815; docs/decisions.md, issue 19).
    reader_top: int = 4
    reader: float = 0.0

    def answerability(self, grounding: float, focus_logit: float | None, scope_margin: float | None = None) -> float:
        value = grounding
        if focus_logit is not None and self.focus:
            value = (1 - self.focus) * grounding + self.focus * float(_sigmoid(focus_logit / self.rerank_scale))
        if scope_margin is not None:
            value += self.scope * scope_margin
        return value

    def answerability_range(self, grounding: float, scope_margin: float | None = None) -> tuple[float, float]:
        """The least and the most the answerability can be, whatever the focus logit: its sigmoid
        lies between 0 and 1. Where a cut falls outside this range the focus cannot change the
        state, and the cross-encoder need not score it."""
        low = (1 - self.focus) * grounding + (self.scope * scope_margin if scope_margin is not None else 0.0)
        return low, low + self.focus

    def evidence(self, cos: float, lexical: float, logit: float | None = None, *, reranked: bool = False) -> float:
        """The weighted mean of the relevance signals (see above). `reranked`: a cross-encoder
        takes part in this answer (so a missing `logit` counts 0, not "left out")."""
        if not (reranked or logit is not None) or not self.rerank:
            return (self.cosine * cos + self.lexical * lexical) / (self.cosine + self.lexical)
        ce = 0.0 if logit is None else self.rerank * float(_sigmoid(logit / self.rerank_scale))
        return (self.cosine * cos + self.lexical * lexical + ce) / (self.cosine + self.lexical + self.rerank)


DEFAULT_SCORING = ScoringConfig()


def _sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Reading:
    """A "More reading" line of the source (quoted verbatim) and the source it names."""

    quote: Quote
    source: SourceInfo | None  # the source it links to


@dataclass
class Answer:
    question: str
    query: str
    rewritten: bool
    status: str  # answered | related | not_covered (see STATUSES above)
    grounding: float
    message: str
    quotes: list[Quote] = field(default_factory=list)
    key_questions: list[Quote] = field(default_factory=list)
    further_reading: list[Reading] = field(default_factory=list)
    nearest_topics: list[str] = field(default_factory=list)
    unread_sources: list[SourceInfo] = field(default_factory=list)  # known by link, matching the question
    source_filter: str | None = None
    support: float | None = None  # for a rewritten follow-up: how well its own topic is supported
    reason: str | None = None  # why it is not `answered` (see the states above); None when answered
    # the answerability signals behind the status (grounding, focus_logit, answerability, ...)
    signals: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    # With a language model (guide/answer/llm.py): the sentences it wrote that passed the support
    # check (guide/answer/support.py), and what happened (written, removed, fallback, notice).
    summary: list[Sentence] = field(default_factory=list)
    llm: dict | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown answer status {self.status!r}; expected one of {STATUSES}")

    @property
    def abstained(self) -> bool:
        """Did the guide decline to answer? True for `related` and `not_covered` alike: neither
        presents its quotes as an answer (kept for callers written before the three states)."""
        return self.status != ANSWERED

    @property
    def answered(self) -> bool:
        return self.status == ANSWERED

    @property
    def without_examples(self) -> bool:
        """An answer from a source no labelled example questions cover (a practitioner's own
        document): judged by the reader and relevance alone, which pass more non-answers than the
        blog's scope examples do, so it is shown with a caution (render.WITHOUT_EXAMPLES)."""
        return self.status == ANSWERED and self.signals.get("scope_examples") is False

    @property
    def cited_sources(self) -> list[dict]:
        seen: dict[str, dict] = {}
        for q in self.quotes:
            entry = seen.setdefault(q.source_id, {"source_id": q.source_id, "title": q.title, "url": q.url,
                                                  "organisation": q.organisation, "markers": []})
            entry["markers"].append(q.marker)
        return list(seen.values())

    @property
    def llm_notice(self) -> str | None:
        """The one-line note about the language model's part (fallback, nothing checked, its judgement)."""
        return (self.llm or {}).get("notice")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["abstained"] = self.abstained
        d["cited_sources"] = self.cited_sources
        d["without_examples"] = self.without_examples
        return d

    def to_text(self) -> str:
        """Plain text for a terminal (see guide/answer/render.py)."""
        return render.answer_text(self)

    def to_markdown(self) -> str:
        """Markdown for the web chat, escaped (see guide/answer/render.py)."""
        return render.answer_markdown(self)


@dataclass
class Candidate:
    chunk: Chunk
    index: int  # sentence index within the chunk
    span: Span
    text: str
    score: float = 0.0  # for ordering
    evidence: float = 0.0  # how well this sentence answers the question (grounding)
    cos: float = 0.0
    lexical: float = 0.0
    rerank: float | None = None  # cross-encoder logit, when it was scored
    base_evidence: float = 0.0  # the evidence without the cross-encoder's term
    terms: frozenset[str] = frozenset()  # its content terms (guide.text.content_terms)


class Composer:
    """Chooses the sentences that answer a question from retrieved passages."""

    def __init__(
        self,
        texts: dict[str, str],
        sources: dict[str, Source],
        chunks: Sequence[Chunk],
        embed_documents: Callable[[list[str]], list[list[float]]],
        *,
        threshold: float,
        answer_threshold: float | None = None,
        max_quotes: int = 4,
        case_studies: "CaseStudyMatcher | None" = None,
        reranker=None,
        scoring: ScoringConfig = DEFAULT_SCORING,
        scope: "ScopeModel | None" = None,
        answer_threshold_without_scope: float | None = None,
        reader=None,
        reader_threshold: float = 0.5,
        embed_query: Callable[[str], list[float]] | None = None,
    ):
        self.reader = reader  # guide.answer.answerability.Reader, or None
        self.reader_threshold = reader_threshold
        # the answered-vs-related cut for a question whose source no scope example covers
        # (None: the same as `answer_threshold`)
        self.answer_threshold_without_scope = answer_threshold_without_scope
        self.scope = scope  # out-of-scope detection over the tuning sets' examples (guide/answer/scope.py)
        self.case_studies = case_studies  # matches questions to case studies by meaning
        self.texts = texts  # source id -> stored text (quotes are verified against these)
        self.sources = sources
        self.embed_documents = embed_documents
        self.embed_query = embed_query or (lambda text: embed_documents([text])[0])
        self.threshold = threshold  # below it: not_covered
        # below it (and at or above `threshold`): related. None = the same as `threshold` (two states).
        self._answer_threshold = answer_threshold
        self.max_quotes = max_quotes
        self.reranker = reranker  # guide.search.rerank.Reranker, or None (no cross-encoder term)
        self.scoring = scoring
        # Score the question's focus only when it can change the state (see `_answerability`);
        # calibration, which measures with the cuts disabled, wants it always.
        self.focus_when_needed = True
        self._all_text = haystack(list(texts.values()))
        self.section_index: dict[tuple[str, str], list[Chunk]] = {}
        self.openings: dict[str, Chunk] = {}  # each source's first passage
        self.bylines: list[Chunk] = []  # passages naming their own source's author
        df: dict[str, int] = {}
        n = 0
        for ch in chunks:
            self.section_index.setdefault((ch.source_id, ch.section), []).append(ch)
            author = getattr(sources.get(ch.source_id), "author", None)
            if author and author in ch.text:
                self.bylines.append(ch)
            if ch.kind == "paragraph" and (ch.source_id not in self.openings or ch.start < self.openings[ch.source_id].start):
                self.openings[ch.source_id] = ch
            for sp in ch.sentences:
                n += 1
                for t in set(content_terms(ch.span_text(sp.start, sp.end))):
                    df[t] = df.get(t, 0) + 1
        # Inverse document frequency over sentences: a word every sentence has (co-production,
        # here) says little; a word no sentence has counts fully against the match.
        self._df, self._n = df, n
        self.topic = topic_terms(set(content_terms(ch.span_text(sp.start, sp.end))) for ch in chunks
                                 for sp in ch.sentences)
        # the section headings of each indexed source: a summary quotes them (`_summary`)
        indexed = {ch.source_id for ch in chunks}
        self.headings = {sid: heading_spans(t) for sid, t in texts.items() if sid in indexed}

    @property
    def answer_threshold(self) -> float:
        a = self._answer_threshold
        return self.threshold if a is None else max(a, self.threshold)

    @answer_threshold.setter
    def answer_threshold(self, value: float | None) -> None:
        self._answer_threshold = value

    def _idf(self, term: str) -> float:
        return math.log((self._n + 1) / (self._df.get(term, 0) + 0.5))

    # --- scoring -------------------------------------------------------------------------
    def _with_intent_passages(self, hits: Sequence[Hit], question: str) -> list[Hit]:
        """A request for a summary also considers each source's opening passage (its standfirst);
        "who wrote it?" every passage naming its source's author, found or not by retrieval."""
        extra: list[Chunk] = []
        if SUMMARY_INTENT.search(question):
            extra += self.openings.values()
        if AUTHOR_INTENT.search(question):
            named = self._named_sources(question)
            extra += [ch for ch in self.bylines if not named or ch.source_id in named]
        hits = list(hits)
        have = {h.chunk.id for h in hits}
        for ch in extra:
            if ch.id not in have:
                have.add(ch.id)
                hits.append(Hit(ch, 0.0))
        return hits

    def candidates(self, hits: Sequence[Hit], query_vec: np.ndarray, query: str, question: str = "",
                   asking_vec: np.ndarray | None = None) -> list[Candidate]:
        """Every sentence of the hits, scored on the cheap evidence and in order. The cross-encoder
        comes later (`_rerank`): `compose` decides "not covered" on the cheap evidence alone, so an
        off-topic question costs no cross-encoder pairs. `asking_vec`: the vector of the
        question's asking part (`focus.asking_part`); a sentence's cosine is the nearer of the two."""
        cands: list[Candidate] = []
        for hit in hits:
            if hit.chunk.source_id not in self.texts:
                continue
            for i, sp in enumerate(hit.chunk.sentences):
                cands.append(Candidate(hit.chunk, i, sp, hit.chunk.span_text(sp.start, sp.end)))
        if not cands:
            return []
        vecs = np.asarray(self.embed_documents([c.text for c in cands]), dtype=np.float32)
        cos = vecs @ query_vec
        if asking_vec is not None:
            cos = np.maximum(cos, vecs @ asking_vec)
        q_terms = set(content_terms(query))
        asks_q = bool(q_terms & ASKS_FOR_QUESTIONS)
        asks_r = bool(q_terms & ASKS_FOR_READING)
        summary = bool(SUMMARY_INTENT.search(question))
        author = bool(AUTHOR_INTENT.search(question))
        named = self._named_sources(question) if author else set()
        ranks = {h.chunk.id: r for r, h in enumerate(hits)}
        q_weight = sum(self._idf(t) for t in q_terms)
        w = self.scoring
        reranked = self.reranker is not None and w.rerank > 0
        for c, s in zip(cands, cos):
            c.terms = terms = frozenset(content_terms(c.text))
            c.cos = float(s)
            c.lexical = sum(self._idf(t) for t in q_terms & terms) / q_weight if q_weight else 0.0
            c.evidence = w.evidence(c.cos, c.lexical, reranked=reranked)
            if summary and c.chunk.id == getattr(self.openings.get(c.chunk.source_id), "id", None):
                c.evidence += w.summary_opening
            src = self.sources.get(c.chunk.source_id)
            if author and src is not None and src.author and src.author in c.text and (not named or src.id in named):
                c.evidence += w.author  # "who wrote the case study X?": X's author, not the blog's
            # Reflection questions and reading lines are offered in their own panels; they are
            # evidence only when that is what was asked for.
            if c.chunk.kind == "key_questions":
                c.evidence += w.key_questions_asked if asks_q else w.key_questions_not_asked
            if c.chunk.kind == "more_reading":
                c.evidence += w.reading_asked if asks_r else w.reading_not_asked
            c.base_evidence = c.evidence - w.evidence(c.cos, c.lexical, reranked=reranked) + w.evidence(c.cos, c.lexical)
            # The passage's retrieval rank orders near-ties; it is not evidence of an answer.
            c.score = c.evidence + w.retrieval_rank / (1 + ranks[c.chunk.id])
        cands.sort(key=lambda c: -c.score)
        return cands

    def _rerank(self, cands: list[Candidate], query: str) -> None:
        """The cross-encoder scores the best `rerank_top` candidates; its sigmoid score joins their
        evidence. Candidates it did not score keep their cheap evidence (they ranked below)."""
        w = self.scoring
        if self.reranker is None or not w.rerank:
            return
        top = cands[: w.rerank_top]
        logits = np.asarray(self.reranker.score(query, [c.text for c in top]), dtype=np.float32)
        for c, z in zip(top, logits):
            c.rerank = float(z)
            gain = w.evidence(c.cos, c.lexical, c.rerank) - w.evidence(c.cos, c.lexical, reranked=True)
            c.evidence += gain
            c.score += gain
        cands.sort(key=lambda c: -c.score)

    def judged(self, c: Candidate) -> float:
        """The evidence the thresholds are compared with (see `ScoringConfig.rerank_in_grounding`)."""
        return c.evidence if self.scoring.rerank_in_grounding else c.base_evidence

    def grounding(self, cands: Sequence[Candidate]) -> float:
        """How well the best evidence answers the question: the best sentence's evidence score."""
        return max((self.judged(c) for c in cands), default=0.0)

    # --- composing -----------------------------------------------------------------------
    def compose(
        self,
        question: str,
        query: str,
        rewritten: bool,
        hits: Sequence[Hit],
        query_vec: np.ndarray,
        *,
        own_vec: np.ndarray | None = None,
        own_terms: Sequence[str] = (),
        source_filter: str | None = None,
    ) -> Answer:
        # A question told in parts is also read by its asking part (not a follow-up: its asking
        # part is the user's own, and the rewritten query already carries what it refers to).
        asking = None if rewritten else asking_part(query, self.topic)
        asking_vec = None if asking is None else np.asarray(self.embed_query(asking), dtype=np.float32)
        cands = self.candidates(self._with_intent_passages(hits, question), query_vec, query, question, asking_vec)
        grounding = self.grounding(cands)  # the cheap evidence: the cross-encoder only orders (see `judged`)
        kind = self._asked_type(question)
        missing = missing_names(question, self._all_text)
        support = None
        if rewritten and own_terms and own_vec is not None and cands:
            # A follow-up that brings its own topic must be supported on that topic too.
            support = self._own_support(cands, own_vec, own_terms)
        score = grounding if support is None else min(grounding, support)
        signals = {"grounding": round(grounding, 4), "support": support, "asking_part": asking}
        base = dict(question=question, query=query, rewritten=rewritten, source_filter=source_filter, support=support,
                    grounding=grounding, signals=signals)

        def not_covered(reason: str, message: str = ABSTAIN_MESSAGE) -> Answer:
            return Answer(**base, status=NOT_COVERED, message=message, reason=reason,
                          nearest_topics=self._topics(hits), unread_sources=self._unread(question))

        # "Not covered" is decided on the cheap evidence, before any cross-encoder pair is scored.
        if missing:
            return not_covered("not_mentioned",
                               f"The sources I have read don't cover that: they never mention {_join(missing)}.")
        if score < self.threshold:
            return not_covered("low_grounding")
        self._rerank(cands, asking or query)  # the cross-encoder reads the asking part, when there is one
        margin = None
        scoped = self.scoped(cands)
        if scoped:
            margin = self.scope.margin(query_vec)
            margin = None if margin is None else round(margin, 4)
        cut = self.answer_threshold if margin is not None else self.answer_cut_without_scope
        focus_logit, answerability = self._answerability(query, cands, score, margin, cut)
        signals.update(focus_logit=focus_logit, scope_margin=margin, answerability=round(answerability, 4), best_rerank=max(
            (c.rerank for c in cands if c.rerank is not None), default=None), scope_examples=scoped)
        reason = "weak_support" if answerability < cut else None
        if not scoped and self.reader is not None and asks_for_a_fact(question):
            found = self._read(cands, query)
            signals["reader"] = found
            if reason is None and found < self.reader_threshold:
                reason = "no_answer_found"  # the passages are about it, but no sentence answers it
        if not scoped and kind != "author":
            # "How wide is the Moselle?" asks for a width, not any figure (`measures`). Like the
            # reader, for sources no example questions cover: where they exist, they judge.
            kind = measure_asked(question) or kind
        signals["asked_type"] = kind
        best = next((c for c in cands if c.chunk.kind != "more_reading"), None)  # the sentence ranked first
        if kind is not None:
            authors = self._named_authors(question) if kind == "author" else []
            fitting = [c for c in cands if (any(a in c.text for a in authors) if authors else self._fits(kind, c.text))]
            if not scoped and kind not in ("author", "contact") and best not in fitting:
                # The sentence most about it gives no such figure: a figure elsewhere is another
                # thing's ("How wide is the Moselle?" against "... the Upper Rhine Plain, ... up to
                # 40 km wide"). Where example questions exist, they judge (a figure may come later).
                reason = "answer_type"
            elif not fitting or max(self.judged(c) for c in fitting) < self.threshold:
                # The topic is there but not the kind of thing asked for (a figure, a date, contact details).
                reason = "answer_type"
            else:
                cands = fitting
        years = asked_years(question) if not scoped and reason is None else []
        if years and best is not None and not about_years(years, best.chunk.text):
            # "How many Huguenots were there in 1598?" against a passage about 1562: about the
            # thing, not at the asked time (for sources no example questions cover, like the reader)
            signals["years"] = years
            reason = "other_time"
        if reason is not None:
            return self._related(base, cands, hits, question, reason)
        chosen = self._select(cands, query)
        focus = asked_for(question, self.topic)
        if focus is not None and not any(supports(focus, c.text) for c in chosen):
            # the topic is there, but not the comparison or the resource asked for
            return self._related(base, cands, hits, question, "focus_unsupported")
        quotes = self._quotes(chosen)
        if not quotes:  # nothing verified: say so rather than show unverified text
            return not_covered("unverified")
        # the quote as a whole, and its sentence closest to the question (a word asked may stand
        # in the quote's other sentence: "... an abstract question. ... a rather concrete utterance")
        closest = None if scoped else closest_sentence(question, quotes[0].text)
        contrary = [] if scoped else (opposites(question, quotes[0].text) or opposites(question, closest))
        if contrary:
            # "What continued southward?" against "... continued northward": about it, not an answer.
            # Like the reader, a check for sources no example questions cover: where they exist,
            # the scope margin judges ("how long does it take to win them back?" is answered by
            # "... can be lost in an instant").
            signals["opposites"] = contrary
            return self._related(base, cands, hits, question, "opposite")
        if not scoped and denies_nothing(question, quotes[0].text):
            # "Which leaders did the extremists not attack?" against "... directed its attacks
            # against leaders of ...": the passage says what is, the question asks what is not.
            return self._related(base, cands, hits, question, "negation")
        swapped = [] if scoped or not takes_as_given(question) else swapped_names(question, closest)
        if swapped:
            # "The Hochrhein more than doubles the discharge to what amount?" against "The Aare more
            # than doubles ...": another name in the place of the one asked (for sources no example
            # questions cover, like the checks above).
            signals["swapped"] = swapped
            return self._related(base, cands, hits, question, "swapped")
        if SUMMARY_INTENT.search(question):
            quotes = self._summary(quotes, query_vec)
        key_qs = self._key_questions(quotes, hits, query_vec, chosen)
        reading = self._reading(quotes, hits)
        offered = {r.source.id for r in reading if r.source}
        return Answer(**base, status=ANSWERED, message="", quotes=quotes, key_questions=key_qs,
                      further_reading=reading,
                      unread_sources=[s for s in self._unread(question) if s.id not in offered])

    def scoped(self, cands: Sequence[Candidate]) -> bool:
        """Do scope examples cover this answer's source (its best candidate's)? Only where they
        do does the scope margin join the answerability; elsewhere the reader judges."""
        return bool(cands) and self._scope_covers(cands[0].chunk.source_id)

    def _scope_covers(self, source_id: str) -> bool:
        return self.scope is not None and bool(self.scoring.scope) and self.scope.covers(source_id)

    def judgement(self, source_id: str) -> str:
        """How answers from this source are judged answered or related, in words (reports and the
        Evaluate tab say it for each source)."""
        if self._scope_covers(source_id):
            return "scope examples (labelled questions about this source) and relevance"
        if self.reader is not None:
            return "answerability reader for questions asking for a fact, relevance for the rest (no scope examples for this source)"
        return "relevance only (no scope examples for this source, no reader)"

    @property
    def answer_cut_without_scope(self) -> float:
        a = self.answer_threshold_without_scope
        return self.answer_threshold if a is None else max(a, self.threshold)

    def _read(self, cands: list[Candidate], query: str) -> float:
        """The reader's probability that the best of the top candidates answers the question; each
        read candidate's score gains `reader` * its probability, and the order follows."""
        top = [c for c in cands[: self.scoring.reader_top] if c.chunk.kind != "more_reading"]
        if not top:
            return 0.0
        probs = self.reader.probabilities(query, [c.text for c in top])
        if self.scoring.reader:
            for c, p in zip(top, probs):
                c.score += self.scoring.reader * float(p)
            cands.sort(key=lambda c: -c.score)
        return round(float(np.max(probs)), 4)

    def _answerability(self, query: str, cands: Sequence[Candidate], score: float, margin: float | None,
                       cut: float) -> tuple[float | None, float]:
        """The focus logit (None when not scored) and the answerability. When the cut lies outside
        the range the focus could move the answerability across (the scope margin decides most of
        the blog's questions), the focus is not scored -- the state is the same whatever it would
        score -- and the answerability is the bound on the side of the cut."""
        w = self.scoring
        if self.focus_when_needed and self.reranker is not None and w.focus and cands:
            low, high = w.answerability_range(score, margin)
            if low >= cut:
                return None, low
            if high < cut:
                return None, high
        focus_logit = self._focus_logit(query, cands)
        return focus_logit, w.answerability(score, focus_logit, margin)

    def _focus_logit(self, query: str, cands: Sequence[Candidate]) -> float | None:
        """The cross-encoder's best logit for the question's focus (its topic words removed)."""
        w = self.scoring
        if self.reranker is None or not w.focus or not cands:
            return None
        texts = [c.text for c in cands[: w.focus_top]]
        return round(float(np.max(self.reranker.score(focus_text(query, self.topic), texts))), 4)

    def _summary(self, quotes: list[Quote], query_vec: np.ndarray) -> list[Quote]:
        """A summary: the source's opening (the best quote from its opening passage, else that
        passage's first sentence) and its section headings, verbatim, in the source's order; when
        there are more headings than room, those nearest the question. Without headings (or room),
        the quotes as chosen."""
        sid = quotes[0].source_id
        spans = self.headings.get(sid, [])
        room = self.max_quotes - 1
        if not spans or room < 1:
            return quotes
        first = quotes[0]
        opening = self.openings.get(sid)
        if opening is not None:
            inside = [q for q in quotes if q.source_id == sid and opening.start <= q.start < opening.end]
            if inside:
                first = inside[0]
            elif opening.sentences:
                sp = opening.sentences[0]
                first = self._quote(opening, sp.start, sp.end) or first
        text = self.texts[sid]
        if len(spans) > room:
            vecs = np.asarray(self.embed_documents([text[sp.start:sp.end] for sp in spans]), dtype=np.float32)
            keep = sorted(np.argsort(-(vecs @ query_vec))[:room].tolist())
            spans = [spans[i] for i in keep]
        src = self.sources.get(sid)
        out = [Quote(**{**first.to_dict(), "marker": 1})]
        for sp in spans:
            a, b = sp.start, sp.end
            q = make_quote(text[a:b], text, a, b, source_id=sid, title=first.title, section=text[a:b],
                           url=first.url, link=passage_link(first.url, text[a:b]), marker=len(out) + 1,
                           organisation=src.organisation if src else None, kind="heading")
            if q.verified:
                out.append(q)
        return out

    def _related(self, base: dict, cands: list[Candidate], hits: Sequence[Hit], question: str, reason: str) -> Answer:
        """The sources touch the topic but do not answer: at most RELATED_QUOTES nearest passages,
        said first to be no answer (verified quotes like any other)."""
        chosen: list[Candidate] = []
        for c in cands:
            if len(chosen) >= RELATED_QUOTES:
                break
            if c.chunk.kind == "more_reading" or any(_same_sentence(c, o) for o in chosen):
                continue
            chosen.append(c)
        if self.scoring.cover_terms and chosen:
            chosen = self._cover(cands, chosen, base["query"], limit=RELATED_QUOTES)
        quotes = self._quotes(chosen)
        if not quotes:
            return Answer(**base, status=NOT_COVERED, message=ABSTAIN_MESSAGE, reason="unverified",
                          nearest_topics=self._topics(hits), unread_sources=self._unread(question))
        blog_only = all(getattr(self.sources.get(q.source_id), "kind", None) == "blog" for q in quotes)
        message = BLOG_RELATED_MESSAGE if blog_only else RELATED_MESSAGE
        if reason == "answer_type":
            message = f"{TYPE_MESSAGES[base['signals']['asked_type']]} The closest they say is:"
        if reason == "other_time":
            message = f"The sources I have read don't say this for {_join(base['signals']['years'])}. The closest they say is:"
        if reason == "negation":
            message = ("The sources I have read don't answer this: you asked about what is not so, and the closest "
                       "passage only says what is. The closest they say is:")
        if reason == "swapped":
            asked, said = base["signals"]["swapped"][0]
            message = (f"The sources I have read don't answer this: the closest passage names “{said}” where you asked "
                       f"about “{asked}”. The closest they say is:")
        if reason == "opposite":
            asked, said = base["signals"]["opposites"][0]
            message = (f"The sources I have read don't answer this: the closest passage says “{said}” where you asked "
                       f"about “{asked}”. The closest they say is:")
        return Answer(**base, status=RELATED, message=message, reason=reason, quotes=quotes,
                      nearest_topics=self._topics(hits), unread_sources=self._unread(question))

    def _own_support(self, cands: Sequence[Candidate], own_vec: np.ndarray, own_terms: Sequence[str]) -> float:
        vecs = np.asarray(self.embed_documents([c.text for c in cands[:12]]), dtype=np.float32)
        best = 0.0
        for c, v in zip(cands[:12], vecs):
            lex = len(set(own_terms) & set(content_terms(c.text))) / len(set(own_terms))
            in_g = self.scoring.rerank_in_grounding and self.reranker is not None
            best = max(best, self.scoring.evidence(float(v @ own_vec), lex, c.rerank if in_g else None, reranked=in_g))
        return best

    def _select(self, cands: list[Candidate], query: str = "") -> list[Candidate]:
        # Only sentences whose own evidence reaches the threshold are quotable. The cross-encoder
        # may rank first a sentence too weak to quote: it is skipped, and the margin is measured
        # from the best quotable sentence, not from it.
        quotable = [c for c in cands if self.judged(c) >= self.threshold]
        if not quotable:
            return []
        best = quotable[0].score
        chosen: list[Candidate] = []
        for c in quotable:
            if len(chosen) >= self.max_quotes or c.score < best - self.scoring.quote_margin:
                break
            if c.chunk.kind == "more_reading" and chosen:
                continue  # reading lines are offered as further reading, not as evidence
            if any(_same_sentence(c, o) for o in chosen):
                continue
            chosen.append(c)
        if self.scoring.cover_terms and query:
            chosen = self._cover(quotable, chosen, query)
        return chosen

    def _cover(self, quotable: list[Candidate], chosen: list[Candidate], query: str,
               limit: int | None = None) -> list[Candidate]:
        """The best quotable sentence holding a word of the question that no chosen quote holds
        (topic words, words naming the kind of passage asked for, and words the sources never use
        aside) takes the last of `limit` places, or a free one; never the first, and never the
        place of a quote that alone holds another asked word."""
        asked = {t for t in content_terms(query) if t not in self.topic and t not in INTENT_WORDS and self._df.get(t)}
        missing = asked - set().union(*(c.terms for c in chosen))
        limit = self.max_quotes if limit is None else limit
        if not missing or len(chosen) == limit == 1:
            return chosen
        if len(chosen) >= limit:  # the last quote gives way only if it holds no asked word the others lack
            others = set().union(*(c.terms for c in chosen[:-1]))
            if (chosen[-1].terms & asked) - others:
                return chosen
        for c in quotable:  # in score order
            if c.chunk.kind == "more_reading" or any(_same_sentence(c, o) for o in chosen):
                continue
            if missing & c.terms:
                return (chosen if len(chosen) < limit else chosen[:-1]) + [c]
        return chosen

    def _carried_on(self, chosen: list[Candidate]) -> list[Candidate]:
        """`chosen` plus, for each, the next sentence of its passage when that one points back, and
        (`carry_back`) the sentence before it when it points back itself."""
        have = {(c.chunk.id, c.index) for c in chosen}
        out = list(chosen)
        for c in chosen:
            steps = [1] + ([-1] if self.scoring.carry_back and NAMED_BEFORE.match(c.text) else [])
            for step in steps:
                at = c.index + step
                if not 0 <= at < len(c.chunk.sentences) or (c.chunk.id, at) in have:
                    continue
                sp = c.chunk.sentences[at]
                text = c.chunk.span_text(sp.start, sp.end)
                if step == -1 or POINTS_BACK.match(text):
                    have.add((c.chunk.id, at))
                    out.append(Candidate(c.chunk, at, sp, text, score=c.score))
        return out

    def _quotes(self, chosen: list[Candidate]) -> list[Quote]:
        # Adjacent sentences of one passage become one span; order by first appearance in score order.
        if self.scoring.carry_on:
            chosen = self._carried_on(chosen)
        groups: list[list[Candidate]] = []
        for c in chosen:
            touching = [g for g in groups
                        if g[0].chunk.id == c.chunk.id and any(abs(o.index - c.index) == 1 for o in g)]
            if not touching:
                groups.append([c])
                continue
            touching[0].append(c)
            for g in touching[1:]:  # a sentence between two chosen ones joins them into one span
                touching[0].extend(g)
                groups.remove(g)
        quotes: list[Quote] = []
        for g in groups:
            g.sort(key=lambda c: c.index)
            q = self._quote(g[0].chunk, g[0].span.start, g[-1].span.end, marker=len(quotes) + 1,
                            score=max(c.score for c in g))
            if q is not None:
                quotes.append(q)
        return quotes

    def _quote(self, chunk: Chunk, start: int, end: int, *, marker: int = 0, score: float = 0.0) -> Quote | None:
        text = self.texts[chunk.source_id]
        src = self.sources.get(chunk.source_id)
        indexed = chunk.span_text(start, end)  # what the index holds for this span
        q = make_quote(
            indexed, text, start, end, source_id=chunk.source_id, title=chunk.title, section=chunk.section,
            url=chunk.url, link=None, marker=marker, score=round(score, 4),
            organisation=src.organisation if src else None, kind=chunk.kind, page=chunk.extra.get("page"),
        )
        if not q.verified:
            return None
        return Quote(**{**q.to_dict(), "link": passage_link(chunk.url, q.text, q.page)})

    def _section_chunks(self, quotes: list[Quote], kind: str) -> list[Chunk]:
        sections = []
        for q in quotes:
            key = (q.source_id, q.section)
            if key not in sections:
                sections.append(key)
        return [ch for key in sections[:2] for ch in self.section_index.get(key, []) if ch.kind == kind]

    def _key_questions(self, quotes, hits, query_vec, chosen) -> list[Quote]:
        shown = {(q.source_id, q.start, q.end) for q in quotes}
        out: list[Quote] = []
        for ch in self._section_chunks(quotes, "key_questions"):
            if ch.source_id not in self.texts:
                continue
            sents = [ch.span_text(s.start, s.end) for s in ch.sentences]
            vecs = np.asarray(self.embed_documents(sents), dtype=np.float32)
            order = np.argsort(-(vecs @ query_vec))[:2]
            for i in sorted(order):
                s = ch.sentences[int(i)]
                if any(a <= s.start and s.end <= b for (sid, a, b) in shown if sid == ch.source_id):
                    continue
                q = self._quote(ch, s.start, s.end)
                if q:
                    out.append(q)
        return out[:3]

    def _reading(self, quotes, hits) -> list[Reading]:
        out: list[Reading] = []
        for ch in self._section_chunks(quotes, "more_reading"):
            q = self._quote(ch, ch.start, ch.end)
            if q is None:
                continue
            out.append(Reading(q, self._linked_source(q.text, ch.section)))
        return out

    def _linked_source(self, line: str, section: str) -> SourceInfo | None:
        for s in self.sources.values():
            if s.title.strip() == line.strip() or (s.linked_from and s.linked_from == section):
                return s.info()
        return None

    @staticmethod
    def _fits(kind: str, text: str) -> bool:
        return gives_measure(kind, text) if kind in MEASURES else fits_type(kind, text)

    def _named_sources(self, question: str) -> set[str]:
        """The ids of the sources the question names by title or organisation (`names_source`)."""
        return {sid for sid, src in self.sources.items() if names_source(question, src.title, src.organisation)}

    def _asked_type(self, question: str) -> str | None:
        """The kind of thing asked for (`coverage.answer_type`), or "author" when the question asks
        who wrote a source it names and the manifest knows that source's author."""
        kind = answer_type(question)
        if kind is None and AUTHOR_INTENT.search(question) and self._named_authors(question):
            return "author"
        return kind

    def _named_authors(self, question: str) -> list[str]:
        return [a for sid in self._named_sources(question) if (a := getattr(self.sources.get(sid), "author", None))]

    def _unread(self, question: str) -> list[SourceInfo]:
        """Case studies known only by link that address the question, matched by meaning with the
        reason why (guide.sources.casestudies): the honest pointer when the guide cannot answer."""
        ids = self._named_sources(question)
        named = [replace(src.info(), why=NAMED_WHY) for sid, src in self.sources.items()
                 if sid in ids and isinstance(src, Source) and not src.has_text]
        if self.case_studies is None:
            return named
        have = {s.id for s in named}
        return named + [m.info() for m in self.case_studies.match(question, link_only=True) if m.source.id not in have]

    @staticmethod
    def _topics(hits: Sequence[Hit]) -> list[str]:
        topics: list[str] = []
        for h in hits:
            t = h.chunk.section
            if t not in topics:
                topics.append(t)
        return topics[:3]


def _join(names: list[str]) -> str:
    names = list(dict.fromkeys(names))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _same_sentence(a: Candidate, b: Candidate) -> bool:
    return a.chunk.source_id == b.chunk.source_id and a.span == b.span
