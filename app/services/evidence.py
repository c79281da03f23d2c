"""The evidence behind cells, parties and issues: position histories and quotes, eagerly loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from app.models import Issue, Party, Position, PositionEvidence, Quote, QuoteIssue, Source, Stance
from app.services import catalog, rounds
from app.services.errors import InvalidParameter
from app.services.matrix import (
    CONFIRMED,
    DENIED,
    Cell,
    Change,
    Matrix,
    changes_between,
    current_cells,
    known_before,
    restatement_ids,
    split_members,
)
from app.services.timeline import Timeline, build_timeline

QUOTE_LIMIT = 50
"""Quotes shown on a party or issue page; the quote search pages through the rest."""


def _joined_loading() -> list[Any]:
    """What a quote's citation shows that joins to the quote: speaker, party, source, round,
    and the quote it answers with that one's source and speaker."""
    return [
        joinedload(Quote.speaker),
        joinedload(Quote.party),
        joinedload(Quote.source),
        joinedload(Quote.round),
        joinedload(Quote.confirms_or_denies).options(
            joinedload(Quote.source), joinedload(Quote.speaker)
        ),
    ]


def _response_loading() -> list[Any]:
    """What a citation shows of each response: its speaker and party."""
    return [joinedload(Quote.speaker), joinedload(Quote.party)]


def quote_loading() -> list[Any]:
    # Everything a quote's citation shows, in three statements whatever the count: the quotes
    # with their speaker, party, source and the quote they answer (joined), their tags, their
    # responses. quote_views.load_quotes() reads the same by id, as plain objects.
    return [
        *_joined_loading(),
        selectinload(Quote.issue_tags).joinedload(QuoteIssue.issue),
        selectinload(Quote.responses).options(*_response_loading()),
    ]


def citation_loading() -> list[Any]:
    """A quote with everything a printed citation shows, its responses' sources included."""
    return [*quote_loading(), selectinload(Quote.responses).joinedload(Quote.source)]


def position_history(
    session: Session,
    *,
    as_of: date,
    known_on: date | None = None,
    party: Party | None = None,
    issue: Issue | None = None,
) -> list[Position]:
    """Positions in force on or before `as_of` (newest first), with their evidence loaded."""
    stmt = select(Position).where(Position.effective_from <= as_of)
    if known_on is not None:
        stmt = stmt.where(Position.recorded_at < known_before(known_on))
    if party is not None:
        stmt = stmt.where(Position.party_id == party.id)
    if issue is not None:
        stmt = stmt.where(Position.issue_id == issue.id)
    stmt = stmt.order_by(
        Position.effective_from.desc(), Position.recorded_at.desc(), Position.id.desc()
    ).options(
        selectinload(Position.party),
        selectinload(Position.issue),
        selectinload(Position.recorded_by),
        selectinload(Position.round),
        selectinload(Position.evidence).options(*quote_loading()),
    )
    return list(session.scalars(stmt))


def recent_quotes(
    session: Session,
    *,
    as_of: date,
    party: Party | None = None,
    issue: Issue | None = None,
    limit: int = QUOTE_LIMIT,
) -> list[Quote]:
    """The newest quotes said on or before `as_of`, of a party and/or tagged with an issue."""
    conditions: list[ColumnElement[bool]] = [Quote.said_on <= as_of]
    if party is not None:
        conditions.append(Quote.party_id == party.id)
    if issue is not None:
        conditions.append(
            Quote.id.in_(select(QuoteIssue.quote_id).where(QuoteIssue.issue_id == issue.id))
        )
    stmt = (
        select(Quote)
        .where(*conditions)
        .order_by(Quote.said_on.desc(), Quote.id.desc())
        .limit(limit)
        .options(*quote_loading())
    )
    return list(session.scalars(stmt))


@dataclass(slots=True)
class PartyDetail:
    """One party across all issues."""

    party: Party
    members: list[Party]
    as_of: date
    issues: list[Issue]
    cells: dict[tuple[int, int], Cell]
    history: list[Position]
    quotes: list[Quote]

    @property
    def restated(self) -> set[int]:
        """Positions in the history that restate a stance rather than change it."""
        return restatement_ids(self.history)


