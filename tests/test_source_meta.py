"""The source metadata fetcher against a real local web site of fixture pages, good and hostile.

No database here: the fetcher and the metadata reader touch none. The fill through the quote
form, on both databases, is in test_source_fill_forms.py.
"""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from app.config import Settings, get_settings, production_problems
from app.models import SourceKind
from app.services import page_fetch, source_meta
from app.services.errors import PageNotFetched, ValidationFailed
from app.services.page_fetch import LOOPBACK, USER_AGENT, FetchLimits
from tests.page_server import HUGE_SIZE, FixtureSite, serve_fixture_site

LOCAL = FetchLimits(allowed=LOOPBACK)
"""What the test-only setting allows: the fixture site on loopback, nothing else non-public."""
QUICK = FetchLimits(timeout=0.5, allowed=LOOPBACK)


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    with serve_fixture_site() as running:
        yield running


def refusal(url: str, limits: FetchLimits | None = None) -> str:
    """The message the fetcher refuses `url` with (the test fails if it fetches it)."""
    with pytest.raises(PageNotFetched) as refused:
        page_fetch.fetch_page(url, limits=limits)
    return refused.value.message


# --- Good pages ------------------------------------------------------------------------------


def test_news_page_is_read_from_its_json_ld_and_opengraph(site: FixtureSite) -> None:
    meta = source_meta.fetch_meta(site.url("/news"), limits=LOCAL)
    assert meta.title == "Kyiv & Moscow trade ceasefire terms in Istanbul"  # JSON-LD headline
    assert meta.outlet == "Example Wire (OpenGraph)"  # og:site_name first
    assert meta.published_on == date(2025, 5, 16)  # JSON-LD datePublished, the day as written
    assert meta.kind == SourceKind.NEWS_REPORT


def test_opengraph_page_without_json_ld(site: FixtureSite) -> None:
    meta = source_meta.fetch_meta(site.url("/opengraph"), limits=LOCAL)
    assert (meta.title, meta.outlet) == ("Sybiha: no talks about territory", "Kyiv Daily")
    assert meta.published_on == date(2025, 4, 21)


def test_page_with_only_a_title_falls_back_to_the_host_for_its_outlet(site: FixtureSite) -> None:
    meta = source_meta.fetch_meta(site.url("/title-only"), limits=LOCAL)
    assert meta.title == "Talks resume in Riyadh"
    assert meta.outlet == "127.0.0.1"
    assert meta.published_on is None


def test_broken_html_still_gives_what_it_can(site: FixtureSite) -> None:
    meta = source_meta.fetch_meta(site.url("/broken"), limits=LOCAL)
    assert meta.title == "Broken but readable & escaped title"
    assert meta.published_on == date(2025, 3, 11)  # <meta name="date">


def test_charset_declared_in_the_page_is_honoured(site: FixtureSite) -> None:
    meta = source_meta.fetch_meta(site.url("/cyrillic"), limits=LOCAL)
    assert meta.title == "Переговоры в Стамбуле"


def test_request_says_who_asks_names_the_host_and_keeps_no_cookies(site: FixtureSite) -> None:
    before = len(site.hits)
    page = page_fetch.fetch_page(site.url("/set-cookie"), limits=LOCAL)
    assert page.url == site.url("/news")
    hits = site.hits[before:]
    assert [hit.path for hit in hits] == ["/set-cookie", "/news"]
    for hit in hits:
        assert (
            hit.headers["user-agent"] == USER_AGENT == "peacetalks/0.1.0 (+source metadata fetcher)"
        )
        assert hit.headers["host"] == f"127.0.0.1:{site.port}"
        assert "cookie" not in hit.headers  # the cookie set on the way was not sent back


def test_host_name_is_sent_while_the_checked_address_is_connected_to(site: FixtureSite) -> None:
    before = len(site.hits)
    page_fetch.fetch_page(f"http://localhost:{site.port}/news", limits=LOCAL)
    assert site.hits[before].headers["host"] == f"localhost:{site.port}"


