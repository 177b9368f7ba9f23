"""Who may use the web chat, and how much: sign-in, roles, per-visitor limits. No Gradio here;
guide/web/app.py calls this from its handlers, so every check runs on the server.

Users live in the file named by GUIDE_USERS_FILE, one per line:

    alice:editor:scrypt$16384$8$1$<salt>$<hash>
    bob:reader:scrypt$16384$8$1$<salt>$<hash>

The hash is scrypt (stdlib hashlib) with a random 16-byte salt per user, compared in constant
time; no plain password is ever stored or logged. `guide users add NAME --role reader|editor`
writes a line. Lines starting with # are comments.

Roles: a reader may ask, explore and rate; an editor may also upload, remove and fetch sources,
run evaluations, export feedback and read the audit trail. Without a users file (one person on
127.0.0.1, or `guide serve --no-auth`) there is no sign-in and the one visitor can do everything.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from guide.errors import AuthError, PermissionDenied

log = logging.getLogger("guide.web.auth")

ROLES = ("reader", "editor")
READER = frozenset({"ask", "explore", "rate"})
EDITOR = READER | {"upload", "remove", "fetch", "evaluate", "export", "audit"}
PERMISSIONS = {"reader": READER, "editor": EDITOR}
# How a refusal names the action ("Only editors can <words>.").
ACTION_WORDS = {
    "ask": "ask questions", "explore": "explore the sources", "rate": "rate answers",
    "upload": "add documents", "remove": "remove sources", "fetch": "fetch sources",
    "evaluate": "run evaluations", "export": "export feedback", "audit": "see the audit trail",
}
ANONYMOUS = "anonymous"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_CHARS = 8
SIGN_IN_ATTEMPTS_PER_MINUTE = 5  # per user name: slows down password guessing
HOW_TO_CONFIGURE = ("create users with `guide users add NAME --role editor` and set GUIDE_USERS_FILE to that file "
                    "(see docs/security.md), or pass --no-auth to serve without sign-in")

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2 ** 14, 8, 1
_MAXMEM = 64 * 1024 * 1024


# --- passwords ---------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$hash` for `password`, with a fresh random salt unless one is given."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P,
                            maxmem=_MAXMEM, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` hashes to `encoded` (constant-time comparison; False if malformed)."""
    try:
        algo, n, r, p, salt, digest = encoded.split("$")
        if algo != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                                maxmem=_MAXMEM, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = hash_password("not a password", salt=b"\0" * 16)  # unknown names cost the same time


# --- the users file ----------------------------------------------------------------------------

@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str

    def __repr__(self) -> str:  # never print the hash
        return f"User(name={self.name!r}, role={self.role!r})"


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise AuthError(f"{name!r} is not a usable user name: use letters, digits and . _ @ - (at most 64).")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AuthError(f"role must be reader or editor, not {role!r}")
    return role


class Users:
    """The users file. Re-read when it changes, so `guide users add` needs no restart."""

    def __init__(self, path: Path | str):
        self.path = Path(path).expanduser()
        self._seen: tuple[float, int] | None = None
        self._users: dict[str, User] = {}

    def load(self) -> dict[str, User]:
        """{name: User}; AuthError (file and line) when the file is missing or malformed."""
        try:
            st = self.path.stat()
            stamp = (st.st_mtime, st.st_size)
            if stamp == self._seen:
                return self._users
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise AuthError(f"cannot read the users file {self.path}: {exc.strerror or exc}; "
                            + HOW_TO_CONFIGURE) from None
        users = {u.name: u for u in _parse(text, self.path)}
        self._seen, self._users = stamp, users
        return users

    def add(self, name: str, role: str, password: str) -> bool:
        """Add a user, or replace the password and role of an existing one. True if new."""
        from filelock import FileLock

        check_name(name)
        check_role(role)
        if len(password) < MIN_PASSWORD_CHARS:
            raise AuthError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
        line = f"{name}:{role}:{hash_password(password)}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock", timeout=30):
            lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []
            _parse("\n".join(lines), self.path)  # never rewrite a file we cannot read back
            new = True
            for i, old in enumerate(lines):
                if old.split(":", 1)[0] == name and not old.startswith("#"):
                    lines[i], new = line, False
            if new:
                lines.append(line)
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # only its owner may read it
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
            os.replace(tmp, self.path)
        return new