def party_detail(
    session: Session, *, slug: str, as_of: date, stale_after_days: int = 60
) -> PartyDetail:
    """Everything the party page shows, or NotFound."""
    party = catalog.get_party(session, slug=slug)
    parties = catalog.list_parties(session)
    issues = catalog.list_issues(session)
    return PartyDetail(
        party=party,
        members=[p for p in parties if p.parent_id == party.id],
        as_of=as_of,
        issues=issues,
        cells=current_cells(
            session,
            as_of=as_of,
            stale_after_days=stale_after_days,
            party_ids=[party.id],
            parties=parties,
            issues=issues,
        ),
        history=position_history(session, as_of=as_of, party=party),
        quotes=recent_quotes(session, as_of=as_of, party=party),
    )


@dataclass(slots=True)
class IssueDetail:
    """One issue across all parties."""

    issue: Issue
    as_of: date
    parties: list[Party]
    cells: dict[tuple[int, int], Cell]
    history: list[Position]
    quotes: list[Quote]
    timeline: Timeline | None = None

    @property
    def restated(self) -> set[int]:
        """Positions in the history that restate a stance rather than change it."""
        return restatement_ids(self.history)


def issue_detail(
    session: Session, *, slug: str, as_of: date, stale_after_days: int = 60
) -> IssueDetail:
    """Everything the issue page shows, or NotFound."""
    issue = catalog.get_issue(session, slug=slug)
    parties = catalog.list_parties(session)
    history = position_history(session, as_of=as_of, issue=issue)
    return IssueDetail(
        issue=issue,
        as_of=as_of,
        parties=parties,
        cells=current_cells(
            session,
            as_of=as_of,
            stale_after_days=stale_after_days,
            issue_ids=[issue.id],
            parties=parties,
        ),
        history=history,
        quotes=recent_quotes(session, as_of=as_of, issue=issue),
        timeline=build_timeline(
            history, parties=parties, as_of=as_of, rounds=rounds.on_axis(session, until=as_of)
        ),
    )


def change_quotes(
    session: Session, *, position_ids: list[int], full_citations: bool = False
) -> dict[int, Quote]:
    """For each position, the newest quote it cites (the one that shows the change); with
    `full_citations`, loaded with everything a citation shows (its confirmations and denials)."""
    if not position_ids:
        return {}
    stmt = (
        select(PositionEvidence.position_id, Quote)
        .join(Quote, Quote.id == PositionEvidence.quote_id)
        .where(PositionEvidence.position_id.in_(position_ids))
        .order_by(PositionEvidence.position_id, Quote.said_on.desc(), Quote.id.desc())
        .options(
            *(
                citation_loading()
                if full_citations
                else [selectinload(Quote.speaker), selectinload(Quote.source)]
            )
        )
    )
    shown: dict[int, Quote] = {}
    for position_id, quote in session.execute(stmt):
        shown.setdefault(position_id, quote)
    return shown


@dataclass(slots=True)
class ChangeList:
    """Changes of stance between two dates, with the quote that shows each."""

    since: date
    until: date
    known_on: date | None
    changes: list[Change]
    parties: dict[int, Party]
    issues: dict[int, Issue]
    quotes: dict[int, Quote]


def change_list(
    session: Session,
    *,
    since: date,
    until: date,
    known_on: date | None = None,
    matrix: Matrix | None = None,
    changes: list[Change] | None = None,
    limit: int = 500,
) -> ChangeList:
    """The "what changed" list; given the matrix, its changes, parties and issues are reused."""
    if matrix is not None:
        changes, parties, issues = matrix.changes, matrix.parties, matrix.issues
    else:
        if changes is None:
            changes = changes_between(
                session, since=since, until=until, known_on=known_on, limit=limit
            )
        parties, issues = catalog.list_parties(session), catalog.list_issues(session)
    return ChangeList(
        since=since,
        until=until,
        known_on=known_on,
        changes=changes,
        parties={p.id: p for p in parties},
        issues={i.id: i for i in issues},
        quotes=change_quotes(session, position_ids=[c.position_id for c in changes]),
    )