def test_https_sends_the_host_name_for_sni_and_verifies_the_certificate(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    server_names: list[str | None] = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    tls.sni_callback = lambda _sock, name, _context: server_names.append(name)
    with serve_fixture_site(tls=tls) as secure:
        message = refusal(f"https://localhost:{secure.port}/news", LOCAL)
        assert secure.hits == []  # no request was sent over an unverified connection
    # A self-signed certificate is not trusted, and the name it was asked for is the URL's.
    assert message.startswith("The secure connection to localhost failed (")
    assert "CERTIFICATE_VERIFY_FAILED" in message
    assert server_names == ["localhost"]


# --- Hostile pages ---------------------------------------------------------------------------


def test_non_html_response_is_refused(site: FixtureSite) -> None:
    assert refusal(site.url("/pdf"), LOCAL) == "That is not a web page (got application/pdf)."
    assert refusal(site.url("/untyped"), LOCAL) == (
        "That is not a web page (it did not say what it is)."
    )


def test_error_status_is_reported(site: FixtureSite) -> None:
    assert refusal(site.url("/missing"), LOCAL) == "The page answered 404 Not Found."


def test_huge_body_is_cut_off_at_two_megabytes(site: FixtureSite) -> None:
    assert HUGE_SIZE > page_fetch.MAX_BYTES == 2 * 1024 * 1024
    assert refusal(site.url("/huge"), LOCAL) == "The page is larger than 2 MB."


def test_huge_announced_body_is_refused_without_reading_it(site: FixtureSite) -> None:
    started = time.monotonic()
    assert refusal(site.url("/huge-declared"), LOCAL) == "The page is larger than 2 MB."
    # The site holds the rest back for 3 s: the length alone decided.
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("path", ["/slow", "/stall", "/slow-head"])
def test_slow_page_is_given_up_on_at_the_time_limit(site: FixtureSite, path: str) -> None:
    started = time.monotonic()
    assert refusal(site.url(path), QUICK) == "The page took longer than 0.5 seconds."
    elapsed = time.monotonic() - started
    assert 0.45 < elapsed < 1.5  # the limit is for the whole fetch, not for each read


def test_app_limit_is_five_seconds() -> None:
    assert page_fetch.configured_limits().timeout == 5.0


def test_three_redirects_are_followed(site: FixtureSite) -> None:
    before = len(site.hits)
    page = page_fetch.fetch_page(site.url("/redirect/3"), limits=LOCAL)
    assert page.url == site.url("/news")
    assert site.paths()[before:] == ["/redirect/3", "/redirect/2", "/redirect/1", "/news"]


def test_a_fourth_redirect_is_refused(site: FixtureSite) -> None:
    before = len(site.hits)
    assert refusal(site.url("/redirect/4"), LOCAL) == "The page redirected more than 3 times."
    assert site.paths()[before:] == ["/redirect/4", "/redirect/3", "/redirect/2", "/redirect/1"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/to-private", "http://10.0.0.1/admin, and that address is on a private network"),
        (
            "/to-metadata",
            "http://169.254.169.254/latest/meta-data/, and that address is link-local",
        ),
        ("/to-ftp", "ftp://example.org/file.html, and only http:// and https:// addresses"),
    ],
)
def test_redirect_out_of_bounds_is_refused(site: FixtureSite, path: str, reason: str) -> None:
    assert refusal(site.url(path), LOCAL).startswith(f"The page redirected to {reason}")


def test_redirect_to_loopback_is_refused_when_loopback_is_not_allowed() -> None:
    # This site is allowed by its own address alone, so the loopback it redirects to is not.
    only_this_site = FetchLimits(allowed=(ipaddress.ip_network("127.0.0.2/32"),))
    with serve_fixture_site("127.0.0.2") as other:
        message = refusal(other.url("/to-loopback"), only_this_site)
        assert other.paths() == ["/to-loopback"]
    assert message == (
        f"The page redirected to http://127.0.0.1:{other.port}/news, and that address is this "
        "server itself (loopback); only public web pages can be fetched."
    )


def test_loopback_is_refused_unless_the_test_setting_allows_it(
    site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings().fetch_allow_loopback is False  # the default
    monkeypatch.setattr(get_settings(), "fetch_allow_loopback", False)
    before = len(site.hits)
    assert refusal(site.url("/news")) == (
        "That address is this server itself (loopback); only public web pages can be fetched."
    )
    assert refusal(f"http://localhost:{site.port}/news").startswith(
        "localhost points to 127.0.0.1, which is this server itself (loopback)"
    )
    assert len(site.hits) == before  # refused before connecting
    monkeypatch.setattr(get_settings(), "fetch_allow_loopback", True)
    assert page_fetch.fetch_page(site.url("/news")).url == site.url("/news")


def test_loopback_setting_is_refused_in_production() -> None:
    settings = Settings(
        PEACETALKS_ENV="production",
        secret_key="Vq3-zr8TkWm2pLx9Hc4NbJ7sYd6FgRa1",
        https_only=True,
        fetch_allow_loopback=True,
    )
    assert production_problems(settings) == [
        "FETCH_ALLOW_LOOPBACK is on (for tests only): set FETCH_ALLOW_LOOPBACK=false"
    ]


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("http://10.0.0.1/", "on a private network"),
        ("http://192.168.1.1/news", "on a private network"),
        ("https://172.16.5.4/", "on a private network"),
        ("http://100.64.0.1/", "on a private network"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[::1]/", "this server itself (loopback)"),
        ("http://[::ffff:127.0.0.1]/", "this server itself (loopback)"),
        ("http://[::ffff:10.0.0.1]/", "on a private network"),
        ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),
        ("http://[2002:c0a8:101::1]/", "on a private network"),
        ("http://[fd00::1]/", "on a private network"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "a multicast address"),
        ("http://[ff02::1]/", "a multicast address"),
        ("http://240.0.0.1/", "reserved"),
        ("http://127.0.0.1:9/", "this server itself (loopback)"),
    ],
)
def test_non_public_addresses_are_refused_before_connecting(url: str, what: str) -> None:
    # Even with the test setting on: it lets loopback through, nothing else. (The loopback
    # cases are checked without it.)
    limits = FetchLimits() if "loopback" in what else LOCAL
    started = time.monotonic()
    message = refusal(url, limits)
    assert message.startswith(f"That address is {what}")
    assert message.endswith("only public web pages can be fetched.")
    assert time.monotonic() - started < 0.2  # no connection was tried (10.0.0.1 would hang)


