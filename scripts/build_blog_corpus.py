"""Write corpus/facing-the-challenges.md from ../shared/seed/ (run once; the result is committed).

Faithful by construction: every seed line becomes exactly one Markdown line, unchanged;
line 1 (the title) becomes the `#` heading, the short heading lines become `##` headings,
everything else is a paragraph. tests/test_corpus.py checks the result against the seed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seed" / "facing-the-challenges-of-co-production-in-difficult-times.txt"
OUT = ROOT / "corpus" / "facing-the-challenges.md"

FRONT = """---
id: facing-the-challenges
title: Facing the challenges of co-production in difficult times
author: Sam Jordan
organisation: Scottish Co-production Network
url: https://coproductionscotland.org.uk/news/facing-the-challenges-of-co-production-in-difficult-times
kind: blog
---
"""


def is_heading(line: str) -> bool:
    return line == "Keeping the doors open" or line.startswith("Challenge: ")


def main() -> int:
    lines = [ln.rstrip("\n") for ln in SEED.read_text(encoding="utf-8").splitlines() if ln.strip()]
    out = [FRONT, f"# {lines[0]}", ""]
    for line in lines[1:]:
        out += [f"## {line}" if is_heading(line) else line, ""]
    OUT.write_text("\n".join(out), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
