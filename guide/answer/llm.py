"""Optional LLM composition. The guide needs no LLM; when one is plugged in (GUIDE_LLM =
"package.module:function", a callable taking a prompt and returning text), it picks and
orders quotes from the retrieved passages, and every quote it produces is located in the
stored source text before it is shown. A quote that is not found word for word is dropped;
if none survives, the extractive answer is given instead.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import replace
from typing import Callable, Sequence

from guide.answer.compose import Answer, Composer
from guide.errors import SettingsError
from guide.answer.quotes import Quote, locate, make_quote, passage_link
from guide.search.retrieval import Hit

log = logging.getLogger(__name__)
LLM = Callable[[str], str]
_QUOTED = re.compile(r"[“\"]([^”\"]{12,})[”\"]")

PROMPT = """You answer questions from practitioners in Scotland's public services and charities.
Answer ONLY with exact quotations copied word for word from the passages below, each in double
quotes followed by its passage number like [2]. Give 1 to 4 quotations. Do not paraphrase.

Question: {question}

Passages:
{passages}
"""


def load_llm(spec: str) -> LLM:
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise SettingsError(f"GUIDE_LLM={spec!r} must look like 'package.module:function'.")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise SettingsError(f"GUIDE_LLM={spec!r} cannot be loaded: {exc}") from None
    if not callable(fn):
        raise SettingsError(f"GUIDE_LLM={spec!r} is not callable.")
    return fn


class LLMComposer:
    """Wraps the extractive Composer: same answer shape, quotes chosen by an LLM, all verified."""

    def __init__(self, llm: LLM, base: Composer):
        self.llm = llm
        self.base = base

    @property
    def threshold(self) -> float:
        return self.base.threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        self.base.threshold = value

    @property
    def texts(self) -> dict[str, str]:
        return self.base.texts

    def compose(self, question: str, query: str, rewritten: bool, hits: Sequence[Hit], query_vec, **kw) -> Answer:
        extractive = self.base.compose(question, query, rewritten, hits, query_vec, **kw)
        if extractive.abstained or not hits:
            return extractive  # the abstention decision stays with the calibrated, measured path
        passages = "\n".join(f"[{i}] {h.chunk.text}" for i, h in enumerate(hits, start=1))
        try:
            reply = self.llm(PROMPT.format(question=question, passages=passages))
        except Exception as exc:  # an LLM failure must never lose the answer
            log.warning("LLM call failed, giving the extractive answer: %s", exc)
            return extractive
        quotes, rejected = self.verified_quotes(str(reply), hits)
        if not quotes:
            extractive.timings["llm_rejected_quotes"] = rejected
            return extractive
        extractive.quotes = quotes
        extractive.timings["llm_rejected_quotes"] = rejected
        return extractive

    def verified_quotes(self, reply: str, hits: Sequence[Hit]) -> tuple[list[Quote], int]:
        quotes: list[Quote] = []
        rejected = 0
        for m in _QUOTED.finditer(reply):
            q = self._locate(m.group(1), hits)
            if q is None:
                rejected += 1
                log.info("dropped an LLM quote not found in the sources: %r", m.group(1)[:80])
                continue
            if all((q.source_id, q.start) != (o.source_id, o.start) for o in quotes) and len(quotes) < 4:
                quotes.append(replace(q, marker=len(quotes) + 1))
        return quotes, rejected

    def _locate(self, claimed: str, hits: Sequence[Hit]) -> Quote | None:
        for h in hits:
            source_text = self.base.texts.get(h.chunk.source_id)
            if source_text is None:
                continue
            span = locate(claimed, h.chunk.text)
            if span is None:
                continue
            start, end = h.chunk.start + span[0], h.chunk.start + span[1]
            q = make_quote(claimed, source_text, start, end, source_id=h.chunk.source_id, title=h.chunk.title,
                           section=h.chunk.section, url=h.chunk.url, link=None, kind=h.chunk.kind,
                           organisation=getattr(self.base.sources.get(h.chunk.source_id), "organisation", None),
                           page=h.chunk.extra.get("page"))
            if q.verified:
                return replace(q, link=passage_link(q.url, q.text, q.page))
        return None
