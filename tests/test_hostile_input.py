"""Inputs that used to reach a 500: non-ASCII CSRF tokens, NUL in multipart forms, Unicode digits,
extreme dates, invisible control characters; and CSV exports a spreadsheet cannot run."""

from __future__ import annotations

import csv
import html
import io
import re
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Party, Quote, Role, Stance, User
from app.services import catalog, export_file, users
from app.services.csv_rows import csv_records, csv_row
from app.services.exports import neutralise, restore
from tests import builders as b
from tests.auth_helpers import login, make_user
from tests.conftest import csrf_token

UNICODE_DIGITS = ["²", "١٢", "１２", "৩"]
"""str.isdigit() accepts the first, int() accepts the second and third: none is a number here."""
HIDDEN = ["\x0b", "\x0c", "\x1b", "\x08"]
"""Characters XML forbids (vertical tab, form feed, escape, backspace)."""


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters: these tests exercise input checks, not the hash's cost."""
    monkeypatch.setattr(
        users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def admin(client: TestClient, seeded: Session) -> User:
    user = make_user(seeded, "root@example.org", role=Role.ADMIN)
    login(client, user.email)
    return user


def _error_beside(page: str, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="{re.escape(field)}-error">([^<]*)</p>', page)
    assert match, f"no error beside {field}: {page[:2000]}"
    return html.unescape(match.group(1))


def _quote_form(token: str, **changes: str) -> dict[str, str]:
    """A valid add-quote form citing the seeded article; `changes` override fields."""
    return {
        "csrf_token": token, "text": "We are ready for a ceasefire.", "kind": "direct",
        "said_on": "2025-04-20", "party": "ua", "new_speaker_name": "Andriy Yermak",
        "new_speaker_role": "Head of the Presidential Office",
        "source_url": "https://news.example.org/hostile-input", "source_title": "A report",
        "source_outlet": "Example News", "source_kind": "news_report", "source_tier": "on_record",
        "language": "en", "status": "confirmed", "issue_1": "ceasefire", "stance_1": "accepts",
        **changes,
    }  # fmt: skip


def _quote_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Quote)) or 0


def _unsafe_routes() -> list[tuple[str, str]]:
    from tests.test_route_inventory import _unsafe_routes

    return _unsafe_routes()


# --- 9: a CSRF token that is not ASCII -------------------------------------------------------


def test_a_non_ascii_csrf_token_is_refused_on_every_unsafe_route(
    client: TestClient, admin: User
) -> None:
    routes = _unsafe_routes()
    assert ("POST", "/login") in routes and len(routes) > 20
    for method, url in routes:
        for attempt in (
            {"data": {"csrf_token": "é"}},
            {"files": {"csrf_token": (None, "é"), "x": (None, "1")}},
            {"headers": {"X-CSRF-Token": "é".encode()}},
            {"headers": {"X-CSRF-Token": ("\u202e" + csrf_token(client, "/")).encode()}},
        ):
            response = client.request(method, url, follow_redirects=False, **attempt)  # type: ignore[arg-type]
            assert response.status_code == 403, (method, url, attempt, response.status_code)


# --- 10: NUL in a multipart form -------------------------------------------------------------


def test_nul_in_a_multipart_field_is_a_400_before_the_database(
    client: TestClient, seeded: Session
) -> None:
    token = csrf_token(client)
    response = client.post(
        "/login",
        files={"csrf_token": (None, token), "email": (None, "a\x00b"), "password": (None, "x")},
    )
    assert response.status_code == 400 and "NUL" in response.text

    admin = make_user(seeded, "root@example.org", role=Role.ADMIN)
    login(client, admin.email)
    token = csrf_token(client, "/")
    before = _quote_count(seeded)
    quote = _quote_form(token, text="ready\x00for a ceasefire")
    response = client.post("/quotes/new", files={k: (None, v) for k, v in quote.items()})
    assert response.status_code == 400 and "NUL" in response.text
    assert _quote_count(seeded) == before
    response = client.post(
        "/manage/users/new",
        files={
            "csrf_token": (None, token), "email": (None, "new@example.org"),
            "display_name": (None, "New\x00User"), "role": (None, "editor"),
            "password": (None, "a long and unusual passphrase"),
        },
    )  # fmt: skip
    assert response.status_code == 400
    assert seeded.scalar(select(User).where(User.email == "new@example.org")) is None


