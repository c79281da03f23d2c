"""The rendered-matrix cache: keyed by the data version every write bumps, with ETag/304."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import (
    Document,
    DocumentKind,
    DocumentStatus,
    QuoteStatus,
    Round,
    RoundFormat,
    Stance,
    Theme,
)
from app.services import versioning
from tests import builders as b
from tests.auth_helpers import login, make_user
from tests.conftest import StatementCounter

D = date(2025, 4, 1)


def test_every_write_of_evidence_bumps_the_data_version(session: Session) -> None:
    start = versioning.current(session)
    party, issue = b.party(session), b.issue(session)
    session.flush()
    after_create = versioning.current(session)
    assert after_create > start
    b.position(session, party, issue, Stance.ACCEPTS, D)
    assert versioning.current(session) > after_create
    before_login = versioning.current(session)
    make_user(session, "v@example.org")  # users are not evidence
    session.flush()
    assert versioning.current(session) == before_login


def test_writes_of_themes_documents_and_rounds_bump_the_data_version(session: Session) -> None:
    """Views show them and workers hold them per version (the matrix's themes, a timeline's
    rounds, the documents and rounds a search lists by name): a write must move it on."""
    theme = Theme(slug="vt", title="Version test")
    session.add(theme)
    session.flush()
    after_theme = versioning.current(session)
    source = b.source(session)
    meeting = Round(
        slug="vr", name="Version round", starts_on=D, ends_on=D, format=RoundFormat.BILATERAL,
        source_id=source.id,
    )  # fmt: skip
    session.add(meeting)
    session.flush()
    after_round = versioning.current(session)
    assert after_round > after_theme
    document = Document(
        slug="vd", title="Version plan", kind=DocumentKind.PLAN, status=DocumentStatus.PUBLISHED,
        confirmation=QuoteStatus.CONFIRMED, tabled_on=D, source_id=source.id,
    )  # fmt: skip
    session.add(document)
    session.flush()
    after_document = versioning.current(session)
    assert after_document > after_round
    document.title = "Version plan, renamed"
    session.flush()
    assert versioning.current(session) > after_document


def test_repeat_view_neither_queries_nor_renders_the_matrix_again(
    client: TestClient, seeded: Session, count_statements: StatementCounter
) -> None:
    first = client.get("/?as_of=2025-04-23")
    count_statements.statements.clear()
    second = client.get("/?as_of=2025-04-23")
    assert second.text == first.text
    assert count_statements.count == 1, count_statements.statements  # the data version only


def test_a_write_shows_at_once(client: TestClient, session: Session) -> None:
    party, issue = b.party(session, "cache-p"), b.issue(session, "cache-i", title="Cache issue")
    label = "Party cache-p on Cache issue: "
    assert label + "no recorded position" in client.get(f"/?as_of={D}").text
    b.position(session, party, issue, Stance.REJECTS, D)
    assert label + "Rejects" in client.get(f"/?as_of={D}").text


def test_if_none_match_gets_304_until_the_data_changes(
    client: TestClient, session: Session
) -> None:
    party, issue = b.party(session, "etag-p"), b.issue(session, "etag-i")
    first = client.get(f"/?as_of={D}")
    tag = first.headers["etag"]
    again = client.get(f"/?as_of={D}", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    b.position(session, party, issue, Stance.ACCEPTS, D)
    changed = client.get(f"/?as_of={D}", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


def test_the_page_around_the_cached_matrix_is_each_users_own(
    client: TestClient, session: Session
) -> None:
    anonymous = client.get(f"/?as_of={D}")
    make_user(session, "ed@example.org")
    login(client, "ed@example.org")
    editor = client.get(f"/?as_of={D}")
    assert "Ed (editor)" in editor.text and "Ed (editor)" not in anonymous.text
    assert editor.headers["etag"] != anonymous.headers["etag"]
    fragment = client.get(f"/?as_of={D}", headers={"HX-Request": "true"})
    assert "Ed (editor)" not in fragment.text and 'id="matrix"' in fragment.text


def test_anonymous_page_is_served_compressed_once_per_version(
    client: TestClient, seeded: Session
) -> None:
    plain = client.get("/?as_of=2025-04-23", headers={"Accept-Encoding": "identity"})
    packed = client.get("/?as_of=2025-04-23", headers={"Accept-Encoding": "gzip"})
    again = client.get("/?as_of=2025-04-23", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert plain.text == packed.text == again.text  # httpx decodes gzip
    assert "Accept-Encoding" in packed.headers["vary"]
