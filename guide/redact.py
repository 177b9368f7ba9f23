"""Secrets never leave the process as text. `redact(text)` replaces with [redacted]: the value of
every secret-looking environment variable (GUIDE_LLM_API_KEY, *_API_KEY, *_TOKEN, *SECRET*,
*PASSWORD*), a `Bearer <token>`, and the password in a URL (`https://user:pw@host`).

The `guide` command calls `guard_output()` first: its stdout and stderr (so every log line,
error line, --json output and Gradio's own printed tracebacks) and every logging handler
redact. Reports written to files call `redact` themselves (guide.evaluation.report).
"""

from __future__ import annotations

import logging
import os
import re
from typing import Mapping

MASK = "[redacted]"
SECRET_NAME = re.compile(r"API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.I)
MIN_SECRET_CHARS = 6  # shorter values ("1", "true") would blank out ordinary words
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s/@]+@")


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """The values of secret-looking environment variables, longest first."""
    env = os.environ if env is None else env
    values = {v for k, v in env.items() if SECRET_NAME.search(k) and v and len(v) >= MIN_SECRET_CHARS}
    return sorted(values, key=len, reverse=True)


def redact(text: object, env: Mapping[str, str] | None = None) -> str:
    out = str(text)
    for value in secret_values(env):
        out = out.replace(value, MASK)
    out = _BEARER.sub(lambda m: m.group(1) + MASK, out)
    return _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", out)


class RedactingFormatter(logging.Formatter):
    """Formats with the handler's own formatter, then redacts (the message, its arguments and any
    traceback alike)."""

    def __init__(self, inner: logging.Formatter | None = None):
        super().__init__()
        self.inner = inner or logging.Formatter("%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


def redact_logging(logger: logging.Logger | None = None) -> None:
    """Make every handler of `logger` (default: root) and Python's last-resort handler redact."""
    handlers = list((logger or logging.getLogger()).handlers)
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(handler.formatter))


class _RedactingStream:
    """A text stream that redacts what is written to it (everything else goes to the stream)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # bytes: let the stream refuse them as it would (click probes this)
            return self._stream.write(text)
        self._stream.write(redact(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def guard_output() -> None:
    """Redact everything this process prints on stdout/stderr or logs (idempotent)."""
    import sys

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _RedactingStream):
            setattr(sys, name, _RedactingStream(stream))
    redact_logging()