# --- 11: Unicode digits ----------------------------------------------------------------------


@pytest.mark.parametrize("digits", UNICODE_DIGITS)
def test_unicode_digits_in_a_number_parameter_are_a_400(
    client: TestClient, admin: User, digits: str
) -> None:
    for url in (
        "/quotes?page={}", "/quotes?speaker={}", "/exports/quotes.csv?speaker={}",
        "/api/v1/quotes?page={}", "/api/v1/quotes?page_size={}", "/api/v1/sources?page={}",
        "/api/v1/positions?page_size={}", "/api/v1/quotes?speaker={}",
    ):  # fmt: skip
        response = client.get(url.format(digits))
        assert response.status_code == 400, (url, response.status_code)
        assert "whole number" in response.text, url
    # Lists of ids and filters read the number the same way: a non-number matches nothing.
    options = client.get(f"/positions/evidence-options?party=ua&evidence={digits}&evidence=1")
    assert options.status_code == 200
    assert client.get(f"/audit?actor={digits}").status_code == 200
    assert client.get("/quotes?page=2").status_code == 200  # ASCII digits still are numbers


def test_unicode_digits_in_a_forms_number_field_are_refused(
    client: TestClient, admin: User, seeded: Session
) -> None:
    token = csrf_token(client, "/")
    quote = seeded.scalars(select(Quote).order_by(Quote.id)).first()
    assert quote is not None
    stale = client.post(f"/quotes/{quote.id}/edit", data={"csrf_token": token, "version": "²"})
    assert stale.status_code == 409  # an unreadable version is a stale one, not a crash
    refused = client.post("/quotes/new", data=_quote_form(token, confirms_or_denies="²"))
    assert refused.status_code == 422
    assert _error_beside(refused.text, "confirms_or_denies") == "Choose a quote from the list."
    position = client.post(
        "/positions/new",
        data={
            "csrf_token": token, "party": "ua", "issue": "ceasefire", "stance": "accepts",
            "effective_from": "2025-04-23", "rationale": "Said so.", "evidence": ["²"],
        },
    )  # fmt: skip
    assert position.status_code == 422
    assert _error_beside(position.text, "evidence") == "Choose quotes from the list."
    party = client.post(
        "/manage/parties/new",
        data={"csrf_token": token, "slug": "x", "name": "X", "short_name": "X", "kind": "state",
              "sort_order": "²"},
    )  # fmt: skip
    assert party.status_code == 422
    assert _error_beside(party.text, "sort_order").startswith("Enter a whole number")
    ua = catalog.get_party(seeded, slug="ua")
    edited = client.post(
        "/manage/parties/ua/edit",
        data={"csrf_token": token, "name": "Ukraine", "short_name": "UA", "kind": "state",
              "sort_order": "1", "version": "٣"},
    )  # fmt: skip
    assert edited.status_code == 409
    seeded.refresh(ua)
    assert ua.name != "X"


# --- 12: dates far from now ------------------------------------------------------------------

