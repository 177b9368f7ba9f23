"""guide.sources.fetch against a pretend site on 127.0.0.1 (tests/fixtures/site: invented pages with the
real site's shape). Nothing here leaves the machine: the only addresses used are loopback ones."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

from guide.errors import SourceError
from guide.sources.fetch import (USER_AGENT, FetchConfig, Fetcher, clean_url, discover, links, normalise_url, rebase,
                         same_site)

SITE_DIR = Path(__file__).resolve().parent / "fixtures" / "site"
_spec = importlib.util.spec_from_file_location("fixture_site_server", SITE_DIR / "server.py")
server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(server)

FAST = FetchConfig(timeout=2.0, retries=1, backoff=0.01, min_interval=0.0)


@pytest.fixture
def site():
    with server.serve() as s:
        yield s


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def fetcher(sleeps):
    with Fetcher(FAST, sleep=sleeps.append) as f:
        yield f


# --- addresses -------------------------------------------------------------------------

@pytest.mark.parametrize("variant", [
    "https://coproductionscotland.org.uk/resources/ethical-approach",
    "http://coproductionscotland.org.uk/resources/ethical-approach",
    "https://www.coproductionscotland.org.uk/resources/ethical-approach/",
    "https://COPRODUCTIONSCOTLAND.org.uk:443/resources/ethical-approach#more-reading",
    "https://coproductionscotland.org.uk/resources/ethical-approach?utm_source=newsletter&utm_campaign=week",
    "https://coproductionscotland.org.uk/resources/ethical-approach?fbclid=IwAR0abc&gclid=xyz",
])
def test_address_variants_are_one_page(variant):
    assert normalise_url(variant) == "https://coproductionscotland.org.uk/resources/ethical-approach"


def test_addresses_keep_what_matters():
    assert normalise_url("https://example.org/case-studies?page=2&utm_medium=x") == \
        "https://example.org/case-studies?page=2"
    assert normalise_url("https://example.org/a") != normalise_url("https://example.org/b")
    # what is fetched keeps its scheme and host (a site may answer http only), minus tracking
    assert clean_url("http://127.0.0.1:8123/resources/x/?utm_source=a#top") == "http://127.0.0.1:8123/resources/x"
    assert same_site("http://www.example.org/a", "https://example.org/b")
    assert not same_site("https://example.org/a", "https://example.org.evil.test/a")
    assert not same_site("http://127.0.0.1:8000/a", "http://127.0.0.1:9000/a")
    assert rebase("https://www.example.org/resources/x?utm_source=y", "http://example.org/case-studies") == \
        "http://example.org/resources/x"
    with pytest.raises(SourceError, match="not a web address"):
        normalise_url("ftp://example.org/file")


# --- fetching ---------------------------------------------------------------------------

def test_fetches_a_page_with_a_clear_user_agent(site, fetcher):
    page = fetcher.get(site.url("/resources/ethical-approach"))
    assert page.status == 200 and page.content_type == "text/html" and page.charset == "utf-8"
    assert b"Invented test fixture" in page.content
    assert site.agents == {USER_AGENT}
    assert USER_AGENT.startswith("CoproductionGuide/0.1") and "contact: see README" in USER_AGENT
    assert site.hits["/robots.txt"] == 1  # robots.txt first, once per site
    fetcher.get(site.url("/resources/just-ask-the-experts"))
    assert site.hits["/robots.txt"] == 1


def test_not_found_is_not_retried(site, fetcher):
    with pytest.raises(SourceError, match=r"^not found \(HTTP 404\)$"):
        fetcher.get(site.url("/resources/no-such-case-study"))
    assert site.hits["/resources/no-such-case-study"] == 1


@pytest.mark.parametrize("code", [500, 503])
def test_server_errors_are_retried_with_backoff_then_reported(site, sleeps, code):
    cfg = FetchConfig(timeout=2.0, retries=2, backoff=0.05, min_interval=0.0)
    with Fetcher(cfg, sleep=sleeps.append) as f, pytest.raises(SourceError) as err:
        f.get(site.url(f"/status/{code}"))
    assert str(err.value) == f"the server failed (HTTP {code}) (tried 3 times)"
    assert site.hits[f"/status/{code}"] == 3
    assert sleeps == [0.05, 0.1]  # exponential backoff


def test_a_flaky_server_succeeds_on_retry(site, sleeps):
    with Fetcher(FetchConfig(retries=2, backoff=0.01, min_interval=0.0), sleep=sleeps.append) as f:
        page = f.get(site.url("/flaky"))
    assert b"invented community garden" in page.content
    assert site.hits["/flaky"] == 3


def test_retry_after_is_honoured_up_to_the_cap(site, sleeps):
    with Fetcher(FetchConfig(retries=2, backoff=0.01, min_interval=0.0), sleep=sleeps.append) as f:
        page = f.get(site.url("/busy"))
    assert b"invented community garden" in page.content and sleeps == [3.0]  # the server's 3 s, not 0.01
    site.hits.clear()
    capped = []
    with Fetcher(FetchConfig(retries=1, backoff=0.01, max_backoff=1.0, min_interval=0.0), sleep=capped.append) as f:
        f.get(site.url("/busy"))
    assert capped == [1.0]


def test_timeout(site):
    site.slow = 1.5
    cfg = FetchConfig(timeout=0.3, retries=1, backoff=0.0, min_interval=0.0)
    t0 = time.monotonic()
    expected = r"timed out \(no complete answer within 0.3 s\) \(tried 2"
    with Fetcher(cfg) as f, pytest.raises(SourceError, match=expected):
        f.get(site.url("/slow"))
    assert time.monotonic() - t0 < 3.0


def test_same_site_redirect_is_followed(site, fetcher):
    page = fetcher.get(site.url("/redirect/same"))
    assert page.final_url == site.url("/resources/fixture-tenants-panel")  # tracking and slash dropped
    assert b"tenants' panel" in page.content or b"tenants&#x27; panel" in page.content


def test_redirect_to_another_site_is_not_followed(site, fetcher):
    with pytest.raises(SourceError, match=r"^redirects to another site \(localhost\); not followed$"):
        fetcher.get(site.url("/redirect/away"))
    assert site.hits["/resources/fixture-youth-forum"] == 0  # the other host was never asked


def test_redirect_loop(site, fetcher):
    with pytest.raises(SourceError, match="redirects more than 5 times"):
        fetcher.get(site.url("/redirect/loop"))


def test_non_html_content_is_refused(site, fetcher):
    with pytest.raises(SourceError, match=r"^is application/pdf, not an HTML page$"):
        fetcher.get(site.url("/doc.pdf"))
    with pytest.raises(SourceError, match="is application/json, not a supported document"):
        fetcher.get(site.url("/doc.json"), accept={"text/html", "application/pdf"})


def test_oversized_pages_are_refused(site):
    cfg = FetchConfig(timeout=5.0, retries=0, min_interval=0.0, max_bytes=200_000)
    with Fetcher(cfg) as f:
        with pytest.raises(SourceError, match=r"^is 50.0 MB, over the 0.2 MB limit; not fetched$"):
            f.get(site.url("/big"))
        with pytest.raises(SourceError, match=r"larger than the 0.2 MB limit; stopped reading"):
            f.get(site.url("/endless"))


def test_robots_txt_is_respected(site, fetcher):
    with pytest.raises(SourceError, match="robots.txt asks robots not to fetch it"):
        fetcher.get(site.url("/resources/robots-blocked"))
    assert site.hits["/resources/robots-blocked"] == 0
    assert fetcher.allowed(site.url("/resources/ethical-approach"))


def test_robots_txt_server_error_means_not_fetched(site, fetcher):
    site.robots_status = 503
    with pytest.raises(SourceError, match=r"its robots.txt could not be read .*HTTP 503.*not fetched, to be polite"):
        fetcher.get(site.url("/resources/ethical-approach"))
    assert site.hits["/resources/ethical-approach"] == 0


def test_crawl_delay_for_our_agent_is_honoured_up_to_a_cap(site, sleeps):
    site.robots_file = "robots-crawl-delay.txt"  # our group: Crawl-delay 3; everyone else: Disallow /
    with Fetcher(FetchConfig(min_interval=0.0, max_crawl_delay=0.25), sleep=sleeps.append) as f:
        f.get(site.url("/resources/ethical-approach"))  # allowed: our own group wins over '*'
        f.get(site.url("/resources/just-ask-the-experts"))
    waits = [s for s in sleeps if s > 0]
    assert waits and all(0.1 < s <= 0.25 for s in waits)  # waited, but never the full 3 s


def test_missing_robots_txt_allows_everything(site, fetcher):
    site.robots_status = 404
    assert b"Invented" in fetcher.get(site.url("/resources/robots-blocked")).content


def test_unreachable_site(fetcher):
    port = server.closed_port()
    with pytest.raises(SourceError, match=r"^could not be reached \(connection refused\) \(tried 2 times\)$"):
        fetcher.get(f"http://127.0.0.1:{port}/resources/ethical-approach")


# --- discovery (--follow) ------------------------------------------------------------------

def test_discovers_case_studies_from_the_hub(site):
    known = {normalise_url(site.url("/resources/ethical-approach"))}
    with Fetcher(FAST) as f:
        found = discover(f, site.url("/case-studies"), known=known)
    names = [u.rsplit("/", 1)[1] for u in found.found]
    # in page order, each once (plain, tracking, trailing-slash and page-2 links are one page);
    # the known one, news, the other site's page and the hub's own pages are not case studies
    assert names == ["fixture-community-garden", "fixture-tenants-panel", "fixture-youth-forum", "fixture-deep-page"]
    assert found.disallowed == [site.url("/resources/robots-blocked")]  # robots.txt: left out
    assert all(u.startswith(site.base + "/resources/") and "?" not in u for u in found.found)
    assert found.pages_read == 3 and not found.errors and not found.truncated
    assert site.hits["/resources/fixture-community-garden"] == 0  # discovery reads only hub pages


def test_discovery_is_bounded(site):
    with Fetcher(FetchConfig(min_interval=0.0, follow_depth=1)) as f:
        shallow = discover(f, site.url("/case-studies"))
    assert "fixture-deep-page" not in " ".join(shallow.found) and shallow.pages_read == 2
    with Fetcher(FetchConfig(min_interval=0.0, follow_max=2)) as f:
        few = discover(f, site.url("/case-studies"))
    assert len(few.found) == 2 and few.truncated and few.pages_read == 1


def test_links_are_absolute_and_skip_non_web(site, fetcher):
    page = fetcher.get(site.url("/case-studies"))
    found = links(page)
    assert site.url("/resources/fixture-community-garden") in found
    assert "https://www.example.org/resources/fixture-elsewhere" in found
    assert not any(u.startswith(("mailto:", "javascript:")) for u in found)
