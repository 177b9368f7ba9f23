"""Is a question inside what the sources answer? Out-of-scope detection as in intent
classification (CLINC150's OOS setting), over the corpus's own examples.

Relevance scores cannot tell a question the blog answers from one *next to* it: both are about
co-production. Intent classifiers meet the same problem and solve it with labelled examples of
the out-of-scope class. Here the in-scope examples are the corpus's own sentences and the
answerable questions of the tuning sets; the out-of-scope examples are the tuning sets'
unanswerable questions (`Settings.calibration_sets`: never a held-out set). A question's *scope
margin* is

    max cosine to an in-scope example - max cosine to an out-of-scope example

(MiniLM vectors): positive when the question sits nearer what the sources answer than what
they do not. The composer adds it, weighted, to the answerability (guide/answer/compose.py).

Examples are grouped (the corpus, or the question set they come from). Measuring a tuning set
must not see its own questions: `excluding(groups)` leaves groups out for the current thread
(a context variable), and `groups_with(questions)` finds the groups that hold any of a set's
questions, so `guide eval` and `guide calibrate` score each tuning set with the other sets'
examples only (leave one set out), however the file is named.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from guide.text import words

CORPUS_GROUP = "corpus"
_EXCLUDED: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("scope_excluded", default=frozenset())


def normalise(question: str) -> str:
    return " ".join(words(question))


@dataclass(frozen=True)
class Example:
    text: str
    in_scope: bool
    group: str  # CORPUS_GROUP, or the name of the question set it comes from
    sources: tuple[str, ...] = ()  # the sources an answerable example question names (URLs or ids)


def examples_from_sets(paths: Iterable[Path]) -> list[Example]:
    """The single questions (no follow-ups: alone they are ambiguous) of the question sets that
    exist, labelled by `answerable`, grouped by file stem."""
    from guide.evaluation.questions import load_questions

    out: list[Example] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            continue
        for q in load_questions(path):
            if not q.history:
                out.append(Example(q.question, q.answerable, path.stem, tuple(q.sources)))
    return out


@contextlib.contextmanager
def excluding(groups: Iterable[str]) -> Iterator[None]:
    """Leave these example groups out of every scope margin computed in this thread/context."""
    token = _EXCLUDED.set(_EXCLUDED.get() | frozenset(groups))
    try:
        yield
    finally:
        _EXCLUDED.reset(token)


class ScopeModel:
    def __init__(self, examples: Sequence[Example], vectors: np.ndarray, sources: Iterable[str] = ()):
        """`sources`: the ids of the sources the example questions are about (`covers`)."""
        if len(examples) != len(vectors):
            raise ValueError("one vector per example")
        self.examples = list(examples)
        self.sources = frozenset(sources)
        self.vectors = np.asarray(vectors, dtype=np.float32).reshape(len(self.examples), -1)
        self.in_scope = np.asarray([e.in_scope for e in self.examples], dtype=bool)
        self.groups = np.asarray([e.group for e in self.examples], dtype=object)
        self._keep: dict[frozenset[str], np.ndarray] = {}  # excluded groups -> examples kept
        self._by_text: dict[str, set[str]] = {}
        for e in self.examples:
            self._by_text.setdefault(normalise(e.text), set()).add(e.group)

    @classmethod
    def build(cls, examples: Sequence[Example], embed_documents: Callable[[list[str]], list[list[float]]],
              sources: Iterable[str] = ()) -> "ScopeModel":
        vecs = np.asarray(embed_documents([e.text for e in examples]), dtype=np.float32) if examples else np.zeros((0, 1))
        return cls(examples, vecs, sources)

    def covers(self, source_id: str) -> bool:
        """Are there example questions about this source? (A practitioner's own document has none:
        its questions are judged without the margin.)"""
        return source_id in self.sources

    def groups_with(self, questions: Iterable[str]) -> frozenset[str]:
        """The question-set groups holding any of these questions (never the corpus)."""
        found: set[str] = set()
        for q in questions:
            found |= self._by_text.get(normalise(q), set())
        return frozenset(found - {CORPUS_GROUP})

    def margin(self, query_vec: np.ndarray, exclude: Iterable[str] | None = None) -> float | None:
        """max cosine to in-scope examples - max cosine to out-of-scope ones, without the excluded
        groups (default: those `excluding` set); None when either side has no example left."""
        excluded = _EXCLUDED.get() if exclude is None else frozenset(exclude)
        keep = self._keep.get(excluded)
        if keep is None:  # a few distinct exclusions at most (none for a visitor, one per tuning set)
            keep = self._keep[excluded] = np.asarray([g not in excluded for g in self.groups], dtype=bool)
        inside, outside = keep & self.in_scope, keep & ~self.in_scope
        if not inside.any() or not outside.any():
            return None
        sims = self.vectors @ np.asarray(query_vec, dtype=np.float32)
        return float(sims[inside].max() - sims[outside].max())
