"""Where the support check's cross-encoder threshold comes from (guide/answer/support.py,
docs/decisions.md, issue 9). For the first quote of each answered question of a set:

- negative: the question restated as a claim ("X?" -> "X."): all its words pass the lexical
  test, yet the quote need not say it (the classic small-model failure);
- positive: the first half of the quote itself (a faithful restatement);
- other: another shown quote of the same answer (on topic, a different claim).

It prints each distribution and the share reaching each candidate threshold.

    python scripts/calibrate_support.py [evals/dev.jsonl]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from guide.engine import Guide
from guide.evaluation.questions import load_questions
from guide.search.rerank import make_reranker
from guide.settings import Settings, offline_environment

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    offline_environment()
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "evals" / "dev.jsonl"
    settings = Settings.from_env(llm_url=None)
    guide, scorer = Guide.open(settings), make_reranker(settings)
    neg, pos, other = [], [], []
    for q in load_questions(path):
        a = guide.ask(q.question)
        if not a.answered or not a.quotes:
            continue
        first = a.quotes[0].text
        neg.append(float(scorer.score(q.question.rstrip("?").strip() + ".", [first])[0]))
        words = first.split()
        pos.append(float(scorer.score(" ".join(words[: max(6, len(words) // 2)]) + ".", [first])[0]))
        if len(a.quotes) > 1:
            other.append(float(scorer.score(a.quotes[1].text, [first])[0]))
    for name, xs in (("question as a claim", neg), ("first half of the quote", pos), ("another shown quote", other)):
        x = np.asarray(xs)
        print(f"{name:24} n={len(x):3} min={x.min():6.2f} p10={np.percentile(x, 10):6.2f} "
              f"median={np.median(x):6.2f} p90={np.percentile(x, 90):6.2f} max={x.max():6.2f}")
    for t in (0, 1, 2, 3, 4, 5):
        print(f"threshold {t}: reach it — claims {np.mean(np.asarray(neg) >= t):.3f}, "
              f"halves {np.mean(np.asarray(pos) >= t):.3f}, other quotes {np.mean(np.asarray(other) >= t):.3f}")


if __name__ == "__main__":
    main()
