"""A source from its URL: what a web page says about itself, and whether the app knows it already.

The page's own metadata fills a new source's title, outlet, publication date and kind
(JSON-LD `NewsArticle`/`Article`, OpenGraph, `article:published_time`, `<meta name=date>`,
`<title>`); the editor checks and corrects them before saving. Pages are fetched by
app.services.page_fetch, which refuses anything but public web pages.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.forms import MAX_NAME, MAX_SOURCE_TITLE
from app.models import Source, SourceKind
from app.services import page_fetch
from app.services.page_fetch import FetchedPage, FetchLimits

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "Report",
        "BlogPosting",
    }
)
DATE_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "pubdate",
    "publishdate",
    "publish-date",
    "dc.date",
    "dc.date.issued",
    "dcterms.date",
    "dcterms.created",
    "parsely-pub-date",
    "sailthru.date",
)
"""<meta> names and properties that carry a publication date, best first."""
OFFICIAL_HOSTS = frozenset(
    {
        "kremlin.ru",
        "government.ru",
        "mid.ru",
        "president.gov.ua",
        "whitehouse.gov",
        "state.gov",
        "europa.eu",
        "nato.int",
        "un.org",
        "osce.org",
        "elysee.fr",
        "bundesregierung.de",
        "bundeskanzler.de",
        "auswaertiges-amt.de",
        "gov.uk",
        "mfa.gov.ua",
    }
)
"""Domains (and their subdomains) whose pages are official statements."""
_GOVERNMENT_SUFFIX = re.compile(r"(^|\.)(gov|mil|gouv|gob|gv|govt)(\.[a-z]{2})?$")
SOCIAL_HOSTS = frozenset(
    {
        "x.com",
        "twitter.com",
        "t.me",
        "telegram.me",
        "facebook.com",
        "instagram.com",
        "threads.net",
        "bsky.app",
        "vk.com",
        "youtube.com",
        "truthsocial.com",
    }
)
_TRACKING = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid)$", re.IGNORECASE)
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ")
MAX_JSON_LD = 200_000


@dataclass(slots=True)
class PageMeta:
    """What a page says about itself; empty strings and None where it says nothing."""

    url: str
    title: str = ""
    outlet: str = ""
    published_on: date | None = None
    kind: SourceKind = SourceKind.NEWS_REPORT
    canonical: str = ""


@dataclass(slots=True)
class SourceFill:
    """The outcome of "Fill from URL": the source's field values to set (by the source's own
    field names: url, title, outlet, published_on, kind), and the note to show."""

    values: dict[str, str] = field(default_factory=dict)
    note: str = ""
    known: Source | None = None

    def form_values(self, prefix: str) -> dict[str, str]:
        """The values as a form names its fields: `source_title` for prefix "source_"."""
        return {prefix + name: value for name, value in self.values.items()}


# --- Known sources ---------------------------------------------------------------------------


def normalise_url(url: str) -> str:
    """The URL as compared for "already known": scheme, case of the host, `www.`, default port,
    trailing slash, fragment and tracking parameters (utm_*, fbclid, ...) do not matter."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower().removeprefix("www.")
    if port is not None and port not in {80, 443}:
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, True) if not _TRACKING.match(k)])
    return host + path + (f"?{query}" if query else "")


def find_known_source(session: Session, *, url: str) -> Source | None:
    """The source whose URL is this one, exactly or once normalised (see normalise_url)."""
    exact = session.scalar(select(Source).where(Source.url == url))
    if exact is not None:
        return exact
    wanted = normalise_url(url)
    host = wanted.split("/", 1)[0].split(":", 1)[0]
    if not host:
        return None
    pattern = "%" + host.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    candidates = session.scalars(
        select(Source).where(Source.url.ilike(pattern, escape="\\")).order_by(Source.id)
    )
    return next((source for source in candidates if normalise_url(source.url) == wanted), None)


# --- Filling a new source's fields -----------------------------------------------------------


