"""The briefing: the matrix, what changed and each issue's evidence as one cited document, and its PDF.

`build_briefing` gathers the data (a fixed number of queries whatever the size), `render_html`
renders the one template that both the HTML preview and the PDF use, and `briefing_pdf.render_pdf` is the only
place that knows the PDF engine (WeasyPrint), so it could be swapped. The engine's URL fetcher
reads our own static files and `data:` URLs and refuses everything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    Issue,
    Party,
    Position,
    Quote,
    QuoteStatus,
    Round,
    Source,
    SourceTier,
    Stance,
)
from app.services import catalog, matrix_view, rounds
from app.services.briefing_request import DEFAULT_TITLE as DEFAULT_TITLE
from app.services.briefing_request import OMITTABLE as OMITTABLE
from app.services.briefing_request import BriefingRequest as BriefingRequest
from app.services.briefing_request import FindRound
from app.services.briefing_request import parse_form as parse_form
from app.services.briefing_request import parse_request as parse_request
from app.services.briefing_request import safe_filename as safe_filename
from app.services.briefing_summary import Summary, build_summary, summary_blocks
from app.services.briefing_texts import TableText, reaction_words, texts_on_table
from app.services.errors import InvalidParameter
from app.services.evidence import change_quotes, citation_loading
from app.services.matrix import (
    Cell,
    Change,
    Matrix,
    changes_between,
    current_cells,
    known_before,
    net_changed_cells,
    runs_of,
    split_members,
)
from app.services.themes import list_themes
from app.services.timeline import Timeline, build_timeline
from app.templating import render_text

KEY_QUOTES = 3
ISSUES_PER_TABLE = 15
"""Matrix columns per table on a landscape page (10 parties x 15 issues fit one page); more
issues continue in further tables of balanced width, each with the party column."""


# Strength of evidence, strongest first: confirmed before reported, on-record before hearsay.
STATUS_RANK = {
    QuoteStatus.CONFIRMED: 0,
    QuoteStatus.REPORTED: 1,
    QuoteStatus.DENIED: 2,
    QuoteStatus.RETRACTED: 3,
}
TIER_RANK = {
    SourceTier.ON_RECORD: 0,
    SourceTier.OFFICIAL_READOUT: 1,
    SourceTier.PUBLISHED_DOCUMENT: 2,
    SourceTier.ANONYMOUS_OFFICIAL: 3,
    SourceTier.STATE_MEDIA: 4,
    SourceTier.AGGREGATOR: 5,
}

# Inline SVG in the PDF only sees styles inside the SVG itself, so the timeline chart gets its
# own (the same look as the app's stylesheet gives it on screen).
TIMELINE_SVG_STYLE = Markup(
    "<style>"
    "text{font-family:'DejaVu Sans',sans-serif}"
    ".tl-party{font-size:12px;font-weight:bold;fill:#1d2330}"
    ".tl-label{font-size:11px;font-weight:bold;fill:#ffffff}"
    ".tl-tick{font-size:10px;fill:#5b6475}"
    ".tl-axis{stroke:#9aa3b2;stroke-width:1}"
    ".tl-accepts rect:first-of-type{fill:#1c7c43}"
    ".tl-conditional rect:first-of-type{fill:#1f5f99}"
    ".tl-ambiguous rect:first-of-type{fill:#b7860b}"
    ".tl-rejects rect:first-of-type{fill:#a8261f}"
    ".tl-round-name{font-size:10px;font-weight:bold;fill:#4a2d7a}"
    ".tl-round-line{stroke:#4a2d7a;stroke-width:1.2;stroke-dasharray:4 3}"
    "</style>"
)

T = TypeVar("T", Party, Issue)


def _shown(slug: str) -> str:
    return slug if len(slug) <= 40 else slug[:40] + "…"


def _select(known: list[T], slugs: Sequence[str], *, field: str, noun: str) -> list[T]:
    """The known items named by `slugs`, in display order; every slug must be known."""
    if not slugs:
        return known
    by_slug = {item.slug: item for item in known}
    unknown = [slug for slug in slugs if slug not in by_slug]
    if unknown:
        names = ", ".join(f"'{_shown(slug)}'" for slug in unknown[:5])
        choices = ", ".join(list(by_slug)[:30]) + (", …" if len(by_slug) > 30 else "")
        raise InvalidParameter(field, f"unknown {noun} {names}; choose from: {choices}.")
    wanted = set(slugs)
    return [item for item in known if item.slug in wanted]


@dataclass(slots=True)
class PartyStance:
    """One party on one issue in the briefing: its stance, the position's rationale, key quotes."""

    party: Party
    cell: Cell | None
    position: Position | None
    quotes: list[Quote]
    split: list[tuple[Party, Stance]]
    changed: bool
    newest: Quote | None = None
    """The newest quote of the run in force (said by the as-of date, not retracted)."""

    @property
    def top_level(self) -> bool:
        """True for a party that is not a member of a bloc."""
        return self.party.parent_id is None


