"""Does this sentence answer the question? A small reader, for documents nobody labelled.

Relevance cannot tell a question a document answers from one *next to* it: "How long is the
Rhine?" and "How long is the Netherlands?" both find the sentence giving the Rhine's length.
On the blog, labelled out-of-scope examples make up for that (guide/answer/scope.py); a
practitioner's own document has none. The reader is a cross-encoder trained for exactly this
question: it reads (question, sentence) and gives the probability that the sentence holds the
answer. It was trained here (scripts/train_answerability.py) from all-MiniLM-L6-v2 (Apache-2.0)
on SQuAD 2.0 (CC BY-SA 4.0), whose unanswerable questions were written by crowdworkers to look
answerable (an entity or a number swapped, a negation, an antonym); the articles the evaluation
tier uses (evals/corpora/) and the Normans article were left out of its training. It ships in
guide/models/answerability/ (int8 ONNX, checked by sha256 before loading; see its README.md).

`Reader.probabilities(question, sentences)` is all the composer asks of it. A fake for tests
scores word overlap, as the fake reranker does.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "answerability"
PINS = {
    "model.onnx": "bbbf68680a8b4d45b7daeac65c010c881ae4fbe61b042320b7b0e06bfd2dc6b8",
    "tokenizer.json": "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66",
}
MAX_LENGTH = 128  # tokens per (question, sentence) pair, as in training
READER_NAME = "answerability reader (MiniLM-L6 trained on SQuAD 2.0, int8 ONNX)"


# What the reader was trained on: questions asking for a particular thing the text states (a
# person, a place, a time, a number, a name): "who", "when", "where", "which", "how many", "what
# year", "what is the name of", "in what country"... A question asking for advice or a judgement
# ("how do we...", "can we still...", "what should we ask ourselves?") is outside it: on the blog's
# tuning questions, judged without scope examples, the reader called 83% of the answerable ones
# unanswered (docs/decisions.md, issue 19); those are judged as before, on relevance.
_ADVICE = re.compile(r"\b(?:what|how|which|who|where|when)\s+(?:should|shall|can|could|do|does|did|would|might|must|"
                     r"will)\s+(?:we|i|you|our|my|they|people|the blog|it)\b|\bhow (?:do|can|could|should|would|might) \w+",
                     re.I)
_FACTOID = re.compile(r"\b(?:who|whom|whose|when|where|which|what|how (?:many|much|long|far|old|large|big|often|tall|"
                      r"high|deep|wide|fast|early|late))\b", re.I)


def asks_for_advice(question: str) -> bool:
    """Does the question ask what we should or could do ("how do we...", "what can we...")?"""
    return bool(_ADVICE.search(question))


def asks_for_a_fact(question: str) -> bool:
    """Does the question ask for a particular thing the text would state (the reader's domain),
    rather than for advice or a judgement?"""
    return bool(_FACTOID.search(question)) and not asks_for_advice(question)


class Reader(Protocol):
    name: str

    def probabilities(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        """One probability per sentence that it answers `question`."""
        ...


class OnnxReader:
    name = READER_NAME

    def __init__(self, model_dir: Path = MODEL_DIR, pins: dict[str, str] | None = None):
        from guide.search.rerank import OnnxCrossEncoder

        self._ce = OnnxCrossEncoder(model_dir, pins=PINS if pins is None else pins, max_length=MAX_LENGTH)

    def probabilities(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        if not sentences:
            return np.empty(0, dtype=np.float32)
        return (1.0 / (1.0 + np.exp(-self._ce.score(question, sentences)))).astype(np.float32)


class FakeReader:
    """Deterministic, no model (tests): the share of the question's content words in the sentence."""

    name = "fake (word overlap)"

    def probabilities(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        from guide.text import content_terms

        q = set(content_terms(question))
        return np.asarray([len(q & set(content_terms(s))) / len(q) if q else 0.0 for s in sentences], dtype=np.float32)


@functools.lru_cache(maxsize=2)
def _load(value: str) -> Reader | None:
    if value == "onnx":
        return OnnxReader()
    if value == "fake":
        return FakeReader()
    return None


def make_reader(settings) -> Reader | None:
    """The reader named by `settings.reader` ('onnx', 'fake' or 'off'), loaded once per process."""
    return _load(getattr(settings, "reader", "onnx"))