def known_fill(session: Session, *, url: str) -> SourceFill | None:
    """The fill for a URL the app already knows (its source is cited, nothing is fetched)."""
    source = find_known_source(session, url=url)
    return None if source is None else known_source_fill(source)


def fill_from_page(session: Session, *, url: str, limits: FetchLimits | None = None) -> SourceFill:
    """Fetch the page and fill the new-source fields from its metadata; a page that lands on,
    or names as canonical on its own site, a URL the app knows cites that source instead.
    PageNotFetched when the page cannot be fetched."""
    meta = fetch_meta(url, limits=limits)
    site = _site_of(meta.url)
    for candidate in (meta.url, meta.canonical):
        if candidate and _site_of(candidate) == site:
            source = find_known_source(session, url=candidate)
            if source is not None:
                return known_source_fill(source)
    return page_fill(meta)


def _site_of(url: str) -> str:
    return normalise_url(url).split("/", 1)[0]


def known_source_fill(source: Source) -> SourceFill:
    """The fill for a URL the app knows: cite its source (by its stored URL) and say so."""
    return SourceFill(
        values={"url": source.url},
        note=f"Already known: {source.title} ({source.outlet}) — this quote will cite it.",
        known=source,
    )


def page_fill(meta: PageMeta) -> SourceFill:
    """The new-source field values a page's metadata gives, and a note naming what was found."""
    values = {"kind": meta.kind.value}
    found = []
    missing = []
    for name, label, value in (
        ("title", "title", meta.title),
        ("outlet", "outlet", meta.outlet),
        (
            "published_on",
            "publication date",
            meta.published_on.isoformat() if meta.published_on else "",
        ),
    ):
        if value:
            values[name] = value
            found.append(label)
        else:
            missing.append(label)
    found.append(f"kind ({meta.kind.value.replace('_', ' ')})")
    note = "Filled from the page: " + ", ".join(found) + "."
    if missing:
        note += " Not found on the page: " + ", ".join(missing) + "."
    return SourceFill(values=values, note=note + " Check them before saving.")


def fetch_meta(url: str, *, limits: FetchLimits | None = None) -> PageMeta:
    """Fetch a public web page and read its metadata (PageNotFetched when it cannot be)."""
    return read_meta(page_fetch.fetch_page(url, limits=limits))


def read_meta(page: FetchedPage) -> PageMeta:
    """A fetched page's title, outlet, publication date, kind and canonical URL."""
    parser = _MetaParser()
    try:
        parser.feed(_decode(page))
        parser.close()
    except (AssertionError, ValueError):  # html.parser gives up on some broken markup
        pass
    articles = list(_articles(parser.json_ld))
    article = articles[0] if articles else {}
    host = (urlsplit(page.url).hostname or "").lower()
    outlet = _text(parser.meta.get("og:site_name")) or _publisher(article) or _site(host)
    title = (
        _text(article.get("headline"))
        or _text(parser.meta.get("og:title"))
        or _text(parser.meta.get("twitter:title"))
        or _without_outlet(_text(parser.title), outlet)
    )
    canonical = _text(parser.canonical) or _text(parser.meta.get("og:url"))
    published = _day(article.get("datePublished")) or next(
        (day for name in DATE_META if (day := _day(parser.meta.get(name))) is not None), None
    )
    return PageMeta(
        url=page.url,
        title=title[:MAX_SOURCE_TITLE],
        outlet=outlet[:MAX_NAME],
        published_on=published,
        kind=source_kind(host),
        canonical=urljoin(page.url, canonical) if canonical else "",
    )


def source_kind(host: str) -> SourceKind:
    """Official statement for a government's or institution's domain, social media for a
    platform's, news report otherwise (the editor corrects interviews and documents)."""
    host = host.lower().rstrip(".").removeprefix("www.")
    if _on_domain(host, OFFICIAL_HOSTS) or _GOVERNMENT_SUFFIX.search(host):
        return SourceKind.OFFICIAL_STATEMENT
    if _on_domain(host, SOCIAL_HOSTS):
        return SourceKind.SOCIAL_MEDIA
    return SourceKind.NEWS_REPORT


