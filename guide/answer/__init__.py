"""Answers: composing verified quotes, coverage rules, follow-ups and the optional LLM."""
