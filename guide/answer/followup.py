"""Resolving elliptical follow-ups without an LLM.

"what should we ask ourselves about it?" after "how do we rebuild trust?" is searched as
"what should we ask ourselves about it? — how do we rebuild trust?". A follow-up that names a
new topic ("and what about trust?") is searched as it is. The query actually used is
reported with every answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from guide.text import ANAPHORA, content_terms, words

TOPIC_SWITCH = re.compile(r"^\s*(?:and|but|so|ok(?:ay)?|right)?[\s,]*(?:what|how)\s+about\b", re.I)
# Words that ask *for* something (questions, reading, examples) rather than name a topic.
META = frozenset(
    content_terms(
        "ask asking ourselves question questions reflect consider read reading case study studies example examples "
        "help helps matter matters suggest suggests situation tell explain say says mean means more else anything "
        "look looking week point why good idea resource resources could should would know want need"
    )
)


@dataclass(frozen=True)
class Resolved:
    query: str  # what is searched
    rewritten: bool  # True when earlier turns were folded in
    own_terms: tuple[str, ...]  # topic words of the question itself (META words left out)


def _user_turns(history: list[dict] | None) -> list[str]:
    return [str(t.get("content", "")) for t in (history or []) if t.get("role") == "user" and str(t.get("content", "")).strip()]


def resolve(question: str, history: list[dict] | None = None) -> Resolved:
    """The search query for `question` given earlier turns (oldest first)."""
    own = tuple(t for t in content_terms(question) if t not in META)
    users = _user_turns(history)
    if not users:
        return Resolved(question.strip(), False, own)
    previous = resolve(users[-1], [{"role": "user", "content": u} for u in users[:-1]]).query
    ws = words(question)
    anaphoric = any(w in ANAPHORA for w in ws)
    if TOPIC_SWITCH.match(question) and own and not anaphoric:
        return Resolved(question.strip(), False, own)
    if anaphoric or not own:
        return Resolved(f"{question.strip()} — {previous}", True, own)
    return Resolved(question.strip(), False, own)