AGREE = "agree"
DIFFER = "differ"
UNCLEAR = "unclear"
NOT_COMPARABLE = "not_comparable"
VERDICT_WORDS = {
    AGREE: "Agree",
    DIFFER: "Differ",
    UNCLEAR: "Unclear",
    NOT_COMPARABLE: "Not comparable",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """How the compared parties stand on one issue, and why when it is not a plain answer."""

    word: str
    reason: str = ""

    @property
    def label(self) -> str:
        """The verdict as shown: Agree, Differ, Unclear or Not comparable."""
        return VERDICT_WORDS[self.word]


def possessive(name: str) -> str:
    """A name in the possessive: "Russia's", "the United States'"."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def verdict_of(parties: list[Party], cells: list[Cell | None]) -> Verdict:
    """Compare stances judged with their confirmation: a stance whose evidence is denied or only
    reported, an ambiguous stance or a split bloc is never counted as agreeing."""
    missing = [p.name for p, c in zip(parties, cells, strict=True) if c is None or not c.assessed]
    split = [p.name for p, c in zip(parties, cells, strict=True) if c is not None and c.split]
    if missing and not split:
        return Verdict(NOT_COMPARABLE, f"No recorded position: {', '.join(missing)}.")
    doubts: list[str] = []
    for party, cell in zip(parties, cells, strict=True):
        if cell is None:
            continue
        if cell.state != "position" and cell.split:
            doubts.append(f"{possessive(party.name)} members are split")
        elif cell.confirmation == DENIED:
            doubts.append(f"{possessive(party.name)} evidence was denied")
        elif cell.assessed and cell.confirmation != CONFIRMED:
            doubts.append(f"{possessive(party.name)} evidence is unconfirmed")
        elif cell.stance == Stance.AMBIGUOUS:
            doubts.append(f"{possessive(party.name)} signals are ambiguous")
    if missing:
        doubts.append(f"no recorded position: {', '.join(missing)}")
    if doubts:
        reason = "; ".join(doubts)
        return Verdict(UNCLEAR, reason[:1].upper() + reason[1:] + ".")
    stances = {c.stance for c in cells if c is not None}
    if len(stances) == 1:
        conditions = {c.condition for c in cells if c is not None}
        reason = "On different conditions." if len(conditions) > 1 else ""
        return Verdict(AGREE, reason)
    return Verdict(DIFFER)


@dataclass(slots=True)
class Comparison:
    """Two or more parties side by side, issue by issue, as of a date."""

    parties: list[Party]
    as_of: date
    issues: list[Issue]
    cells: dict[tuple[int, int], Cell]
    latest: dict[tuple[int, int], Quote]
    all_parties: list[Party] = field(default_factory=list)
    only_differences: bool = False

    @property
    def a(self) -> Party:
        """The first party compared."""
        return self.parties[0]

    @property
    def b(self) -> Party:
        """The second party compared."""
        return self.parties[1]

    def verdict(self, issue: Issue) -> Verdict:
        """Agree, differ, unclear (and why) or not comparable, for one issue."""
        return verdict_of(self.parties, [self.cells.get((p.id, issue.id)) for p in self.parties])

    @property
    def verdicts(self) -> list[tuple[Issue, Verdict]]:
        """Every issue with its verdict, in column order."""
        return [(issue, self.verdict(issue)) for issue in self.issues]

    @property
    def rows(self) -> list[tuple[Issue, Verdict]]:
        """The issues shown: all, or with `only_differences` those that differ or are unclear."""
        if not self.only_differences:
            return self.verdicts
        return [(i, v) for i, v in self.verdicts if v.word in (DIFFER, UNCLEAR)]

    @property
    def summary(self) -> str:
        """One line: how many issues agree, differ, are unclear and are not comparable."""
        counts = dict.fromkeys(VERDICT_WORDS, 0)
        for _, verdict in self.verdicts:
            counts[verdict.word] += 1
        return (
            f"{counts[AGREE]} agree, {counts[DIFFER]} differ, {counts[UNCLEAR]} unclear, "
            f"{counts[NOT_COMPARABLE]} not comparable"
        )

    def members(self, cell: Cell | None) -> list[tuple[Party, Stance]]:
        """A bloc cell's members with their stances, when they differ."""
        return split_members(cell, self.all_parties)


MAX_COMPARED = 8
"""Parties one comparison can show side by side."""


def latest_quotes(
    session: Session, *, party_ids: list[int], as_of: date
) -> dict[tuple[int, int], Quote]:
    """The newest quote of each party on each issue it is tagged with, said on or before as_of."""
    rank = (
        func.row_number()
        .over(
            partition_by=(Quote.party_id, QuoteIssue.issue_id),
            order_by=(Quote.said_on.desc(), Quote.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(Quote.id.label("quote_id"), Quote.party_id, QuoteIssue.issue_id, rank)
        .join(QuoteIssue, QuoteIssue.quote_id == Quote.id)
        .where(Quote.party_id.in_(party_ids), Quote.said_on <= as_of)
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.party_id, ranked.c.issue_id, Quote)
        .join(Quote, Quote.id == ranked.c.quote_id)
        .where(ranked.c.rank == 1)
        .options(selectinload(Quote.speaker), selectinload(Quote.source))
    )
    return {(party_id, issue_id): quote for party_id, issue_id, quote in rows}


def compare(
    session: Session,
    *,
    slugs: list[str],
    as_of: date,
    stale_after_days: int = 60,
    only_differences: bool = False,
) -> Comparison:
    """Two or more parties' stances and latest quotes per issue; NotFound for an unknown party,
    InvalidParameter for fewer than two, too many, or the same party twice."""
    if len(slugs) < 2:
        raise InvalidParameter("parties", "choose at least two parties to compare.")
    if len(slugs) > MAX_COMPARED:
        raise InvalidParameter("parties", f"compare at most {MAX_COMPARED} parties at once.")
    repeated = sorted({s for s in slugs if slugs.count(s) > 1})
    if repeated:
        raise InvalidParameter(
            "parties", f"'{repeated[0]}' is named twice; choose different parties."
        )
    chosen = [catalog.get_party(session, slug=slug) for slug in slugs]
    every_party = catalog.list_parties(session)
    issues = catalog.list_issues(session)
    ids = [p.id for p in chosen]
    return Comparison(
        parties=chosen,
        as_of=as_of,
        issues=issues,
        cells=current_cells(
            session,
            as_of=as_of,
            stale_after_days=stale_after_days,
            party_ids=ids,
            parties=every_party,
            issues=issues,
        ),
        latest=latest_quotes(session, party_ids=ids, as_of=as_of),
        all_parties=every_party,
        only_differences=only_differences,
    )


def list_positions(
    session: Session,
    *,
    party: Party | None = None,
    issue: Issue | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[Position], bool]:
    """Positions newest first (by effective date), filtered; returns the page and whether more follow."""
    stmt = select(Position)
    if party is not None:
        stmt = stmt.where(Position.party_id == party.id)
    if issue is not None:
        stmt = stmt.where(Position.issue_id == issue.id)
    if date_from is not None:
        stmt = stmt.where(Position.effective_from >= date_from)
    if date_to is not None:
        stmt = stmt.where(Position.effective_from <= date_to)
    stmt = (
        stmt.order_by(
            Position.effective_from.desc(), Position.recorded_at.desc(), Position.id.desc()
        )
        .offset((page - 1) * page_size)
        .limit(page_size + 1)
        .options(
            selectinload(Position.party),
            selectinload(Position.issue),
            selectinload(Position.round),
            selectinload(Position.evidence),
        )
    )
    rows = list(session.scalars(stmt))
    return rows[:page_size], len(rows) > page_size


def list_sources(
    session: Session, *, page: int = 1, page_size: int = 50
) -> tuple[list[Source], bool]:
    """Sources, newest first; returns the page and whether more follow."""
    stmt = (
        select(Source)
        .order_by(Source.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size + 1)
    )
    rows = list(session.scalars(stmt))
    return rows[:page_size], len(rows) > page_size