@pytest.mark.parametrize(
    ("url", "got"),
    [
        ("ftp://example.org/report.html", "ftp:"),
        ("javascript:alert(document.cookie)", "javascript:"),
        ("file:///etc/passwd", "file:"),
        ("data:text/html,<title>x</title>", "data:"),
        ("example.org/news", "no scheme"),
    ],
)
def test_only_http_and_https_are_fetched(url: str, got: str) -> None:
    assert refusal(url, LOCAL) == (
        f"Only http:// and https:// addresses can be fetched (got {got})."
    )


def test_addresses_with_credentials_or_spaces_are_refused() -> None:
    assert "user name or password" in refusal("http://user:pw@example.org/", LOCAL)
    assert "spaces or control characters" in refusal("http://example.org/a b", LOCAL)


def test_a_refusal_is_a_validation_error_of_the_address() -> None:
    with pytest.raises(ValidationFailed) as refused:
        page_fetch.fetch_page("ftp://example.org/")
    assert list(refused.value.errors) == ["url"]


def test_public_addresses_pass_the_check() -> None:
    for public in ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "185.60.216.35"]:
        assert page_fetch.address_refusal(ipaddress.ip_address(public)) is None


# --- Kind and known URLs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("kremlin.ru", SourceKind.OFFICIAL_STATEMENT),
        ("en.kremlin.ru", SourceKind.OFFICIAL_STATEMENT),
        ("www.president.gov.ua", SourceKind.OFFICIAL_STATEMENT),
        ("whitehouse.gov", SourceKind.OFFICIAL_STATEMENT),
        ("www.state.gov", SourceKind.OFFICIAL_STATEMENT),
        ("www.gov.uk", SourceKind.OFFICIAL_STATEMENT),
        ("www.diplomatie.gouv.fr", SourceKind.OFFICIAL_STATEMENT),
        ("ec.europa.eu", SourceKind.OFFICIAL_STATEMENT),
        ("x.com", SourceKind.SOCIAL_MEDIA),
        ("t.me", SourceKind.SOCIAL_MEDIA),
        ("www.reuters.com", SourceKind.NEWS_REPORT),
        ("notkremlin.ru", SourceKind.NEWS_REPORT),
        ("govnews.example.com", SourceKind.NEWS_REPORT),
    ],
)
def test_kind_follows_the_domain(host: str, kind: SourceKind) -> None:
    assert source_meta.source_kind(host) == kind


def test_normalised_urls_ignore_what_does_not_change_the_page() -> None:
    same = [
        "https://www.Example.org/news/talks/",
        "http://example.org/news/talks",
        "https://example.org:443/news/talks#comments",
        "https://example.org/news/talks?utm_source=tg&utm_medium=social&fbclid=abc",
    ]
    assert {source_meta.normalise_url(url) for url in same} == {"example.org/news/talks"}
    assert source_meta.normalise_url("https://example.org/news/talks?id=2") != (
        source_meta.normalise_url("https://example.org/news/talks?id=3")
    )


def test_fill_note_names_what_was_found_and_what_was_not(site: FixtureSite) -> None:
    fill = source_meta.page_fill(source_meta.fetch_meta(site.url("/title-only"), limits=LOCAL))
    assert fill.form_values("source_") == {
        "source_kind": "news_report",
        "source_title": "Talks resume in Riyadh",
        "source_outlet": "127.0.0.1",
    }
    assert fill.note == (
        "Filled from the page: title, outlet, kind (news report). "
        "Not found on the page: publication date. Check them before saving."
    )
