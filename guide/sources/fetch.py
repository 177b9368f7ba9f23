"""Polite fetching of web pages for the corpus.

One `Fetcher` per run: an httpx client with a clear user agent, timeouts, retries with
exponential backoff (for timeouts, connection failures, 429 and 5xx only), a size cap checked
both on Content-Length and while streaming, redirects followed by hand (never to another
site), and robots.txt respected (fetched with the same client, cached per site, Crawl-delay
honoured up to a cap). Every failure is a `SourceError` with one clear sentence.

Addresses: `normalise_url` is the identity of a page (https, no `www.`, no tracking
parameters, no fragment, no trailing slash) so http/https, www and utm_* variants are one
page; `clean_url` is what is fetched and stored (tracking parameters and fragment dropped,
scheme and host kept, so a site that only answers http still works).
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from guide.errors import SourceError

USER_AGENT = "CoproductionGuide/0.1 (+contact: see README; offline-first quote guide)"
ROBOTS_TOKEN = "CoproductionGuide"

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOCUMENT_TYPES = HTML_TYPES | {
    "application/pdf", DOCX_TYPE, "text/plain", "text/markdown", "text/x-markdown", "application/octet-stream",
}
_TRACKING = {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "yclid", "_ga", "_gl"}
_DEFAULT_PORT = {"http": 80, "https": 443}
_REDIRECTS = {301, 302, 303, 307, 308}

# The Scottish Co-production Network's case-study hub (see ../shared/seed/README.md).
DEFAULT_HUB = "https://coproductionscotland.org.uk/case-studies"
CASE_STUDY_PATH = re.compile(r"^/resources/[A-Za-z0-9][A-Za-z0-9._~%-]*$")


@dataclass(frozen=True)
class FetchConfig:
    """Every knob of fetching, with defaults that are gentle on a small charity's website."""

    timeout: float = 20.0  # seconds, per attempt (connect, each read, and the whole body)
    retries: int = 2  # extra attempts after a timeout, connection failure, 429 or 5xx
    backoff: float = 1.0  # seconds before the first retry; doubles each time
    max_backoff: float = 30.0
    max_bytes: int = 5_000_000  # a bigger page is refused
    max_redirects: int = 5
    min_interval: float = 0.5  # seconds between two requests to the same site
    max_crawl_delay: float = 10.0  # a robots.txt Crawl-delay is honoured up to this
    user_agent: str = USER_AGENT
    respect_robots: bool = True
    # --follow: how far and how much to discover from the case-study hub
    follow_depth: int = 2  # hub = depth 0; its same-section pages (e.g. ?page=2) up to this depth
    follow_max: int = 20  # at most this many new case studies per run
    follow_max_pages: int = 30  # at most this many hub pages read per run

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.retries < 0 or self.backoff < 0 or self.max_bytes <= 0:
            raise ValueError("timeout and max_bytes must be positive; retries and backoff not negative")


# --- addresses ---------------------------------------------------------------------------

def _split(url: str):
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{url!r} is not a web address (http:// or https://)", "address")
    return parts


def _query(query: str) -> str:
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True)
            if not k.lower().startswith("utm_") and k.lower() not in _TRACKING]
    return urlencode(kept)


def _netloc(scheme: str, host: str, port: int | None) -> str:
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return host if port is None or port == _DEFAULT_PORT.get(scheme) else f"{host}:{port}"


def clean_url(url: str) -> str:
    """The address to fetch and store: tracking parameters, fragment and trailing slash dropped."""
    p = _split(url)
    scheme = p.scheme.lower()
    path = p.path.rstrip("/")
    return urlunsplit((scheme, _netloc(scheme, p.hostname.lower(), p.port), path, _query(p.query), ""))


def normalise_url(url: str) -> str:
    """The identity of a page: https, no www., no tracking parameters, fragment or trailing slash."""
    p = _split(url)
    host = p.hostname.lower()
    host = host[4:] if host.startswith("www.") else host
    port = None if p.port == _DEFAULT_PORT.get(p.scheme.lower()) else p.port
    return urlunsplit(("https", _netloc("https", host, port), p.path.rstrip("/"), _query(p.query), ""))


