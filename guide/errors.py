"""The guide's exceptions: a short hierarchy, each message says how to fix it."""

from __future__ import annotations


class GuideError(Exception):
    """Base class: every error the guide raises on purpose. Its message is for people."""


class SettingsError(GuideError):
    """A setting (usually a GUIDE_* environment variable) has a value that cannot be used."""


class QuestionError(GuideError):
    """The question cannot be asked as it is (empty, too long, ...)."""


class CorpusError(GuideError):
    """A corpus file or the manifest is malformed. Names the file (and line when known)."""

    def __init__(self, message: str, *, path: object = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line


class IndexMissingError(GuideError):
    """No index has been built yet."""


class IndexCorruptError(GuideError):
    """The index exists but cannot be read."""


class StoreUnavailableError(GuideError):
    """The vector store (e.g. a Chroma server) cannot be reached."""


class ModelError(GuideError):
    """The embedding model cannot be loaded."""


class SourceError(GuideError):
    """A source could not be fetched or read (network, format, size...)."""


class AuthError(GuideError):
    """Sign-in is not set up in a way the server can use (users file missing or malformed, ...)."""


class PermissionDenied(GuideError):
    """The signed-in user's role does not allow this action. The message says who may do it."""