DATE_PARAMETERS = [
    "/?as_of={}", "/?known_on={}", "/changes?to={}", "/changes?known_on={}",
    "/cells/ua/ceasefire?as_of={}", "/cells/ua/ceasefire?known_on={}", "/parties/ua?as_of={}",
    "/issues/ceasefire?as_of={}", "/compare?as_of={}", "/quotes?from={}",
    "/exports/matrix.csv?as_of={}", "/exports/matrix.csv?known_on={}",
    "/exports/positions.csv?to={}", "/briefing?as_of={}", "/briefing?known_on={}",
    "/briefing.pdf?as_of={}", "/briefing.pdf?known_on={}", "/api/v1/matrix?as_of={}",
    "/api/v1/matrix?known_on={}", "/api/v1/changes?to={}", "/api/v1/changes?known_on={}",
    "/api/v1/positions?from={}",
]  # fmt: skip


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"])
def test_a_date_out_of_range_is_a_400_saying_so(
    client: TestClient, seeded: Session, day: str
) -> None:
    for url in DATE_PARAMETERS:
        response = client.get(url.format(day))
        assert response.status_code == 400, (url, response.status_code)
        text = html.unescape(response.text)
        assert f"'{day}' is out of range" in text, url
        assert "between 1 Jan 1900 and 31 Dec 2100" in text, url
    # The edges of the range are in it.
    assert client.get("/?as_of=2100-12-31&known_on=1900-01-01").status_code == 200
    assert client.get("/changes?from=1900-01-01&to=2100-12-31").status_code == 200
    assert client.get("/api/v1/matrix?as_of=1900-01-01").status_code == 200


def test_a_forms_date_out_of_range_is_a_field_error(
    client: TestClient, admin: User, seeded: Session
) -> None:
    token = csrf_token(client, "/")
    quote = client.post("/quotes/new", data=_quote_form(token, said_on="0001-01-01"))
    assert quote.status_code == 422
    assert "out of range" in _error_beside(quote.text, "said_on")
    position = client.post(
        "/positions/new",
        data={"csrf_token": token, "party": "ua", "issue": "ceasefire", "stance": "accepts",
              "effective_from": "1899-12-31", "rationale": "Said so."},
    )  # fmt: skip
    assert position.status_code == 422
    assert "out of range" in _error_beside(position.text, "effective_from")
    source = client.post(
        "/manage/sources/new",
        data={"csrf_token": token, "url": "https://example.org/old", "title": "Old",
              "outlet": "Old News", "published_on": "0001-01-01", "kind": "news_report",
              "tier": "on_record"},
    )  # fmt: skip
    assert source.status_code == 422
    assert "between 1 Jan 1900 and 31 Dec 2100" in _error_beside(source.text, "published_on")


# --- 13: invisible characters ----------------------------------------------------------------


@pytest.mark.parametrize("char", HIDDEN)
def test_a_control_character_is_a_field_error_in_every_kind_of_form(
    client: TestClient, admin: User, seeded: Session, char: str
) -> None:
    token = csrf_token(client, "/")
    code = f"U+{ord(char):04X}"
    before = _quote_count(seeded)
    for field in ("text", "note", "new_speaker_role", "source_title", "rationale"):
        response = client.post(
            "/quotes/new", data=_quote_form(token, **{field: f"ready{char}for a ceasefire"})
        )
        assert response.status_code == 422, field
        assert code in _error_beside(response.text, field), field
    assert _quote_count(seeded) == before
    position = client.post(
        "/positions/new",
        data={"csrf_token": token, "party": "ua", "issue": "ceasefire", "stance": "accepts",
              "effective_from": "2025-04-23", "rationale": f"Said{char}so."},
    )  # fmt: skip
    assert position.status_code == 422
    assert code in _error_beside(position.text, "rationale")
    issue = client.post(
        "/manage/issues/new",
        data={"csrf_token": token, "slug": "new-issue", "title": "New issue",
              "proposition": f"Something{char}happens"},
    )  # fmt: skip
    assert issue.status_code == 422
    assert code in _error_beside(issue.text, "proposition")
    assert catalog.find_issue(seeded, slug="new-issue") is None