def _on_domain(host: str, domains: frozenset[str]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def _site(host: str) -> str:
    return host.removeprefix("www.")


def _decode(page: FetchedPage) -> str:
    charset = page.charset
    if charset is None:
        match = _META_CHARSET.search(page.body[:4096])
        charset = match.group(1).decode("ascii") if match else None
    try:
        codec = codecs.lookup(charset or "utf-8").name
    except LookupError:
        codec = "utf-8"
    return page.body.decode(codec, errors="replace")


class _MetaParser(HTMLParser):
    """Collects <title>, <meta> name/property/itemprop contents, canonical link and JSON-LD."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.meta: dict[str, str] = {}
        self.canonical = ""
        self.json_ld: list[str] = []
        self._in: str | None = None
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "meta":
            content = attributes.get("content", "")
            for key in ("property", "name", "itemprop"):
                name = attributes.get(key, "").strip().lower()
                if name and content and name not in self.meta:
                    self.meta[name] = content
        elif tag == "link" and "canonical" in attributes.get("rel", "").lower().split():
            self.canonical = self.canonical or attributes.get("href", "")
        elif tag == "title" and not self.title:
            self._start("title")
        elif (
            tag == "script" and attributes.get("type", "").strip().lower() == "application/ld+json"
        ):
            self._start("json_ld")

    def _start(self, what: str) -> None:
        self._in, self._buffer = what, []

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._buffer.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._in == "title" and tag == "title":
            self.title = "".join(self._buffer)
            self._in = None
        elif self._in == "json_ld" and tag == "script":
            self.json_ld.append("".join(self._buffer))
            self._in = None


def _articles(blocks: list[str]) -> Iterator[dict[str, Any]]:
    """The Article-like objects of the JSON-LD blocks (at the top, in lists or in @graph)."""
    for block in blocks:
        if len(block) > MAX_JSON_LD:
            continue
        try:
            data = json.loads(block)
        except ValueError:
            continue
        yield from _article_nodes(data, depth=0)


def _article_nodes(data: object, *, depth: int) -> Iterator[dict[str, Any]]:
    if depth > 3:
        return
    if isinstance(data, list):
        for item in data:
            yield from _article_nodes(item, depth=depth + 1)
    elif isinstance(data, dict):
        types = data.get("@type")
        names = (
            {types}
            if isinstance(types, str)
            else set(types or [])
            if isinstance(types, list)
            else set()
        )
        if names & ARTICLE_TYPES:
            yield data
        if "@graph" in data:
            yield from _article_nodes(data["@graph"], depth=depth + 1)


def _publisher(article: dict[str, Any]) -> str:
    publisher = article.get("publisher")
    if isinstance(publisher, list):
        publisher = publisher[0] if publisher else None
    if isinstance(publisher, dict):
        return _text(publisher.get("name"))
    return _text(publisher)


def _text(value: object) -> str:
    """A metadata value as one line of text ("" for anything but a string)."""
    if isinstance(value, list) and value:
        value = value[0]
    if not isinstance(value, str):
        return ""
    line = " ".join(value.split())
    return "".join(ch for ch in line if ch.isprintable())


def _without_outlet(title: str, outlet: str) -> str:
    """A <title> without the outlet's name its site appends ("Talks resume | Example News")."""
    if not outlet:
        return title
    for separator in _TITLE_SEPARATORS:
        head, found, tail = title.rpartition(separator)
        if found and head and tail.strip().lower() in {outlet.lower(), _site(outlet.lower())}:
            return head.strip()
    return title


def _day(value: object) -> date | None:
    """The calendar day an ISO 8601 date or timestamp starts with, if it is a real one."""
    match = _ISO_DATE.match(_text(value))
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
