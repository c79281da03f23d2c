"""Documents point by point: splitting a pasted text, lineage of a version, comparison, reactions,
and a round as a point on the time axis."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.forms import parse_moment
from app.models import (
    Document,
    DocumentKind,
    DocumentStatus,
    Issue,
    Party,
    PartyRole,
    PointMapping,
    PointRelation,
    Quote,
    QuoteKind,
    QuoteStatus,
    RoundFormat,
    Stance,
)
from app.services import documents, rounds
from app.services.document_text import split_points, word_diff
from app.services.documents import PointDraft
from app.services.errors import InvalidParameter, ValidationFailed
from tests import builders as b

TABLED = date(2025, 11, 20)


def _document(
    session: Session,
    author: Party,
    points: list[PointDraft],
    *,
    slug: str,
    derived_from: Document | None = None,
    tabled_on: date = TABLED,
    confirmation: QuoteStatus = QuoteStatus.REPORTED,
) -> Document:
    document = documents.create_document(
        session, actor=None, slug=slug, title=f"Plan {slug}", kind=DocumentKind.PLAN,
        status=DocumentStatus.LEAKED, confirmation=confirmation, tabled_on=tabled_on,
        source=b.source(session), parties=[(author, PartyRole.AUTHORING)], points=points,
        derived_from=derived_from,
    )  # fmt: skip
    return documents.get_document(session, slug=document.slug)


def _plan(issues: list[Issue]) -> list[PointDraft]:
    return [
        PointDraft("1", "Ukraine's sovereignty will be confirmed.", [(issues[0], Stance.ACCEPTS)]),
        PointDraft("6", "The Armed Forces of Ukraine are limited to 600,000 personnel."),
        PointDraft(
            "7",
            "Ukraine agrees to enshrine in its constitution that it will not join NATO.",
            [(issues[1], Stance.REJECTS)],
        ),  # fmt: skip
        PointDraft("9", "European fighter jets will be stationed in Poland."),
    ]


def test_split_points_by_their_numbering_and_keeps_continuation_lines() -> None:
    text = (
        "Draft framework\n"
        "1. Ukraine's sovereignty will be confirmed.\n"
        "2) A comprehensive non-aggression agreement\n"
        "   will be concluded.\n"
        "6a. Forces are limited to 600,000.\n"
        "Point 7: Ukraine does not join NATO.\n"
        "Annex 2\n"
        "Security guarantees in detail.\n"
        "IV. A roman numeral\n"
    )
    found = [(p.label, p.text) for p in split_points(text)]
    assert found == [
        ("Preamble", "Draft framework"),
        ("1", "Ukraine's sovereignty will be confirmed."),
        ("2", "A comprehensive non-aggression agreement will be concluded."),
        ("6a", "Forces are limited to 600,000."),
        ("7", "Ukraine does not join NATO."),
        ("Annex 2", "Security guarantees in detail. IV. A roman numeral"),
    ]
    with_roman = split_points(text, roman=True)
    assert [(p.label, p.text) for p in with_roman[-2:]] == [
        ("Annex 2", "Security guarantees in detail."),
        ("IV", "A roman numeral"),
    ]


def test_word_diff_marks_the_changed_number() -> None:
    pieces = word_diff("limited to 600,000 personnel.", "limited to 800,000 personnel.")
    assert [(p.same, p.old, p.new) for p in pieces] == [
        ("limited to", "", ""),
        ("", "600,000", "800,000"),
        ("personnel.", "", ""),
    ]


def test_points_are_quotes_of_the_author_tagged_with_their_stance(session: Session) -> None:
    us, sovereignty, nato = b.party(session), b.issue(session), b.issue(session)
    plan = _document(session, us, _plan([sovereignty, nato]), slug="plan-28")
    assert [p.label for p in plan.points] == ["1", "6", "7", "9"]
    point = plan.points[2]
    assert point.quote.kind == QuoteKind.DOCUMENT_PROVISION
    assert point.quote.party_id == us.id
    assert point.quote.said_on == TABLED
    assert point.quote.status == QuoteStatus.REPORTED
    assert [(t.issue_id, t.stance) for t in point.quote.issue_tags] == [(nato.id, Stance.REJECTS)]


def test_a_version_maps_its_points_and_unmapped_predecessor_points_are_removed(
    session: Session,
) -> None:
    us, sovereignty, nato = b.party(session), b.issue(session), b.issue(session)
    old = _document(session, us, _plan([sovereignty, nato]), slug="plan-28")
    new_points = [
        PointDraft("1", "Ukraine's sovereignty will be confirmed."),  # kept
        PointDraft("5", "The Armed Forces of Ukraine are limited to 800,000 personnel."),  # changed
        PointDraft("6", "An amnesty applies to all parties."),  # new
    ]
    new = _document(session, us, new_points, slug="plan-19", derived_from=old)
    line = documents.lineage(session, document=new, predecessor=old)
    assert [line.relation[p.id] for p in new.points] == [
        PointRelation.KEPT, PointRelation.CHANGED, PointRelation.NEW,
    ]  # fmt: skip
    assert [q.label for q in line.predecessors[new.points[1].id]] == ["6"]
    assert [p.label for p in line.removed] == ["7", "9"]


def test_comparison_aligns_by_mapping_then_by_issue_with_word_differences(
    session: Session,
) -> None:
    us, eu = b.party(session), b.party(session)
    sovereignty, nato = b.issue(session), b.issue(session)
    old = _document(session, us, _plan([sovereignty, nato]), slug="plan-28")
    revised = _document(
        session, us,
        [PointDraft("5", "The Armed Forces of Ukraine are limited to 800,000 personnel.")],
        slug="plan-19", derived_from=old,
    )  # fmt: skip
    counter = _document(
        session, eu,
        [PointDraft("3", "NATO membership depends on the consensus of its members.",
                    [(nato, Stance.AMBIGUOUS)])],
        slug="e3-counter",
    )  # fmt: skip
    by_mapping = documents.compare(session, left=old, right=revised)
    changed = [row for row in by_mapping.rows if row.label == "changed"]
    assert len(changed) == 1 and changed[0].left is not None and changed[0].left.label == "6"
    assert [(p.old, p.new) for p in changed[0].pieces if p.changed] == [("600,000", "800,000")]
    assert by_mapping.counts == {"changed": 1, "removed": 3}

    by_issue = documents.compare(session, left=old, right=counter)
    paired = [row for row in by_issue.rows if row.how == "issue"]
    assert len(paired) == 1 and paired[0].left is not None and paired[0].left.label == "7"
    assert paired[0].label == "same issue"
    nato_row = next(side for side in by_issue.issues if side[0].id == nato.id)
    assert [(p.label, s) for p, s in nato_row[1].points] == [("7", Stance.REJECTS)]
    assert [(p.label, s) for p, s in nato_row[2].points] == [("3", Stance.AMBIGUOUS)]


def test_a_document_needs_an_author_points_and_a_free_slug(session: Session) -> None:
    us, eu = b.party(session), b.party(session)
    _document(session, us, [PointDraft("1", "Text.")], slug="plan-a")
    with pytest.raises(ValidationFailed) as failed:
        documents.create_document(
            session, actor=None, slug="plan-a", title="Again", kind=DocumentKind.PLAN,
            status=DocumentStatus.REPORTED, confirmation=QuoteStatus.REPORTED, tabled_on=TABLED,
            source=b.source(session), parties=[(eu, PartyRole.ENDORSING)],
            points=[PointDraft("1", " ")],
        )  # fmt: skip
    assert set(failed.value.errors) == {"slug", "authors", "text_1"}


def test_a_reaction_to_a_point_is_listed_under_the_point_and_its_party(session: Session) -> None:
    us, ua = b.party(session), b.party(session)
    sovereignty, nato = b.issue(session), b.issue(session)
    plan = _document(session, us, _plan([sovereignty, nato]), slug="plan-28")
    rejection = b.quote(session, ua, nato, Stance.REJECTS, said_on=TABLED + timedelta(days=2),
                        text="Point 7 is unacceptable to us.")  # fmt: skip
    welcome = b.quote(session, ua, None, said_on=TABLED + timedelta(days=1),
                      text="The plan can be a basis for a settlement.")  # fmt: skip
    documents.add_reaction(session, actor=None, quote=rejection, document=plan,
                           point=plan.points[2], stance=Stance.REJECTS)  # fmt: skip
    documents.add_reaction(session, actor=None, quote=welcome, document=plan,
                           stance=Stance.ACCEPTS)  # fmt: skip
    found = documents.reactions(session, document=plan)
    assert [(party.id, [r.quote_id for r in rows]) for party, rows in found.by_party] == [
        (ua.id, [welcome.id, rejection.id])
    ]
    assert [r.stance for r in found.by_point[plan.points[2].id]] == [Stance.REJECTS]
    with pytest.raises(ValidationFailed) as failed:
        documents.add_reaction(session, actor=None, quote=rejection, document=plan,
                               point=plan.points[2])  # fmt: skip
    assert "quote" in failed.value.errors


def test_a_denied_leak_carries_its_denial_on_every_point(session: Session) -> None:
    ru = b.party(session)
    leak = _document(session, ru, [PointDraft("1", "A."), PointDraft("2", "B.")], slug="leak",
                     confirmation=QuoteStatus.DENIED)  # fmt: skip
    statuses = session.scalars(
        select(Quote.status).where(Quote.id.in_([p.quote_id for p in leak.points]))
    ).all()
    assert statuses == [QuoteStatus.DENIED, QuoteStatus.DENIED]


def test_a_round_is_a_since_value_from_its_first_day(session: Session) -> None:
    us, ua, nato = b.party(session), b.party(session), b.issue(session)
    rounds.create_round(
        session, actor=None, slug="geneva-2025-11", name="Geneva talks",
        starts_on=date(2025, 11, 23), ends_on=None, format=RoundFormat.BILATERAL,
        parties=[(us, "Rubio, Witkoff"), (ua, "Yermak")],
    )  # fmt: skip
    found = rounds.parse_since(session, "round:geneva-2025-11", field="since")
    assert found is not None
    assert found.day == date(2025, 11, 22)
    assert found.label == "the Geneva talks (23 Nov 2025)"
    assert rounds.parse_until(session, "round:geneva-2025-11", field="to").day == date(  # type: ignore[union-attr]
        2025, 11, 23
    )
    with pytest.raises(InvalidParameter):
        rounds.parse_since(session, "round:nowhere", field="since")
    plain = parse_moment("2025-11-01", field="since", find_round=lambda _s: None)
    assert plain is not None and plain.day == date(2025, 11, 1) and plain.round_slug is None
    # A change on the round's own day is a change since the round.
    b.position(session, ua, nato, Stance.ACCEPTS, date(2025, 11, 1))
    b.position(session, ua, nato, Stance.REJECTS, date(2025, 11, 23))
    entries = rounds.chronology(session, today=date(2025, 12, 1)).entries
    assert [(m.slug, [c.change.new_stance for c in changes]) for m, changes, _ in entries] == [
        ("geneva-2025-11", [Stance.REJECTS])
    ]


def test_mappings_can_be_corrected(session: Session) -> None:
    us = b.party(session)
    old = _document(session, us, [PointDraft("1", "Alpha."), PointDraft("2", "Beta.")], slug="a")
    new = _document(session, us, [PointDraft("1", "Alpha and beta together.")], slug="b",
                    derived_from=old)  # fmt: skip
    documents.set_mapping(session, actor=None, point=new.points[0],
                          predecessors=list(old.points), relation=PointRelation.MERGED)  # fmt: skip
    rows = session.scalars(
        select(PointMapping).where(PointMapping.point_id == new.points[0].id)
    ).all()
    assert sorted(r.predecessor_point_id or 0 for r in rows) == sorted(p.id for p in old.points)
    assert documents.lineage(session, document=new, predecessor=old).removed == []