@pytest.mark.parametrize("override", ["\u202e", "\u202d", "\u2066"])
def test_a_direction_override_is_refused_in_urls_emails_and_names(
    client: TestClient, admin: User, seeded: Session, override: str
) -> None:
    token = csrf_token(client, "/")
    for field, value in (
        ("source_url", f"https://example.org/{override}gpj.exe"),
        ("new_speaker_name", f"Andrii {override}Yermak"),
        ("source_outlet", f"Example{override} News"),
    ):
        response = client.post("/quotes/new", data=_quote_form(token, **{field: value}))
        assert response.status_code == 422, field
        assert "text-direction" in _error_beside(response.text, field), field
    user = client.post(
        "/manage/users/new",
        data={"csrf_token": token, "email": f"moc.{override}evil@example.org",
              "display_name": f"Admin{override}", "role": "editor",
              "password": "a long and unusual passphrase"},
    )  # fmt: skip
    assert user.status_code == 422
    assert "text-direction" in _error_beside(user.text, "email")
    assert "text-direction" in _error_beside(user.text, "display_name")
    party = client.post(
        "/manage/parties/new",
        data={"csrf_token": token, "slug": "np", "name": f"{override}Ukraine",
              "short_name": "NP", "kind": "state"},
    )  # fmt: skip
    assert party.status_code == 422
    assert "text-direction" in _error_beside(party.text, "name")
    assert seeded.scalar(select(func.count()).select_from(Party).where(Party.slug == "np")) == 0
    # A quote may be in Arabic or Hebrew, with direction controls: only names are this strict.
    text = f"{override}نحن مستعدون لوقف إطلاق النار\u202c"
    response = client.post(
        "/quotes/new", data=_quote_form(token, text=text, language="ar"), follow_redirects=False
    )
    assert response.status_code == 303, response.text[:2000]
    assert seeded.scalar(select(Quote).where(Quote.text == text)) is not None


def test_a_feed_stays_well_formed_when_stored_text_holds_control_characters(
    client: TestClient, session: Session
) -> None:
    """Text saved before the forms refused these characters must not break any feed."""
    party, issue = b.party(session, "ua", name="Ukraine\x0b"), b.issue(session, "ceasefire")
    evidence = b.quote(session, party, issue, text="Ready\x1b for a\x08 ceasefire\x0c.")
    b.position(session, party, issue, Stance.ACCEPTS, date(2025, 4, 20), evidence=[evidence])
    for url in ("/feeds/changes.atom", "/feeds/parties/ua.atom", "/feeds/issues/ceasefire.atom"):
        response = client.get(url)
        assert response.status_code == 200
        feed = ET.fromstring(response.content)  # raises on a character XML forbids
        summary = feed.find(
            "{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}summary"
        )
        assert summary is not None and "Ready for a ceasefire." in (summary.text or "")


# --- 4: the command line's CSV export --------------------------------------------------------


def test_the_csv_export_neutralises_formulas_and_imports_back_unchanged(
    session: Session, tmp_path: Path
) -> None:
    party, issue = b.party(session, "ua"), b.issue(session, "ceasefire")
    dangerous = ['=HYPERLINK("http://evil.example","click")', "+1 for peace", "-2 sides",
                 "@SUM(A1)", "'=already quoted", "'plain apostrophe"]  # fmt: skip
    for text in dangerous:
        b.quote(session, party, issue, text=text)
    exported = export_file.export_text(session, "csv")
    rows = list(csv.DictReader(io.StringIO(exported)))
    texts = [row["text"] for row in rows]
    for text in dangerous[:5]:
        assert "'" + text in texts, text
    assert "'plain apostrophe" in texts  # nothing a spreadsheet would run: left alone
    for row in rows:
        for name, value in row.items():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (name, value)
    path = tmp_path / "quotes.csv"
    path.write_text(exported, "utf-8")
    # Read back the way the import reads a CSV: every apostrophe the export added is removed.
    rows_read = csv_records(path, lambda _n: None)
    quotes = [csv_row(row, f"row{n}").quote for n, (_line, row, _extra) in enumerate(rows_read)]
    assert sorted(q["text"] for q in quotes) == sorted(dangerous)


@given(st.text())
def test_restore_undoes_neutralise(text: str) -> None:
    assert restore(neutralise(text)) == text
    assert not neutralise(text).startswith(("=", "+", "-", "@", "\t", "\r"))
