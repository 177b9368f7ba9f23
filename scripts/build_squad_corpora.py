"""Write the corpus-independent evaluation tier (issue 19) from a SQuAD 2.0 JSON file.

    python scripts/build_squad_corpora.py SQUAD_2_0.json Rhine Computational_complexity_theory

For each article: `evals/corpora/<slug>/` with `sources.toml`, `<slug>.md` (the article's
paragraphs, verbatim and in order, under its title) and two question files, split by paragraph
with a fixed seed *before* any measurement: `<slug>_tune.jsonl` and `<slug>_heldout.jsonl`.

SQuAD 2.0 (Rajpurkar, Jia and Liang, ACL 2018) is CC BY-SA 4.0; its paragraphs are from English
Wikipedia (CC BY-SA). Its questions were written by crowdworkers, the unanswerable ones
adversarially: each names things the paragraph mentions but asks what it does not say (an
entity or number swapped, a negation, an antonym). An answerable question's `quotes` is its
shortest gold answer (any longer gold answer contains it), so `quote_recall` is "the answer is in
a shown quote" and `first_quote_hit` "in the first quote". Run once; the result is committed.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "evals" / "corpora"
SEED = 20261207
WIKI = "https://en.wikipedia.org/wiki/"


def slug(title: str) -> str:
    return title.lower().replace("_", "-").replace(",", "").replace("(", "").replace(")", "")


def write(article: dict) -> None:
    title, sid = article["title"], slug(article["title"])
    folder = OUT / sid
    folder.mkdir(parents=True, exist_ok=True)
    paragraphs = [p["context"].strip() for p in article["paragraphs"]]
    body = f"# {title.replace('_', ' ')}\n\n" + "\n\n".join(paragraphs) + "\n"
    url = WIKI + title
    (folder / f"{sid}.md").write_text(
        f"---\nid: {sid}\ntitle: {title.replace('_', ' ')}\norganisation: Wikipedia (via SQuAD 2.0, CC BY-SA 4.0)\n"
        f"url: {url}\nkind: document\n---\n\n" + body, encoding="utf-8")
    (folder / "sources.toml").write_text(
        "# A corpus for `guide eval --corpus` (issue 19): one Wikipedia article as SQuAD 2.0 gives it\n"
        "# (CC BY-SA 4.0), with no scope examples. Written by scripts/build_squad_corpora.py.\n\n"
        f'[[source]]\nid = "{sid}"\ntitle = "{title.replace("_", " ")}"\n'
        f'organisation = "Wikipedia (via SQuAD 2.0, CC BY-SA 4.0)"\nurl = "{url}"\nkind = "document"\n'
        f'file = "{sid}.md"\n', encoding="utf-8")
    order = list(range(len(paragraphs)))
    random.Random(SEED).shuffle(order)
    tune_paragraphs = set(order[: len(order) // 2])
    halves: dict[str, list[str]] = {"tune": [], "heldout": []}
    for i, p in enumerate(article["paragraphs"]):
        for qa in p["qas"]:
            answerable = not qa.get("is_impossible", False)
            answers = sorted({a["text"].strip() for a in qa["answers"]}, key=len) if answerable else []
            row = {"id": qa["id"], "question": " ".join(qa["question"].split()), "answerable": answerable,
                   "sources": [sid] if answerable else [], "quotes": answers[:1]}
            halves["tune" if i in tune_paragraphs else "heldout"].append(json.dumps(row, ensure_ascii=False))
    for half, rows in halves.items():
        head = (f"# SQuAD 2.0 dev, article {title} (CC BY-SA 4.0): the questions of half of its {len(paragraphs)} "
                f"paragraphs, split by paragraph with random.Random({SEED}) before any measurement; "
                + ("the tuning half." if half == "tune" else "the held-out half: never tuned on."))
        (folder / f"{sid}_{half}.jsonl").write_text(head + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
        print(f"{folder / f'{sid}_{half}.jsonl'}: {len(rows)} questions")


def main(path: str, *titles: str) -> None:
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    for article in data:
        if article["title"] in titles:
            write(article)


if __name__ == "__main__":
    main(*sys.argv[1:])