def _parse(text: str, path: Path) -> list[User]:
    users: list[User] = []
    seen: set[str] = set()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        where = f"{path}, line {n}"
        if len(parts) != 3 or not parts[2].startswith("scrypt$") or parts[2].count("$") != 5:
            raise AuthError(f"{where}: expected NAME:ROLE:HASH (write lines with `guide users add`)")
        name, role, encoded = parts
        if not NAME_RE.match(name) or role not in ROLES:
            raise AuthError(f"{where}: bad user name or role (roles: reader, editor)")
        if name in seen:
            raise AuthError(f"{where}: user {name} is listed twice")
        seen.add(name)
        users.append(User(name, role, encoded))
    return users


# --- who may do what ------------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Access:
    """The server's sign-in and role checks. `Access()` (no users) means no sign-in: the one
    visitor may do everything, as on a laptop. `Access(Users(path))` requires sign-in."""

    def __init__(self, users: Users | None = None):
        self.users = users
        self._attempts = RateLimit(SIGN_IN_ATTEMPTS_PER_MINUTE, scope="sign-in")

    @property
    def enabled(self) -> bool:
        return self.users is not None

    def authenticate(self, username: str, password: str) -> bool:
        """Gradio's `auth=` callable. Never logs the password; slows down repeated guesses."""
        if self.users is None:
            return True
        name = (username or "").strip()[:64]
        if self._attempts.check(name) is not None:
            log.warning("sign-in refused for %r: too many attempts in the last minute", name)
            return False
        user = self._user(name)
        ok = verify_password(password or "", user.password_hash if user else _DUMMY_HASH) and user is not None
        if ok:
            self._attempts.forget(name)
            log.info("signed in: %s (%s)", name, user.role)
        else:
            log.warning("failed sign-in for %r", name)
        return ok

    def role(self, username: str | None) -> str | None:
        """The role of a signed-in user (re-read from the users file), None if there is none."""
        if self.users is None:
            return "editor"
        user = self._user(username) if username else None
        return user.role if user else None

    def _user(self, name: str) -> User | None:
        """The user called `name` in the users file now (None if absent or the file is unusable)."""
        try:
            return self.users.load().get(name)
        except AuthError as exc:
            log.error("cannot check who %r is: %s", name, exc)
            return None

    def allowed(self, username: str | None, action: str) -> bool:
        return action in PERMISSIONS.get(self.role(username) or "", frozenset())

    def check(self, username: str | None, action: str) -> None:
        """Raise PermissionDenied unless `username` may do `action` (see ACTION_WORDS)."""
        if action not in ACTION_WORDS:
            raise ValueError(f"unknown action {action!r}")
        if self.allowed(username, action):
            return
        words = ACTION_WORDS[action]
        if self.role(username) is None:
            log.warning("refused %s: not signed in", action)
            raise PermissionDenied(f"Please sign in to {words}.")
        log.warning("refused %s for %s (%s)", action, username, self.role(username))
        raise PermissionDenied(f"Only editors can {words}. You are signed in as {username}, a reader.")

    def who(self, username: str | None) -> str:
        """The name recorded for feedback and the audit trail."""
        return username if self.enabled and username else ANONYMOUS


def access_for(host: str, users_file: Path | None, *, no_auth: bool = False) -> tuple[Access, str | None]:
    """The Access for `guide serve` on `host`, and a warning line to print (or None).

    Refuses (AuthError, one line) to serve a non-loopback address without sign-in unless
    `no_auth`. A users file, when set, turns sign-in on everywhere, loopback included."""
    if users_file is not None and not no_auth:
        users = Users(users_file)
        if not users.load():
            raise AuthError(f"the users file {users.path} has no users; " + HOW_TO_CONFIGURE)
        return Access(users), None
    if no_auth:
        if is_loopback(host):
            return Access(), None
        return Access(), (f"warning: --no-auth: anyone who can reach {host} can add and remove sources, run "
                          "evaluations and export everyone's feedback.")
    if not is_loopback(host):
        raise AuthError(f"refusing to serve on {host} without sign-in: " + HOW_TO_CONFIGURE + ".")
    return Access(), None


