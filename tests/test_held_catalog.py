"""The catalog (parties, issues, themes) a worker holds per data version for the matrix."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from app.models import Issue, Party, Theme
from app.services import held_catalog, versioning
from app.services.catalog import list_issues
from tests import builders as b
from tests.conftest import StatementCounter

CATALOG_READ = re.compile(
    r"^SELECT (parties|issues|themes)\.id\b[^()]*\bFROM \1 ORDER BY", re.DOTALL
)
"""A query of a whole catalog table (the matrix's others join parties and issues in subqueries)."""


def _catalog_reads(counter: StatementCounter) -> list[str]:
    return [s for s in counter.statements if CATALOG_READ.search(s.strip())]


def test_matrix_misses_of_one_data_version_read_the_catalog_once(
    app: FastAPI, client: TestClient, seeded: Session, count_statements: StatementCounter
) -> None:
    count_statements.statements.clear()
    client.get("/?as_of=2025-04-23")
    assert len(_catalog_reads(count_statements)) == 3  # parties, issues, themes
    count_statements.statements.clear()
    held = client.get("/?as_of=2025-04-20")  # another day: a miss, same data version
    assert held.status_code == 200
    assert _catalog_reads(count_statements) == [], count_statements.statements
    assert app.state.held_catalog.reads == 1
    # The same view rendered from a fresh read of the catalog is the same page, byte for byte.
    app.state.held_catalog = held_catalog.HeldCatalog()
    for cache in app.state.view_caches.values():
        cache.clear()
    count_statements.statements.clear()
    fresh = client.get("/?as_of=2025-04-20")
    assert len(_catalog_reads(count_statements)) == 3
    assert fresh.text == held.text
    assert held.text.count('class="theme"') == 4 and "/cells/us/crimea-recognition" in held.text


def test_a_catalog_write_shows_in_the_next_matrix(
    app: FastAPI, client: TestClient, seeded: Session
) -> None:
    client.get("/?as_of=2025-04-23")
    b.party(seeded, "held-new", name="Held Newcomer")
    seeded.flush()
    assert "Held Newcomer" in client.get("/?as_of=2025-04-22").text
    issue = next(i for i in list_issues(seeded) if i.slug == "crimea-recognition")
    issue.title = "Crimea renamed while held"
    seeded.flush()
    assert "Crimea renamed while held" in client.get("/?as_of=2025-04-21").text
    assert app.state.held_catalog.reads == 3


def test_held_copies_belong_to_no_session_and_keep_every_column(seeded: Session) -> None:
    store = held_catalog.HeldCatalog()
    version = versioning.current(seeded)
    if version >= versioning.PRIVATE_BASE:  # the harness's open transaction may be private
        version = 1
    listing = store.listing(seeded, version)
    assert store.listing(seeded, version) is listing and store.reads == 1
    read = held_catalog.read(seeded)
    for copies, rows, kind in (
        (listing.parties, read.parties, Party),
        (listing.issues, read.issues, Issue),
        (listing.themes, read.themes, Theme),
    ):
        assert rows and [c.id for c in copies] == [r.id for r in rows]
        for copy, row in zip(copies, rows, strict=True):
            assert copy is not row and inspect(copy).session is None
            for attr in inspect(kind).column_attrs:
                assert getattr(copy, attr.key) == getattr(row, attr.key)


def test_a_private_version_is_read_from_its_transaction_and_never_held(
    seeded: Session,
) -> None:
    store = held_catalog.HeldCatalog()
    private = versioning.PRIVATE_BASE + 7
    first = store.listing(seeded, private)
    assert first.parties[0] in seeded  # the transaction's own objects, not copies
    store.listing(seeded, private)
    assert store.reads == 2
    held = store.listing(seeded, 5)
    assert store.listing(seeded, 5) is held and store.reads == 3
    store.listing(seeded, 4)  # an older version is read, and the newer one stays held
    assert store.listing(seeded, 5) is held and store.reads == 4


def test_cell_views_of_one_data_version_read_the_catalog_once(
    app: FastAPI, client: TestClient, seeded: Session, count_statements: StatementCounter
) -> None:
    client.get("/cells/us/crimea-recognition?as_of=2025-04-23")
    count_statements.statements.clear()
    page = client.get("/cells/ru/nato-membership?as_of=2025-04-22")
    assert page.status_code == 200 and "on NATO membership" in page.text
    assert _catalog_reads(count_statements) == [], count_statements.statements
    assert client.get("/cells/nobody/nato-membership").status_code == 404
    assert client.get("/cells/ru/no-such-issue").status_code == 404
    assert app.state.held_catalog.reads == 1


def test_searches_of_one_data_version_read_the_catalog_once(
    client: TestClient, seeded: Session, count_statements: StatementCounter
) -> None:
    client.get("/quotes?q=ceasefire")
    count_statements.statements.clear()
    page = client.get("/quotes?q=crimea")
    assert page.status_code == 200
    assert _catalog_reads(count_statements) == [], count_statements.statements
    # The filter lists still offer every party and issue.
    assert '<option value="eu-institutions"' in page.text
    assert '<option value="us-russia-cooperation"' in page.text


def test_cell_and_search_pages_of_one_version_read_rounds_and_speakers_once(
    app: FastAPI, client: TestClient, seeded: Session, count_statements: StatementCounter
) -> None:
    """A cell's timeline marks the rounds and the search form lists the speakers from the held
    listing: read once per data version, and a new round or speaker shows after its write."""
    from datetime import date

    from app.models import RoundFormat
    from app.services import catalog, rounds

    def reads_of(columns: str) -> list[str]:
        return [s for s in count_statements.statements if s.startswith(f"SELECT {columns}")]

    first = client.get("/cells/ua/ceasefire?as_of=2025-04-23")
    assert first.status_code == 200 and "London" in first.text
    assert client.get("/quotes?q=truce").status_code == 200
    count_statements.statements.clear()
    for path in ("/cells/us/ceasefire?as_of=2025-04-22", "/quotes?q=ceasefire"):
        assert client.get(path).status_code == 200, path
    assert reads_of("rounds.starts_on, rounds.name") == []
    assert reads_of("speakers.id, speakers.name, parties.short_name") == []
    ua = catalog.find_party(seeded, slug="ua")
    assert ua is not None
    rounds.create_round(
        seeded, actor=None, slug="held-round", name="Held-over talks",
        starts_on=date(2025, 4, 22), ends_on=None, format=RoundFormat.TECHNICAL,
    )  # fmt: skip
    catalog.create_speaker(seeded, actor=None, party=ua, name="Held Newspeaker", role="Envoy")
    seeded.flush()
    assert "Held-over talks" in client.get("/cells/ua/ceasefire?as_of=2025-04-23").text
    assert "Held Newspeaker" in client.get("/quotes?q=truce").text
