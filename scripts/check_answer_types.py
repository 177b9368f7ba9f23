"""Check the answer-type rules (guide/answer/measures.py, coverage.answer_type) on SQuAD articles
the guide is not evaluated on, before trusting them on a document of one's own.

    python scripts/check_answer_types.py SQUAD.json [MORE.json ...]

For every question whose kind the guide recognises (a measurement, a number, a date), take the
sentence holding its gold answer (SQuAD 2.0's *plausible* answer for an unanswerable question)
and ask whether the rule accepts it; for a question naming a year (guide/answer/conditions.py),
whether the answer's paragraph is about that year; and for every question that takes its words
as given, whether the sentence names another name or figure in the place of the question's own
(guide/answer/swaps.py), says the opposite of a word asked, or denies nothing where the
question asks what is not so (guide/answer/opposites.py). An answerable question refused is one the
rule would wrongly decline even with perfect retrieval. The evaluation tier's articles
(Rhine, Computational complexity theory) and Normans are skipped. Prints counts by kind and the
refused answerable questions. SQuAD (Rajpurkar et al.) is CC BY-SA 4.0; nothing is written.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SKIP = {"Normans", "Rhine", "Computational_complexity_theory"}


def main(paths: list[str]) -> int:
    from guide.answer.conditions import about_years, asked_years
    from guide.answer.coverage import answer_type, fits_type
    from guide.answer.measures import gives_measure, measure_asked
    from guide.answer.opposites import asks_what_is_not, denies_nothing, opposites, takes_as_given
    from guide.answer.swaps import swapped_names
    from guide.search.chunking import split_sentences

    counts: collections.Counter = collections.Counter()
    refused: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for path in paths:
        for article in json.loads(Path(path).read_text(encoding="utf-8"))["data"]:
            if article["title"] in SKIP:
                continue
            for paragraph in article["paragraphs"]:
                context = paragraph["context"]
                spans = split_sentences(context)
                for qa in paragraph["qas"]:
                    impossible = qa.get("is_impossible", False)
                    gold = (qa.get("plausible_answers") if impossible else qa.get("answers")) or []
                    if not gold:
                        continue
                    at = gold[0]["answer_start"]
                    sentence = next((context[s.start:s.end] for s in spans if s.start <= at < s.end), None)
                    question = qa["question"]

                    def tally(kind: str, ok: bool) -> None:
                        counts[(kind, "unanswerable" if impossible else "answerable",
                                "accepted" if ok else "refused")] += 1
                        if not ok and not impossible:
                            refused[kind].append((question, sentence))

                    if sentence is None:
                        continue
                    if takes_as_given(question):
                        tally("swap", not swapped_names(question, sentence))
                        tally("opposite", not opposites(question, sentence))
                    if asks_what_is_not(question):
                        tally("negation", not denies_nothing(question, sentence))
                    years = asked_years(question)
                    if years:
                        tally("year", about_years(years, context))
                    measure = measure_asked(question)
                    kind = measure or answer_type(question)
                    if kind is not None:
                        tally(kind, gives_measure(kind, sentence) if measure else fits_type(kind, sentence))
    for key in sorted(counts):
        print(*key, counts[key], sep="\t")
    for kind, rows in sorted(refused.items()):
        print(f"\nanswerable, answer sentence refused ({kind}):")
        for question, sentence in rows:
            print(f"  {question}\n    {sentence[:160]}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
