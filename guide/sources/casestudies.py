"""Matching a question to the case studies the guide knows, by meaning, with the reason why.

Each case study is known by its manifest entry: title, organisation, our one-line
`description`, our `topics` and the hub section it sits under. The question is embedded with
the guide's own embedder (all-MiniLM-L6-v2) and compared with

- the case study's profile: "title. organisation. description. hub section", and
- each of its topics on its own,

and a case study matches when its score (the better of the two) clears `threshold`. The topic
closest to the question is the "why": "close in meaning to “…”, a topic of our summary".

This works the same whether the guide has read the case study or knows it by link only: the
summary is ours and is only used to *point* to a case study, never quoted (quotes come from a
fetched text, through the index). Optionally a cross-encoder (guide.search.rerank, the
`Reranker` protocol: `score(query, texts) -> logits`) re-orders the matches; it never adds one.

Thresholds were chosen on the `tune` rows of evals/casestudy/match.jsonl only
(`python -m guide.sources.casestudies --split tune`); see docs/decisions.md, issue 11.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np

from guide.sources.corpus import SUMMARY_LABEL, Source, SourceInfo

# Cosine (all-MiniLM-L6-v2) a case study needs to be named for a question; chosen on the tune split.
MATCH_THRESHOLD = 0.45
# A second case study is named too only when it is nearly as close as the first.
SECOND_MARGIN = 0.05
FETCH_COMMAND = "guide corpus fetch"


# Every case study is about co-production: the word says nothing about WHICH one a question is
# about, and left in, it pulls any co-production question towards every case study. It is taken
# out of the question and of the case-study texts before they are compared.
GENERIC = re.compile(r"\b(?:co-?production|co-?produc\w*|co-?pro)\b", re.I)


def _specific(text: str) -> str:
    return re.sub(r"\s{2,}", " ", GENERIC.sub(" ", text)).strip()


class Reranker(Protocol):  # the shared contract of guide.search.rerank
    name: str

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Match:
    """A case study and how close it is to a question (or a topic typed in Explore)."""

    source: Source
    score: float
    topic: str | None  # the topic of our summary closest to the question
    matched: bool  # cleared the threshold

    @property
    def why(self) -> str:
        return self.reason("Your question")

    def reason(self, subject: str) -> str:
        """Why it matches, e.g. reason("Your topic")."""
        if self.topic:
            return (f"{subject} is close in meaning to “{self.topic}”, one of the topics of our summary of "
                    "this case study.")
        return f"{subject} is close in meaning to our summary of this case study."

    @property
    def status(self) -> str:
        return "read" if self.source.has_text else "known by link only"

    def info(self) -> SourceInfo:
        """The case study as shown, with why it matches."""
        return replace(self.source.info(), why=self.why)

    def to_dict(self) -> dict:
        return self.source.to_dict() | {"score": round(self.score, 4), "why": self.why, "matched_topic": self.topic,
                                        "status": self.status, "summary_label": SUMMARY_LABEL}


def profile(source: Source) -> str:
    """The text a case study is matched on: its title, organisation, our summary and hub section."""
    parts = [source.title, source.organisation, source.description,
             f"Listed under {source.hub_section}" if source.hub_section else None]
    return ". ".join(p.rstrip(".") for p in parts if p) + "."


class CaseStudyMatcher:
    """Matches questions to case studies. `embed_documents` is the guide's embedder (texts ->
    unit vectors); the case-study vectors are computed once, on first use."""

    def __init__(self, sources: Iterable[Source], embed_documents: Callable[[list[str]], list[list[float]]], *,
                 embed_query: Callable[[str], list[float]] | None = None, threshold: float = MATCH_THRESHOLD,
                 second_margin: float = SECOND_MARGIN, reranker: Reranker | None = None):
        self.sources = [s for s in sources if s.kind == "case-study"]
        self.embed_documents = embed_documents
        # Questions go through the query path (the guide's embedder keeps them in memory only, not
        # in its on-disk cache); the case-study texts through the document path (cached).
        self.embed_query = embed_query or (lambda text: embed_documents([text])[0])
        self.threshold = threshold
        self.second_margin = second_margin
        self.reranker = reranker
        self._lock = threading.Lock()
        self._profiles: np.ndarray | None = None
        self._topics: list[np.ndarray] = []

    def _vectors(self) -> tuple[np.ndarray, list[np.ndarray]]:
        with self._lock:
            if self._profiles is None:
                topics = [t for s in self.sources for t in s.topics]
                texts = [_specific(t) for t in [profile(s) for s in self.sources] + topics]
                vecs = np.asarray(self.embed_documents(texts), dtype=np.float32)
                vecs = vecs.reshape(len(self.sources) + len(topics), -1)
                self._profiles = vecs[: len(self.sources)]
                at = len(self.sources)
                self._topics = []
                for s in self.sources:
                    self._topics.append(vecs[at: at + len(s.topics)])
                    at += len(s.topics)
            return self._profiles, self._topics

    def rank(self, question: str) -> list[Match]:
        """Every case study, closest first, each with its score, its closest topic and whether it
        clears the threshold."""
        text = _specific(question)
        if not self.sources or not re.search(r"\w", text):
            return [Match(s, 0.0, None, False) for s in self.sources]
        profiles, topics = self._vectors()
        q = np.asarray(self.embed_query(text), dtype=np.float32).reshape(-1)
        out: list[Match] = []
        for s, p, tv in zip(self.sources, profiles, topics):
            whole = float(p @ q)
            topic, best_topic = None, -1.0
            if len(tv):
                sims = tv @ q
                i = int(np.argmax(sims))
                topic, best_topic = s.topics[i], float(sims[i])
            score = max(whole, best_topic)
            out.append(Match(s, score, topic, score >= self.threshold))
        out.sort(key=lambda m: -m.score)
        return out

    def match(self, question: str, *, limit: int = 2, link_only: bool = False) -> list[Match]:
        """The case studies that address the question (at most `limit`): the best one when it
        clears the threshold, and the next ones only when they are nearly as close."""
        ranked = [m for m in self.rank(question) if m.matched]
        if not ranked:
            return []
        chosen = [m for m in ranked if m.score >= ranked[0].score - self.second_margin
                  and not (link_only and m.source.has_text)][:limit]
        if self.reranker is not None and len(chosen) > 1:
            logits = np.asarray(self.reranker.score(question, [profile(m.source) for m in chosen]), dtype=np.float32)
            chosen = [chosen[i] for i in np.argsort(-logits, kind="stable")]
        return chosen


# --- the Explore tab: every case study as a card, optionally ranked --------------------------------

@dataclass(frozen=True)
class Card:
    """One case study as Explore shows it. `why` is set when a filter ranked the cards and this
    one matches it; `matched` is False for the cards a filter did not match (still listed)."""

    source: SourceInfo
    why: str | None = None
    matched: bool = True
    score: float | None = None


def challenge_query(chunks: Iterable, challenge: str) -> str:
    """What a blog challenge is about, to match case studies on: its heading and its paragraphs
    (the blog's own text, used only as a query, never shown)."""
    body = [c.text for c in chunks if c.section == challenge and c.kind == "paragraph"]
    return " ".join([challenge.removeprefix("Challenge:").strip(), *body])


def explore_cards(matcher: CaseStudyMatcher, sources: Sequence[SourceInfo], *, challenge: str | None = None,
                  challenge_text: str | None = None, topic: str | None = None) -> list[Card]:
    """Every case study in `sources` as a card. With a blog challenge (`challenge_text` from
    `challenge_query`) or a typed `topic`, the cards are ranked by the same matching as the
    answers: the ones the blog links from that challenge first, then matches, then the rest."""
    cases = [s for s in sources if s.kind == "case-study"]
    query = (topic or "").strip() or (challenge_text or "").strip()
    if not query:
        return [Card(s) for s in cases]
    info = {s.id: s for s in cases}
    ranked = [m for m in matcher.rank(query) if m.source.id in info]
    cards: list[tuple[int, Card]] = []
    for i, m in enumerate(ranked):
        src = info[m.source.id]
        linked = bool(challenge and not topic and src.linked_from == challenge)
        if linked:
            why = f"The blog links to it from “{challenge}”."
        elif m.matched:
            why = m.reason("Your topic" if topic else "This challenge")
        else:
            why = None
        cards.append((0 if linked else 1 if m.matched else 2, Card(src, why, linked or m.matched, round(m.score, 4))))
    cards.sort(key=lambda t: t[0])  # stable: within a group, closest first
    seen = {c.source.id for _, c in cards}
    return [c for _, c in cards] + [Card(s, None, False) for s in cases if s.id not in seen]


# --- measuring the matching (evals/casestudy/match.jsonl) -----------------------------------------

def load_match_questions(path, split: str | None = None) -> list[dict]:
    import json
    from pathlib import Path

    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            row = json.loads(line)
            if split is None or row["split"] == split:
                rows.append(row)
    return rows


def measure(matcher: CaseStudyMatcher, rows: Sequence[dict]) -> dict:
    """Precision of the top match on questions one case study addresses, and how often a
    question none addresses wrongly gets one (a pure function of the matcher's answers)."""
    pos = [r for r in rows if r["expect"]]
    neg = [r for r in rows if not r["expect"]]
    tops = {r["id"]: [m.source.id for m in matcher.match(r["question"])] for r in rows}
    named = [r for r in pos if tops[r["id"]]]
    correct = [r for r in named if tops[r["id"]][0] == r["expect"]]
    wrong = [r for r in neg if tops[r["id"]]]
    return {
        "questions": len(rows),
        "addressed": len(pos),
        "top_match_correct": len(correct),
        "top_match_precision": round(len(correct) / len(named), 3) if named else None,
        "recall": round(len(correct) / len(pos), 3) if pos else None,
        "unrelated": len(neg),
        "unrelated_given_a_case_study": len(wrong),
        "false_match_rate": round(len(wrong) / len(neg), 3) if neg else None,
        "misses": [{"id": r["id"], "question": r["question"], "expect": r["expect"], "got": tops[r["id"]]}
                   for r in rows if (r["expect"] and (tops[r["id"]][:1] != [r["expect"]]))
                   or (not r["expect"] and tops[r["id"]])],
    }


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - a measuring script
    import argparse
    import json
    from pathlib import Path

    from guide.engine import embedder_for
    from guide.settings import Settings, offline_environment
    from guide.sources.corpus import load_manifest

    offline_environment()
    ap = argparse.ArgumentParser(description="Measure case-study matching on evals/casestudy/match.jsonl")
    ap.add_argument("--split", choices=["tune", "heldout"], required=True)
    ap.add_argument("--threshold", type=float, default=MATCH_THRESHOLD)
    ap.add_argument("--questions", default=str(Path(__file__).resolve().parents[2] / "evals/casestudy/match.jsonl"))
    ap.add_argument("--scores", action="store_true", help="print every question's ranked scores")
    args = ap.parse_args(argv)
    settings = Settings.from_env()
    embedder = embedder_for(settings)
    matcher = CaseStudyMatcher(load_manifest(settings.manifest_path).sources, embedder.embed_documents,
                               embed_query=embedder.embed_query, threshold=args.threshold)
    rows = load_match_questions(args.questions, args.split)
    if args.scores:
        for r in rows:
            ranked = matcher.rank(r["question"])
            print(f"{r['id']} expect={r['expect']} " + " ".join(f"{m.source.id[:12]}={m.score:.3f}" for m in ranked[:3]))
    print(json.dumps(measure(matcher, rows), indent=2, ensure_ascii=False))


if __name__ == "__main__":  # pragma: no cover
    main()
