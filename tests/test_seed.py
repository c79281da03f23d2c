"""The seed data: the article's statements become the matrix it implies, and loading is idempotent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import PROJECT_ROOT
from app.db import Base
from app.models import AuditEntry, Issue, Party, Position, Quote, QuoteStatus, Stance
from app.services import catalog, matrix, seed
from app.services.users import as_utc

TALKS = date(2025, 4, 23)
REQUIRED_ISSUES = {
    "crimea-recognition": "Crimea is recognised as part of Russia",
    "occupied-territories": "Russian control of the occupied parts of Luhansk, Donetsk, Kherson and Zaporizhzhia is recognised",
    "nato-membership": "Ukraine joins NATO",
    "eu-membership": "Ukraine joins the European Union",
    "sanctions-relief": "Sanctions imposed on Russia since 2014 are lifted",
    "ceasefire": "A full ceasefire takes effect before a settlement is negotiated",
    "security-guarantees": "Ukraine receives security guarantees backed by European states",
}


def _cell(session: Session, party: str, issue: str) -> matrix.Cell | None:
    grid = matrix.build_matrix(session, as_of=TALKS)
    return grid.cell(catalog.get_party(session, slug=party), catalog.get_issue(session, slug=issue))


def test_seed_has_the_parties_and_issues(seeded: Session) -> None:
    parties = {p.slug: p for p in seeded.scalars(select(Party))}
    assert {"us", "ua", "ru", "eu"} <= set(parties)
    assert parties["eu"].kind.value == "bloc"
    issues = {i.slug: i.proposition for i in seeded.scalars(select(Issue))}
    for slug, proposition in REQUIRED_ISSUES.items():
        assert issues[slug] == proposition


def test_seed_ukraine_rejects_crimea_recognition_on_a_confirmed_direct_quote(
    seeded: Session,
) -> None:
    cell = _cell(seeded, "ua", "crimea-recognition")
    assert cell is not None
    assert cell.stance == Stance.REJECTS
    assert cell.confirmation == "confirmed"
    direct = seeded.scalars(
        select(Quote).where(Quote.text.contains("There is nothing to talk about"))
    ).one()
    assert direct.kind.value == "direct" and direct.status == QuoteStatus.CONFIRMED
    assert direct.said_on == date(2025, 4, 22)


def test_seed_united_states_accepts_crimea_recognition_unconfirmed(seeded: Session) -> None:
    cell = _cell(seeded, "us", "crimea-recognition")
    assert cell is not None
    assert cell.stance == Stance.ACCEPTS
    assert cell.confirmation == "unconfirmed"


def test_seed_ukraine_accepts_ceasefire_first(seeded: Session) -> None:
    cell = _cell(seeded, "ua", "ceasefire")
    assert cell is not None and cell.stance == Stance.ACCEPTS


def test_seed_united_states_rejects_nato_membership_reported(seeded: Session) -> None:
    cell = _cell(seeded, "us", "nato-membership")
    assert cell is not None
    assert cell.stance == Stance.REJECTS
    assert cell.confirmation == "unconfirmed"


def test_seed_ft_report_is_denied_by_peskov(seeded: Session) -> None:
    from sqlalchemy.orm import selectinload

    ft = seeded.scalars(
        select(Quote)
        .where(Quote.status == QuoteStatus.DENIED)
        .options(selectinload(Quote.responses).selectinload(Quote.speaker))
    ).one()
    assert "front line" in ft.text
    assert [r.speaker.name for r in ft.responses if r.speaker] == ["Dmitry Peskov"]
    cell = _cell(seeded, "ru", "occupied-territories")
    assert cell is not None and cell.confirmation == "denied"


def test_seed_europe_has_no_recorded_position(seeded: Session) -> None:
    grid = matrix.build_matrix(seeded, as_of=TALKS)
    eu = catalog.get_party(seeded, slug="eu")
    assert all(grid.cell(eu, issue) is None for issue in grid.issues)


def test_seed_every_quote_cites_the_article_and_dates_fall_in_april_2025(seeded: Session) -> None:
    quotes = list(seeded.scalars(select(Quote)))
    assert len(quotes) >= 15
    assert all(date(2025, 4, 1) <= q.said_on <= TALKS for q in quotes)
    assert len({q.source_id for q in quotes}) == 1


def _row_counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


def test_seed_second_run_adds_no_rows(seeded: Session) -> None:
    before = _row_counts(seeded)
    added = seed.load_seeds(seeded, PROJECT_ROOT / "seeds")
    assert sum(added.values()) == 0
    assert _row_counts(seeded) == before
    assert before["quotes"] > 0 and before["positions"] > 0 and before["audit_entries"] > 0


def test_seed_europe_has_its_members_beneath_it(seeded: Session) -> None:
    grid = matrix.build_matrix(seeded, as_of=TALKS)
    slugs = [p.slug for p in grid.parties]
    eu = slugs.index("eu")
    assert slugs[eu + 1 : eu + 5] == ["uk", "fr", "de", "eu-institutions"]
    assert {p.slug for p in grid.members(grid.parties[eu])} == {"uk", "fr", "de", "eu-institutions"}


def test_seed_positions_are_recorded_as_of_the_article_day(seeded: Session) -> None:
    recorded = {as_utc(p.recorded_at) for p in seeded.scalars(select(Position))}
    assert recorded == {datetime(2025, 4, 23, 12, tzinfo=UTC)}


def test_seed_matrix_is_what_was_known_on_the_article_day(seeded: Session) -> None:
    def stances(known_on: date | None) -> dict[tuple[int, int], Stance | None]:
        grid = matrix.build_matrix(seeded, as_of=TALKS, known_on=known_on)
        return {key: c.stance for key, c in grid.cells.items() if c.position_id is not None}

    assert stances(TALKS) == stances(None)
    assert len(stances(TALKS)) >= 10
    assert stances(TALKS - timedelta(days=1)) == {}


def test_seed_positions_audit_says_they_carry_their_recording_date(seeded: Session) -> None:
    entries = list(seeded.scalars(select(AuditEntry).where(AuditEntry.entity_type == "positions")))
    assert len(entries) == seeded.scalar(select(func.count()).select_from(Position))
    for entry in entries:
        assert entry.after is not None
        assert entry.after["note"] == (
            "imported with its original recording date, 2025-04-23T12:00:00+00:00"
        )


def test_seed_us_proposal_is_a_reported_document_of_eight_tagged_points(seeded: Session) -> None:
    from app.services import documents

    plan = documents.get_document(seeded, slug="us-proposal-paris-2025-04")
    assert plan.status.value == "reported" and plan.confirmation == QuoteStatus.REPORTED
    assert plan.tabled_on == date(2025, 4, 17)
    assert [(p.party.slug, p.role.value) for p in plan.parties] == [("us", "authoring")]
    tags = [
        (p.label, [(t.issue.slug, t.stance.value) for t in p.quote.issue_tags]) for p in plan.points
    ]
    assert tags == [
        ("1", [("crimea-recognition", "accepts")]),
        ("2", [("occupied-territories", "accepts")]),
        ("3", [("nato-membership", "rejects")]),
        ("4", [("eu-membership", "accepts")]),
        ("5", [("sanctions-relief", "accepts")]),
        ("6", [("us-russia-cooperation", "accepts")]),
        ("7", [("security-guarantees", "accepts")]),
        ("8", [("kharkiv-return", "accepts")]),
    ]
    reacted = documents.reactions(seeded, document=plan)
    assert [party.slug for party, _ in reacted.by_party] == ["ua"]
    assert {r.stance for r in reacted.by_point[plan.points[0].id]} == {Stance.REJECTS}


def test_seed_paris_and_london_are_rounds_london_downgraded(seeded: Session) -> None:
    from app.services import rounds

    listed = rounds.list_rounds(seeded)
    assert [(r.slug, r.starts_on) for r in listed] == [
        ("paris-2025-04-17", date(2025, 4, 17)),
        ("london-2025-04-23", TALKS),
    ]
    assert [d.slug for d in listed[0].documents] == ["us-proposal-paris-2025-04"]
    assert "Rubio cancelled" in listed[1].outcome
    assert {p.party.slug for p in listed[1].parties} == {"us", "ua", "eu"}