@dataclass(slots=True)
class IssueSection:
    """One issue: each party's stance with its evidence, and the timeline chart."""

    issue: Issue
    stances: list[PartyStance]
    silent: list[Party]
    timeline: Timeline | None
    """The chart, only when some party's stance changed over time (one run is a sentence)."""
    steady: bool = False
    """True when every party shown has held one stance throughout (so there is no chart)."""


@dataclass(slots=True)
class ChangeItem:
    """A change of stance since the `since` date, with the quote that shows it."""

    change: Change
    party: Party
    issue: Issue
    quote: Quote | None
    quoted_below: bool = False
    """True when the quote is among the key quotes of the issue's section: the change then
    refers to it there instead of printing it a second time."""


@dataclass(slots=True)
class Briefing:
    """Everything the briefing document shows, in the order it shows it."""

    request: BriefingRequest
    generated_at: datetime
    base_url: str | None
    """The site's public address for absolute links (PUBLIC_URL or --base-url); None: paths."""
    matrix: Matrix
    splits: dict[tuple[int, int], list[tuple[Party, Stance]]]
    changes: list[ChangeItem]
    sections: list[IssueSection]
    sources: list[Source] = field(default_factory=list)
    citation_numbers: dict[int, int] = field(default_factory=dict)
    party_count: int = 0
    issue_count: int = 0
    stale_after_days: int = 60
    themes: dict[str, str] = field(default_factory=dict)
    summary: Summary | None = None
    every_party: list[Party] = field(default_factory=list)
    every_issue: list[Issue] = field(default_factory=list)
    """Every party and issue there is (the briefing form's choices)."""
    texts: list[TableText] = field(default_factory=list)
    """The texts on the table (documents in force bearing on the briefing's issues)."""

    @property
    def title(self) -> str:
        """The cover title."""
        return self.request.title

    @property
    def permalink(self) -> str:
        """The link that regenerates this briefing: dates pinned, data as known when generated."""
        query = self.request.query(known_on=self.generated_at.date())
        return f"{(self.base_url or '').rstrip('/')}/briefing?{query}"

    @property
    def permalink_is_path(self) -> bool:
        """True when no public address is known, so the permalink is printed as a path."""
        return not self.base_url

    @property
    def pdf_path(self) -> str:
        """The PDF of the same request (site-relative)."""
        return f"/briefing.pdf?{self.request.query()}"

    @property
    def docx_path(self) -> str:
        """The Word document of the same request (site-relative)."""
        return f"/briefing.docx?{self.request.query()}"

    @property
    def filename(self) -> str:
        """The PDF's file name, e.g. briefing-2025-04-23.pdf."""
        return safe_filename(f"briefing-{self.request.as_of.isoformat()}.pdf")

    @property
    def all_parties(self) -> bool:
        """True when no party filter narrows the briefing."""
        return not self.request.parties

    @property
    def all_issues(self) -> bool:
        """True when no issue filter narrows the briefing."""
        return not self.request.issues

    def cite(self, quote: Quote) -> int:
        """The endnote number of the quote's source."""
        return self.citation_numbers[quote.source_id]

    def cite_source(self, source_id: int) -> int:
        """The endnote number of a source (a document's)."""
        return self.citation_numbers[source_id]

    def split(self, party: Party, issue: Issue) -> list[tuple[Party, Stance]]:
        """A bloc's members with their stances when they hold different stances; else []."""
        return self.splits.get((party.id, issue.id), [])

    def matrix_tables(self) -> list[list[Issue]]:
        """The issues (in theme order) in balanced groups of at most ISSUES_PER_TABLE, one
        landscape table each, so no table is left with a column or two."""
        issues = self.matrix.issues
        if not issues:
            return []
        tables = -(-len(issues) // ISSUES_PER_TABLE)
        size = -(-len(issues) // tables)
        return [issues[i : i + size] for i in range(0, len(issues), size)]

    def theme_groups(self, issues: list[Issue]) -> list[tuple[str, int]]:
        """The theme headings over a table's issues: (title, columns); [] when none has a theme."""
        if not any(issue.theme in self.themes for issue in issues):
            return []
        groups: list[tuple[str, int]] = []
        for issue in issues:
            title = self.themes.get(issue.theme or "", "Other issues")
            if groups and groups[-1][0] == title:
                groups[-1] = (title, groups[-1][1] + 1)
            else:
                groups.append((title, 1))
        return groups

    def agreement(self, issue: Issue) -> str:
        """The issue read across the top-level parties shown (matrix_view's words)."""
        return self.summary.across.agreement[issue.id] if self.summary else "unknown"


def key_quotes(quotes: Iterable[Quote], *, as_of: date, limit: int = KEY_QUOTES) -> list[Quote]:
    """Up to `limit` quotes, strongest then newest first; retracted and later ones left out."""
    usable = [q for q in quotes if q.status != QuoteStatus.RETRACTED and q.said_on <= as_of]
    usable.sort(
        key=lambda q: (
            STATUS_RANK[q.status],
            TIER_RANK[q.source.tier],
            -q.said_on.toordinal(),
            -q.id,
        )
    )
    return usable[:limit]


def newest_quote(quotes: Iterable[Quote], *, as_of: date) -> Quote | None:
    """The newest usable quote (said by `as_of`, not retracted); the strongest among equals."""
    usable = [q for q in quotes if q.status != QuoteStatus.RETRACTED and q.said_on <= as_of]
    return max(usable, key=lambda q: (q.said_on, -STATUS_RANK[q.status], q.id), default=None)


def responses_shown(quote: Quote, *, as_of: date) -> list[Quote]:
    """The confirmations and denials of a quote said by the as-of date."""
    return [r for r in quote.responses if r.said_on <= as_of]


def form_choices(session: Session) -> tuple[list[Party], list[Issue]]:
    """Every party (blocs followed by their members) and every issue, in display order."""
    return catalog.list_parties(session), catalog.list_issues(session)


def round_finder(session: Session) -> FindRound:
    """What parse_form needs to read `since=round:<slug>`: the round's moment, or None."""
    return lambda slug: rounds.moment(session, slug)


def round_choices(session: Session) -> list[tuple[str, str]]:
    """Every round as the briefing form offers it for `since`: (`round:<slug>`, its name)."""
    found = session.execute(
        select(Round.slug, Round.name, Round.starts_on).order_by(Round.starts_on)
    )
    return [(f"round:{slug}", f"{name} ({day:%-d %b %Y})") for slug, name, day in found]


def build_briefing(
    session: Session,
    *,
    request: BriefingRequest,
    generated_at: datetime,
    base_url: str | None,
    stale_after_days: int = 60,
) -> Briefing:
    """Gather the briefing's data; InvalidParameter for an unknown party or issue or bad dates."""
    as_of, known_on, since = request.as_of, request.known_on, request.since
    if since is not None and since >= as_of:
        raise InvalidParameter("since", "must be before the as-of date.")
    every_party, every_issue = form_choices(session)
    parties = _select(every_party, request.parties, field="parties", noun="party")
    issues = _select(every_issue, request.issues, field="issues", noun="issue")
    # A selected bloc's cell can say "split" even when its members are not rows of their own:
    # current_cells brings the members of the blocs it is given.
    row_ids = [p.id for p in parties] if request.parties else None
    issue_ids = [i.id for i in issues] if request.issues else None
    grid = Matrix(
        as_of=as_of,
        known_on=known_on,
        parties=parties,
        issues=issues,
        cells=current_cells(
            session,
            as_of=as_of,
            known_on=known_on,
            stale_after_days=stale_after_days,
            party_ids=row_ids,
            issue_ids=issue_ids,
            parties=every_party,
            issues=issues,
        ),
        since=since,
    )
    # Issues in theme order, as the web matrix groups them; the sections follow the same order.
    themes = list_themes(session)
    grid, _groups = matrix_view.grouped(grid, themes)
    issues = grid.issues
    if since is not None:
        grid.changes = changes_between(
            session,
            since=since,
            until=as_of,
            known_on=known_on,
            party_ids=row_ids,
            issue_ids=issue_ids,
        )
        grid.changed = net_changed_cells(grid.changes)
    splits: dict[tuple[int, int], list[tuple[Party, Stance]]] = {
        key: members
        for key, cell in grid.cells.items()
        if (members := split_members(cell, every_party))
    }

    history = _history_by_issue(
        session, as_of=as_of, known_on=known_on, party_ids=row_ids, issue_ids=issue_ids
    )
    # Key quotes are drawn from the evidence of the whole run in force, not only its latest
    # position: a restatement resting on a press report keeps the minister's earlier words.
    shown_ids = {p.id for p in parties}
    current_runs: dict[tuple[int, int], list[int]] = {}
    for positions in history.values():
        by_cell: dict[tuple[int, int], list[Position]] = {}
        for position in positions:
            if position.party_id in shown_ids:
                by_cell.setdefault((position.party_id, position.issue_id), []).append(position)
        for key, held in by_cell.items():
            cell = grid.cells.get(key)
            if cell is not None and cell.assessed:
                current_runs[key] = [p.id for p in runs_of(held)[-1].positions]
    in_force = _positions_with_evidence(
        session, [pid for ids in current_runs.values() for pid in ids]
    )
    by_party = {p.id: p for p in parties}
    by_issue = {i.id: i for i in issues}
    change_quote = change_quotes(
        session, position_ids=[c.position_id for c in grid.changes], full_citations=True
    )
    briefing = Briefing(
        request=request,
        generated_at=generated_at,
        base_url=base_url,
        matrix=grid,
        splits=splits,
        changes=[
            ChangeItem(
                change=c,
                party=by_party[c.party_id],
                issue=by_issue[c.issue_id],
                quote=change_quote.get(c.position_id),
            )
            for c in grid.changes
        ],
        sections=[],
        party_count=len(parties),
        issue_count=len(issues),
        stale_after_days=stale_after_days,
        themes={t.slug: t.title for t in themes},
        every_party=every_party,
        every_issue=every_issue,
    )
    marks = rounds.on_axis(session, until=as_of) if request.shows("charts") else []
    for issue in issues:
        timeline = build_timeline(
            history.get(issue.id, []), parties=parties, as_of=as_of, rounds=marks
        )
        steady = timeline is not None and all(len(lane.segments) <= 1 for lane in timeline.lanes)
        section = IssueSection(
            issue=issue,
            stances=[],
            silent=[],
            timeline=None if steady or not request.shows("charts") else timeline,
            steady=steady,
        )
        for party in parties:
            key = (party.id, issue.id)
            cell = grid.cells.get(key)
            if cell is None:
                section.silent.append(party)
                continue
            run = [in_force[pid] for pid in current_runs.get(key, []) if pid in in_force]
            evidence = {q.id: q for position in run for q in position.evidence}
            section.stances.append(
                PartyStance(
                    party=party,
                    cell=cell,
                    position=in_force.get(cell.position_id) if cell.position_id else None,
                    quotes=key_quotes(evidence.values(), as_of=as_of),
                    split=splits.get(key, []),
                    changed=grid.has_changed(party, issue),
                    newest=newest_quote(evidence.values(), as_of=as_of),
                )
            )
        briefing.sections.append(section)
    _refer_to_quotes_below(briefing)
    if request.shows("texts"):
        briefing.texts = texts_on_table(
            session, as_of=as_of, known_on=known_on, issue_ids=by_issue, parties=parties
        )
    briefing.summary = build_summary(briefing)
    _number_citations(briefing)
    return briefing


def _refer_to_quotes_below(briefing: Briefing) -> None:
    """Mark the changes whose quote the issue sections print (say each thing once)."""
    if not briefing.request.shows("issues"):
        return
    shown = {
        (section.issue.id, stance.party.id, quote.id)
        for section in briefing.sections
        for stance in section.stances
        for quote in stance.quotes
    }
    for item in briefing.changes:
        item.quoted_below = (
            item.quote is not None and (item.issue.id, item.party.id, item.quote.id) in shown
        )


def quote_anchor(issue: Issue, party: Party, quote: Quote) -> str:
    """The id of a key quote under a party's stance in an issue's section (a quote may be key
    to two issues, or to a bloc and its member)."""
    return f"q-{issue.slug}-{party.slug}-{quote.id}"


def _positions_with_evidence(session: Session, position_ids: list[int]) -> dict[int, Position]:
    """The positions in force, each with its evidence and everything a citation shows."""
    if not position_ids:
        return {}
    stmt = (
        select(Position)
        .where(Position.id.in_(position_ids))
        .options(selectinload(Position.evidence).options(*citation_loading()))
    )
    return {position.id: position for position in session.scalars(stmt)}


def _history_by_issue(
    session: Session,
    *,
    as_of: date,
    known_on: date | None,
    party_ids: list[int] | None,
    issue_ids: list[int] | None,
) -> dict[int, list[Position]]:
    """Every position in force on or before `as_of` (as known on `known_on`), per issue."""
    stmt = select(Position).where(Position.effective_from <= as_of)
    if known_on is not None:
        stmt = stmt.where(Position.recorded_at < known_before(known_on))
    if party_ids is not None:
        stmt = stmt.where(Position.party_id.in_(party_ids))
    if issue_ids is not None:
        stmt = stmt.where(Position.issue_id.in_(issue_ids))
    history: dict[int, list[Position]] = {}
    for position in session.scalars(stmt):
        history.setdefault(position.issue_id, []).append(position)
    return history


def _number_citations(briefing: Briefing) -> None:
    """Number each cited source in the order the document first cites it."""

    def cite_source(source: Source) -> None:
        if source.id not in briefing.citation_numbers:
            briefing.citation_numbers[source.id] = len(briefing.sources) + 1
            briefing.sources.append(source)

    def cite(quote: Quote) -> None:
        cite_source(quote.source)

    # The summary comes first, so its citations take the first numbers.
    for quote in briefing.summary.cited() if briefing.summary else ():
        cite(quote)
    for item in briefing.changes:
        if item.quote is not None:
            cite(item.quote)
            for response in responses_shown(item.quote, as_of=briefing.request.as_of):
                cite(response)
    for text in briefing.texts:
        cite_source(text.document.source)
        for quote in text.cited():
            cite(quote)
    for section in briefing.sections:
        for stance in section.stances:
            for quote in stance.quotes:
                cite(quote)
                for response in responses_shown(quote, as_of=briefing.request.as_of):
                    cite(response)


def document_context(briefing: Briefing, *, preview: bool) -> dict[str, Any]:
    """The context of briefing/document.html: the preview page's, or the PDF engine's.

    For the PDF engine the timeline charts carry their styles inside the SVG (`chart_style`); a
    browser takes them from briefing.css, and the content security policy would refuse an
    inline style.
    """
    return {
        "briefing": briefing,
        "chart_style": None if preview else TIMELINE_SVG_STYLE,
        "agreement_short": matrix_view.AGREEMENT_SHORT,
        "summary_blocks": summary_blocks,
        "preview": preview,
        "responses_shown": responses_shown,
        "reaction_words": reaction_words,
        "quote_anchor": quote_anchor,
    }


def render_html(briefing: Briefing, *, preview: bool) -> str:
    """The briefing document as HTML text (the PDF engine's input; the preview page is the same
    template through templating.render())."""
    return render_text("briefing/document.html", document_context(briefing, preview=preview))


def utc_now() -> datetime:
    """The generation time of a briefing: now, in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)