# --- limits per visitor ----------------------------------------------------------------------------

class RateLimit:
    """At most `per_minute` events per key in any 60 seconds (a moving window, `limits` library).
    `check(key)` counts one event and returns None, or a friendly message when over the limit."""

    def __init__(self, per_minute: int, *, scope: str = "questions"):
        from limits import RateLimitItemPerMinute
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.per_minute = per_minute
        self.scope = scope
        self._item = RateLimitItemPerMinute(max(1, per_minute))
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, key: str) -> str | None:
        if self.per_minute <= 0 or self._limiter.hit(self._item, self.scope, key):
            return None
        stats = self._limiter.get_window_stats(self._item, self.scope, key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        return (f"You've asked {self.per_minute} questions in the last minute, the most this server answers for "
                f"one conversation. Please wait {wait} second{'s' if wait != 1 else ''} and ask again.")

    def forget(self, key: str) -> None:
        self._limiter.clear(self._item, self.scope, key)


EVALUATION_BUSY = ("Another evaluation is running on this server; only one runs at a time. Please try again when "
                   "it has finished.")


@contextlib.contextmanager
def evaluation_slot(data_dir: Path) -> Iterator[bool]:
    """Yields True while this caller holds the server's one evaluation slot, False if another
    evaluation (in this or another process sharing the data dir) holds it."""
    from filelock import FileLock, Timeout

    Path(data_dir).mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(Path(data_dir) / "evaluation.lock"), timeout=0, thread_local=False, is_singleton=False)
    try:
        lock.acquire()
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


# --- the page's title (WCAG 2.4.2 Page Titled) --------------------------------------------------

# Gradio's sign-in page shows "Incorrect Credentials" as plain text: nothing tells a screen reader.
# This copies any error shown on it into a live region that exists from the start (WCAG 4.1.3).
SIGN_IN_SCRIPT = (
    b"<script>addEventListener('DOMContentLoaded', () => { const say = document.createElement('div');"
    b" say.id = 'guide-sign-in-status'; say.setAttribute('role', 'alert');"
    b" say.style.cssText = 'position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);"
    b"white-space:nowrap'; document.body.appendChild(say); let last = '';"
    b" new MutationObserver(() => { const p = [...document.querySelectorAll('gradio-app p')]"
    b".find(e => /incorrect|error|try again/i.test(e.textContent)); const text = p ? p.textContent.trim() : '';"
    b" if (text !== last) { last = text; say.textContent = !text ? '' : /incorrect credentials/i.test(text)"
    b" ? 'Sign-in failed: that user name and password do not match. Please try again.'"
    b" : 'Sign-in failed: ' + text; } })"
    b".observe(document.body, {childList: true, subtree: true, characterData: true}); });</script>"
)


class PageTitle:
    """ASGI middleware giving the app's HTML page a <title> in the HTML itself, and the sign-in
    page a live region for its error (`SIGN_IN_SCRIPT`).

    Gradio's page has none until its script sets one, and its sign-in page never gets one, so a
    screen reader announces an untitled page. Any HTML response without a <title> gets `title`,
    or `sign_in_title` when it is the sign-in page (Gradio's config says `auth_required`)."""

    def __init__(self, app, title: str, sign_in_title: str):
        import html

        self.app = app
        self._titles = {False: html.escape(title).encode(), True: html.escape(sign_in_title).encode()}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET":
            return await self.app(scope, receive, send)
        start: dict = {}
        body: list[bytes] = []

        async def titled(message):
            if message["type"] == "http.response.start":
                ctype = next((v for k, v in message.get("headers", []) if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/html"):
                    start.update(message)  # held until the whole page is here
                    return None
                return await send(message)
            if message["type"] != "http.response.body" or not start:
                return await send(message)
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return None
            page = b"".join(body)
            sign_in = b'"auth_required":true' in page
            if b"<title" not in page and b"<head>" in page:
                page = page.replace(b"<head>", b"<head><title>" + self._titles[sign_in] + b"</title>", 1)
            if sign_in and b"</head>" in page:
                page = page.replace(b"</head>", SIGN_IN_SCRIPT + b"</head>", 1)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(page)).encode())]})
            return await send({"type": "http.response.body", "body": page})

        return await self.app(scope, receive, titled)