def _site(url: str) -> tuple[str, int | None]:
    p = urlsplit(url)
    host = (p.hostname or "").lower()
    host = host[4:] if host.startswith("www.") else host
    port = None if p.port == _DEFAULT_PORT.get(p.scheme.lower()) else p.port
    return host, port


def same_site(a: str, b: str) -> bool:
    """Same host (ignoring www. and http/https) and same explicit port."""
    return _site(a) == _site(b)


def rebase(url: str, onto: str) -> str:
    """`url` (same site as `onto`) at `onto`'s scheme and host: the address that is known to answer."""
    p, o = urlsplit(clean_url(url)), urlsplit(onto)
    return urlunsplit((o.scheme, o.netloc, p.path, p.query, ""))


def origin(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme.lower()}://{p.netloc.lower()}"


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


# --- fetching ----------------------------------------------------------------------------

@dataclass
class Page:
    url: str  # as asked for
    final_url: str  # after same-site redirects
    status: int
    content_type: str  # the MIME type, without parameters
    charset: str | None
    content: bytes


class FetchError(SourceError):
    """A page could not be fetched. `kind` says why, for callers that sort failures:
    unreachable | timeout | http | robots | redirect | type | size | address."""

    def __init__(self, message: str, kind: str, status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status

    @property
    def offline(self) -> bool:
        return self.kind in ("unreachable", "timeout")


class _Retryable(Exception):
    def __init__(self, message: str, kind: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.retry_after = retry_after


@dataclass
class _Robots:
    parser: RobotFileParser | None  # None: no robots.txt, everything allowed
    delay: float = 0.0
    error: FetchError | None = None  # the site could not be reached for its robots.txt


class Fetcher:
    """Use as a context manager. `get(url)` returns a `Page` or raises `SourceError`."""

    def __init__(self, config: FetchConfig | None = None, *, transport: httpx.BaseTransport | None = None,
                 sleep=time.sleep):
        self.config = config or FetchConfig()
        self._sleep = sleep
        self.client = httpx.Client(
            headers={"User-Agent": self.config.user_agent, "Accept-Language": "en"},
            timeout=httpx.Timeout(self.config.timeout),
            follow_redirects=False,
            transport=transport,
        )
        self._robots: dict[str, _Robots] = {}
        self._last: dict[str, float] = {}
        self.requests = 0  # how many HTTP requests were made (for reports and tests)

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    # public ------------------------------------------------------------------------------
    def get(self, url: str, *, accept: frozenset[str] | set[str] = HTML_TYPES) -> Page:
        """Fetch one page (robots.txt first). Raises SourceError with a clear reason."""
        url = clean_url(url)
        self._check_robots(url)
        return self._with_retries(url, accept, robots=True)

    def allowed(self, url: str) -> bool:
        try:
            self._check_robots(clean_url(url))
        except SourceError:
            return False
        return True

    # internals ---------------------------------------------------------------------------
    def _with_retries(self, url: str, accept, *, robots: bool, max_bytes: int | None = None) -> Page:
        """`_once` with tenacity: exponential backoff, at least the server's Retry-After, capped."""
        cfg = self.config
        backoff = wait_exponential(multiplier=cfg.backoff, max=cfg.max_backoff)

        def wait(state) -> float:
            retry_after = state.outcome.exception().retry_after or 0.0
            return min(cfg.max_backoff, max(backoff(state), retry_after))

        tries = cfg.retries + 1
        retrying = Retrying(stop=stop_after_attempt(tries), wait=wait, retry=retry_if_exception_type(_Retryable),
                            sleep=self._sleep, reraise=True)
        try:
            return retrying(self._once, url, accept, robots=robots, max_bytes=max_bytes or cfg.max_bytes)
        except _Retryable as last:
            suffix = f" (tried {tries} times)" if tries > 1 else ""
            raise FetchError(last.message + suffix, last.kind, last.status) from None

    def _pace(self, url: str) -> None:
        site = origin(url)
        robots = self._robots.get(site)
        gap = max(self.config.min_interval, min(robots.delay if robots else 0.0, self.config.max_crawl_delay))
        if site in self._last and gap > 0:
            wait = self._last[site] + gap - time.monotonic()
            if wait > 0:
                self._sleep(wait)
        self._last[site] = time.monotonic()

    def _once(self, url: str, accept, *, robots: bool, max_bytes: int) -> Page:
        cfg = self.config
        current = url
        for _hop in range(cfg.max_redirects + 1):
            self._pace(current)
            self.requests += 1
            started = time.monotonic()
            try:
                with self.client.stream("GET", current) as resp:
                    if resp.status_code in _REDIRECTS and resp.headers.get("location"):
                        target = urljoin(current, resp.headers["location"])
                        if urlsplit(target).scheme not in ("http", "https") or not same_site(url, target):
                            host = urlsplit(target).hostname or target
                            raise FetchError(f"redirects to another site ({host}); not followed", "redirect")
                        current = clean_url(target)
                        if robots:
                            self._check_robots(current)
                        continue
                    self._check_status(resp, current)
                    mime, charset = _content_type(resp.headers.get("content-type", ""))
                    if accept and mime not in accept:
                        kinds = "an HTML page" if set(accept) <= HTML_TYPES else "a supported document"
                        raise FetchError(f"is {mime or 'of no stated type'}, not {kinds}", "type")
                    declared = resp.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError(f"is {_size(int(declared))}, over the {_size(max_bytes)} limit; not fetched",
                                         "size")
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise FetchError(f"is larger than the {_size(max_bytes)} limit; stopped reading", "size")
                        if time.monotonic() - started > cfg.timeout:
                            raise httpx.ReadTimeout("the whole response took too long")
                    return Page(url, current, resp.status_code, mime, charset, bytes(body))
            except httpx.TimeoutException:
                raise _Retryable(f"timed out (no complete answer within {cfg.timeout:g} s)", "timeout") from None
            except httpx.ConnectError as exc:
                raise _Retryable(f"could not be reached ({_reason(exc)})", "unreachable") from None
            except httpx.TransportError as exc:
                raise _Retryable(f"could not be reached (network error: {_reason(exc)})", "unreachable") from None
        raise FetchError(f"redirects more than {cfg.max_redirects} times; not followed", "redirect")

    @staticmethod
    def _check_status(resp: httpx.Response, url: str) -> None:
        code = resp.status_code
        if 200 <= code < 300:
            return
        if code in (404, 410):
            raise FetchError(f"not found (HTTP {code})", "http", code)
        if code in (401, 403):
            raise FetchError(f"access refused (HTTP {code})", "http", code)
        if code == 429 or code >= 500:
            retry_after = resp.headers.get("retry-after", "")
            raise _Retryable(
                f"the server failed (HTTP {code})" if code >= 500 else "the server asked us to slow down (HTTP 429)",
                "http", code, float(retry_after) if retry_after.isdigit() else None,
            )
        raise FetchError(f"the server answered HTTP {code}", "http", code)

    def _check_robots(self, url: str) -> None:
        if not self.config.respect_robots:
            return
        site = origin(url)
        if site not in self._robots:
            self._robots[site] = self._load_robots(site)
        robots = self._robots[site]
        if robots.error is not None:
            raise robots.error
        if robots.parser is not None and not robots.parser.can_fetch(ROBOTS_TOKEN, url):
            raise FetchError("robots.txt asks robots not to fetch it; not fetched", "robots")

    def _load_robots(self, site: str) -> _Robots:
        try:
            page = self._with_retries(site + "/robots.txt", accept=set(), robots=False, max_bytes=500_000)
        except FetchError as exc:
            if exc.offline:
                return _Robots(None, error=exc)
            if exc.status is not None and (exc.status >= 500 or exc.status == 429):
                # the server failed on robots.txt: assume everything is disallowed (RFC 9309, 2.3.1.4)
                return _Robots(None, error=FetchError(
                    f"its robots.txt could not be read ({exc}); not fetched, to be polite", "robots", exc.status))
            return _Robots(None)  # no usable robots.txt (404, a redirect away, ...): all allowed (RFC 9309, 2.3.1.3)
        text = page.content.decode(page.charset or "utf-8", errors="replace")
        parser = RobotFileParser()
        parser.parse(text.splitlines())
        delay = parser.crawl_delay(ROBOTS_TOKEN)
        return _Robots(parser, float(delay or 0.0))


def _content_type(header: str) -> tuple[str, str | None]:
    mime, _, params = header.partition(";")
    m = re.search(r"charset\s*=\s*\"?([\w.:-]+)", params, re.I)
    return mime.strip().lower(), (m.group(1) if m else None)


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "Name or service not known" in text or "name resolution" in text or "nodename nor servname" in text:
        return "the site's name could not be resolved: no internet?"
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    return text.splitlines()[0][:200]


# --- discovery (--follow) ----------------------------------------------------------------

@dataclass
class Discovery:
    found: list[str] = field(default_factory=list)  # new case-study addresses, in order found
    pages_read: int = 0
    errors: list[tuple[str, SourceError]] = field(default_factory=list)  # (url, why)
    disallowed: list[str] = field(default_factory=list)  # case studies robots.txt asks us not to fetch
    truncated: bool = False  # stopped at follow_max or follow_max_pages


def links(page: Page) -> list[str]:
    """Absolute addresses of the <a href> links of an HTML page (lxml's parser, not a regex)."""
    import lxml.html

    if not page.content.strip():
        return []
    try:
        doc = lxml.html.fromstring(page.content, base_url=page.final_url)
    except Exception:  # lxml raises assorted errors on junk
        return []
    out = []
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        if href and not href.startswith(("mailto:", "tel:", "javascript:", "#")):
            out.append(urljoin(page.final_url, href))
    return out


def discover(fetcher: Fetcher, hub_url: str, *, known: set[str] = frozenset(),
             case_path: re.Pattern = CASE_STUDY_PATH) -> Discovery:
    """Case-study addresses linked from the hub (and its own listing pages, e.g. ?page=2),
    same site only, bounded by the fetcher's follow_depth / follow_max / follow_max_pages.
    `known` holds normalise_url() keys to leave out (sources the manifest already has)."""
    cfg = fetcher.config
    hub = clean_url(hub_url)
    hub_path = urlsplit(hub).path.rstrip("/") or "/"
    out = Discovery()
    seen_pages = {normalise_url(hub)}
    seen_found = set(known)
    queue: deque[tuple[str, int]] = deque([(hub, 0)])
    while queue:
        if out.pages_read >= cfg.follow_max_pages or len(out.found) >= cfg.follow_max:
            out.truncated = bool(queue)
            break
        url, depth = queue.popleft()
        try:
            page = fetcher.get(url)
        except SourceError as exc:
            out.errors.append((url, exc))
            continue
        out.pages_read += 1
        for link in links(page):
            if urlsplit(link).scheme not in ("http", "https") or not same_site(link, hub):
                continue
            link = rebase(link, hub)
            key = normalise_url(link)
            path = urlsplit(link).path
            if case_path.match(path):
                if key not in seen_found:
                    seen_found.add(key)
                    if not fetcher.allowed(link):
                        out.disallowed.append(link)
                    elif len(out.found) < cfg.follow_max:
                        out.found.append(link)
                    else:
                        out.truncated = True
            elif (path == hub_path or path.startswith(hub_path + "/")) and key not in seen_pages:
                seen_pages.add(key)
                if depth + 1 <= cfg.follow_depth:
                    queue.append((link, depth + 1))
    return out
