""" "Fill from URL" on the quote form, over HTTP, on both databases: the server fetches the page
from a local fixture site (allowed by the test-only FETCH_ALLOW_LOOPBACK), fills the new-source
fields, keeps everything else typed and saves nothing; a URL the app knows cites its source."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.models import Quote, Source, SourceKind, SourceTier
from app.services import catalog
from tests import builders as b
from tests.auth_helpers import login, make_user
from tests.conftest import csrf_token
from tests.html_reader import parse
from tests.page_server import FixtureSite, serve_fixture_site

HX = {"HX-Request": "true"}
TYPED = "Ukraine is ready for a full ceasefire from today, the minister said."


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    with serve_fixture_site() as running:
        yield running


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "fetch_allow_loopback", True)


@pytest.fixture
def token(client: TestClient, session: Session) -> str:
    b.party(session, "ua", name="Ukraine")
    b.issue(session, "ceasefire", title="Ceasefire")
    make_user(session)
    login(client, "editor@example.org")
    return csrf_token(client, "/quotes/new")


def typed_form(token: str, url: str, **changes: str) -> dict[str, str]:
    """The add-quote form as an editor has it when pressing "Fill from URL"."""
    form = {
        "csrf_token": token,
        "action": "fill",
        "text": TYPED,
        "kind": "direct",
        "said_on": "2025-05-16",
        "party": "ua",
        "speaker_id": "",
        "new_speaker_name": "Andrii Sybiha",
        "new_speaker_role": "Foreign Minister",
        "source_url": url,
        "source_title": "",
        "source_outlet": "",
        "source_published_on": "",
        "source_kind": "",
        "source_tier": "on_record",
        "language": "en",
        "status": "confirmed",
        "issue_1": "ceasefire",
        "stance_1": "accepts",
        "rationale": "",
    }
    form.update(changes)
    return form


def shown_values(html: str) -> dict[str, str]:
    """What the re-rendered form shows in each field, as the browser would send it."""
    values: dict[str, str] = {}
    root = parse(html)
    for element in root.find_all("input"):
        if element.attrs.get("type") in {"checkbox", "submit"}:
            continue
        values[element.attrs.get("name", "")] = element.attrs.get("value", "")
    for element in root.find_all("textarea"):
        values[element.attrs.get("name", "")] = element.text()
    for select_element in root.find_all("select"):
        chosen = select_element.find_all("option", lambda o: "selected" in o.attrs)
        values[select_element.attrs.get("name", "")] = (
            chosen[0].attrs.get("value", "") if chosen else ""
        )
    return values


def note(html: str) -> str:
    found = parse(html).find_all("p", lambda e: e.attrs.get("id") == "source_url-note")
    return found[0].text() if found else ""


def field_error(html: str, name: str) -> str:
    found = parse(html).find_all("p", lambda e: e.attrs.get("id") == f"{name}-error")
    return found[0].text() if found else ""


def count(session: Session, model: type[Source] | type[Quote]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def stored_source(session: Session, url: str, title: str) -> Source:
    """A source of the fixture site, as stored before the test fills from its URL."""
    return catalog.create_source(
        session,
        actor=None,
        url=url,
        title=title,
        outlet="Fixture Site",
        published_on=None,
        kind=SourceKind.NEWS_REPORT,
        tier=SourceTier.ON_RECORD,
    )


@pytest.mark.parametrize(
    ("page", "form_id", "save"),
    [
        ("/quotes/new", "quote-form", "Add quote"),
        ("/manage/sources/new", "source-form", "Add source"),
    ],
)
def test_form_has_a_fill_button_that_skips_browser_validation(
    client: TestClient, token: str, page: str, form_id: str, save: str
) -> None:
    root = parse(client.get(page).text)
    form = root.find_all("form", lambda e: e.attrs.get("id") == form_id)[0]
    buttons = form.find_all("button")
    fill = [button for button in buttons if button.attrs.get("value") == "fill"]
    assert len(fill) == 1 and fill[0].text() == "Fill from URL"
    assert fill[0].attrs["name"] == "action" and "formnovalidate" in fill[0].attrs
    # Enter in a field presses the form's first submit button: it must save, not fill.
    assert buttons[0].attrs.get("type") == "submit" and "name" not in buttons[0].attrs
    assert buttons[0].text() == save


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_fill_from_url_fills_the_source_fields_and_keeps_the_rest(
    client: TestClient,
    session: Session,
    token: str,
    site: FixtureSite,
    allow_loopback: None,
    headers: dict[str, str],
) -> None:
    sources, quotes = count(session, Source), count(session, Quote)
    response = client.post(
        "/quotes/new", data=typed_form(token, site.url("/news")), headers=headers
    )
    assert response.status_code == 200, response.text
    assert ("<html" in response.text) is not bool(headers)  # htmx gets the form alone
    shown = shown_values(response.text)
    assert shown["source_title"] == "Kyiv & Moscow trade ceasefire terms in Istanbul"
    assert shown["source_outlet"] == "Example Wire (OpenGraph)"
    assert shown["source_published_on"] == "2025-05-16"
    assert shown["source_kind"] == "news_report"
    # Everything the editor typed is still there, the URL included.
    assert shown["text"] == TYPED
    assert shown["new_speaker_name"] == "Andrii Sybiha"
    assert shown["source_tier"] == "on_record"
    assert shown["issue_1"] == "ceasefire" and shown["stance_1"] == "accepts"
    assert shown["source_url"] == site.url("/news")
    assert note(response.text) == (
        "Filled from the page: title, outlet, publication date, kind (news report). "
        "Check them before saving."
    )
    assert (count(session, Source), count(session, Quote)) == (sources, quotes)  # nothing saved


def test_filled_form_saves_the_source_as_corrected(
    client: TestClient, session: Session, token: str, site: FixtureSite, allow_loopback: None
) -> None:
    filled = client.post("/quotes/new", data=typed_form(token, site.url("/title-only")))
    shown = shown_values(filled.text)
    assert shown["source_outlet"] == "127.0.0.1"
    form = {**shown, "source_outlet": "Riyadh Observer", "also_record_position": ""}
    saved = client.post("/quotes/new", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    source = catalog.find_source(session, url=site.url("/title-only"))
    assert source is not None
    assert (source.title, source.outlet, source.kind, source.tier) == (
        "Talks resume in Riyadh",
        "Riyadh Observer",
        SourceKind.NEWS_REPORT,
        SourceTier.ON_RECORD,
    )


def test_a_known_url_cites_its_source_without_fetching(
    client: TestClient, session: Session, token: str, site: FixtureSite
) -> None:
    known = b.source(session, outlet="Test Wire")  # https://example.org/news/N
    sources, hits = count(session, Source), len(site.hits)
    variant = known.url.replace("https://example.org", "http://WWW.Example.org") + "/?utm_source=x"
    response = client.post("/quotes/new", data=typed_form(token, variant), headers=HX)
    assert response.status_code == 200
    assert note(response.text) == (
        f"Already known: {known.title} (Test Wire) — this quote will cite it."
    )
    shown = shown_values(response.text)
    assert shown["source_url"] == known.url  # the stored address, so the save reuses it
    assert shown["text"] == TYPED
    assert len(site.hits) == hits  # nothing was fetched

    form = {**shown, "also_record_position": ""}
    saved = client.post("/quotes/new", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert count(session, Source) == sources  # no second source for the same page
    quote = session.scalar(select(Quote).where(Quote.text == TYPED))
    assert quote is not None and quote.source_id == known.id


def test_a_page_whose_canonical_address_is_known_cites_that_source(
    client: TestClient, session: Session, token: str, site: FixtureSite, allow_loopback: None
) -> None:
    known = stored_source(session, site.url("/canonical-article"), "The canonical article")
    response = client.post("/quotes/new", data=typed_form(token, site.url("/known-canonical")))
    assert note(response.text).startswith("Already known: The canonical article (Fixture Site)")
    assert shown_values(response.text)["source_url"] == known.url


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_a_page_that_cannot_be_fetched_is_explained_beside_the_url(
    client: TestClient, token: str, site: FixtureSite, allow_loopback: None, headers: dict[str, str]
) -> None:
    response = client.post("/quotes/new", data=typed_form(token, site.url("/pdf")), headers=headers)
    assert response.status_code == 422
    assert field_error(response.text, "source_url") == (
        "That is not a web page (got application/pdf)."
    )
    assert shown_values(response.text)["text"] == TYPED
    assert note(response.text) == ""


def test_the_app_refuses_loopback_without_the_test_setting(
    client: TestClient, session: Session, token: str, site: FixtureSite
) -> None:
    assert get_settings().fetch_allow_loopback is False
    hits = len(site.hits)
    response = client.post("/quotes/new", data=typed_form(token, site.url("/news")))
    assert response.status_code == 422
    assert field_error(response.text, "source_url") == (
        "That address is this server itself (loopback); only public web pages can be fetched."
    )
    assert len(site.hits) == hits


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Enter the source's web address first."),
        (
            "javascript:alert(1)",
            "Only http:// and https:// addresses can be fetched (got javascript:).",
        ),
        ("http://169.254.169.254/latest/meta-data/", "That address is link-local"),
    ],
)
def test_fill_refusals_come_back_beside_the_url(
    client: TestClient, token: str, allow_loopback: None, url: str, message: str
) -> None:
    response = client.post("/quotes/new", data=typed_form(token, url), headers=HX)
    assert response.status_code == 422
    assert field_error(response.text, "source_url").startswith(message)


def test_fill_works_on_the_edit_form_and_keeps_its_version(
    client: TestClient, session: Session, token: str, site: FixtureSite, allow_loopback: None
) -> None:
    ua = catalog.find_party(session, slug="ua")
    assert ua is not None
    quote = b.quote(session, ua, None)
    form = typed_form(
        token, site.url("/opengraph"), version=str(quote.version), source_tier="official_readout"
    )
    response = client.post(f"/quotes/{quote.id}/edit", data=form, headers=HX)
    assert response.status_code == 200, response.text
    shown = shown_values(response.text)
    assert shown["source_title"] == "Sybiha: no talks about territory"
    assert shown["version"] == str(quote.version)
    assert session.get(Quote, quote.id).text != TYPED  # type: ignore[union-attr]


def test_fill_needs_the_forms_security_token(
    client: TestClient, token: str, site: FixtureSite, allow_loopback: None
) -> None:
    hits = len(site.hits)
    response = client.post("/quotes/new", data=typed_form("forged", site.url("/news")))
    assert response.status_code == 403
    assert len(site.hits) == hits


# --- The source admin form (/manage/sources) ----------------------------------------------------


def admin_form(token: str, url: str, **changes: str) -> dict[str, str]:
    """The add-source form as an editor has it when pressing "Fill from URL"."""
    form = {"csrf_token": token, "action": "fill", "url": url, "title": "", "outlet": ""}
    form.update({"published_on": "", "kind": "", "tier": "official_readout", **changes})
    return form


@pytest.mark.usefixtures("allow_loopback")
@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_source_form_fill_from_url_fills_the_fields_and_saves_nothing(
    client: TestClient, session: Session, token: str, site: FixtureSite, headers: dict[str, str]
) -> None:
    sources = count(session, Source)
    response = client.post(
        "/manage/sources/new", data=admin_form(token, site.url("/news")), headers=headers
    )
    assert response.status_code == 200, response.text
    assert ("<html" in response.text) is not bool(headers)
    shown = shown_values(response.text)
    assert (shown["title"], shown["outlet"], shown["published_on"], shown["kind"]) == (
        "Kyiv & Moscow trade ceasefire terms in Istanbul",
        "Example Wire (OpenGraph)",
        "2025-05-16",
        "news_report",
    )
    assert shown["tier"] == "official_readout"  # what the editor chose is kept
    found = parse(response.text).find_all("p", lambda e: e.attrs.get("id") == "url-note")
    assert found and found[0].text().startswith("Filled from the page: title, outlet")
    assert count(session, Source) == sources

    saved = client.post("/manage/sources/new", data=shown, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    stored = catalog.find_source(session, url=site.url("/news"))
    assert stored is not None and stored.outlet == "Example Wire (OpenGraph)"


def test_source_form_names_a_known_url_as_a_duplicate_to_edit(
    client: TestClient, session: Session, token: str, site: FixtureSite
) -> None:
    known = b.source(session, outlet="Test Wire")
    hits = len(site.hits)
    variant = known.url.replace("https://example.org", "https://www.example.org") + "?utm_medium=x"
    response = client.post("/manage/sources/new", data=admin_form(token, variant), headers=HX)
    assert response.status_code == 422
    assert field_error(response.text, "url") == (
        f"Already a source: {known.title} (Test Wire); edit that one instead."
    )
    links = parse(response.text).find_all("a", lambda e: e.attrs.get("href", "").endswith("/edit"))
    assert [link.attrs["href"] for link in links] == [f"/manage/sources/{known.id}/edit"]
    assert shown_values(response.text)["url"] == variant  # what was typed stays
    assert len(site.hits) == hits


def test_source_form_fill_on_the_edit_form_refetches_its_own_page(
    client: TestClient, session: Session, token: str, site: FixtureSite, allow_loopback: None
) -> None:
    own = stored_source(session, site.url("/opengraph"), "Placeholder")
    form = admin_form(token, own.url, title="Placeholder", version=str(own.version))
    response = client.post(f"/manage/sources/{own.id}/edit", data=form, headers=HX)
    assert response.status_code == 200, response.text
    shown = shown_values(response.text)
    assert (shown["title"], shown["outlet"]) == ("Sybiha: no talks about territory", "Kyiv Daily")
    assert shown["version"] == str(own.version)
    assert session.get(Source, own.id).title == "Placeholder"  # type: ignore[union-attr]


def test_source_form_fill_refusal_is_beside_the_url(
    client: TestClient, token: str, site: FixtureSite, allow_loopback: None
) -> None:
    response = client.post("/manage/sources/new", data=admin_form(token, site.url("/pdf")))
    assert response.status_code == 422
    assert field_error(response.text, "url") == "That is not a web page (got application/pdf)."


def test_fill_sets_a_blank_said_on_to_the_pages_publication_date(
    client: TestClient, token: str, site: FixtureSite, allow_loopback: None
) -> None:
    response = client.post(
        "/quotes/new", data=typed_form(token, site.url("/news"), said_on=""), headers=HX
    )
    assert shown_values(response.text)["said_on"] == "2025-05-16"
    kept = client.post(
        "/quotes/new", data=typed_form(token, site.url("/news"), said_on="2025-05-15"), headers=HX
    )
    assert shown_values(kept.text)["said_on"] == "2025-05-15"  # a typed date is kept
