"""Loading data files (the seeds, later imports) through the same service functions the app uses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from sqlalchemy.orm import Session

from app.models import (
    Issue,
    Party,
    PartyKind,
    Quote,
    QuoteKind,
    QuoteStatus,
    Source,
    SourceKind,
    SourceTier,
    Speaker,
    Stance,
)
from app.services import catalog, positions, quotes
from app.services.errors import ValidationFailed

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=60)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartyRow(_Row):
    """A party as written in a data file."""

    slug: Slug
    name: Name
    short_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
    ]
    kind: PartyKind
    parent: Slug | None = None
    sort_order: int = 0


class IssueRow(_Row):
    """An issue as written in a data file."""

    slug: Slug
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    proposition: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)
    ]
    description: str = ""
    sort_order: int = 0


class SpeakerRow(_Row):
    """A speaker as written in a data file."""

    name: Name
    role: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    party: Slug


class SourceRow(_Row):
    """A source as written in a data file."""

    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    outlet: Name
    published_on: date | None = None
    kind: SourceKind
    tier: SourceTier

    @field_validator("url")
    @classmethod
    def _http_only(cls, url: str) -> str:
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError("only http:// and https:// URLs are accepted")
        return url


class TagRow(_Row):
    """One issue tag of a quote, with the stance it signals."""

    issue: Slug
    stance: Stance


class QuoteRow(_Row):
    """A quote as written in a data file; `ref` names it for positions and responses in the file."""

    ref: str | None = None
    text: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=quotes.MAX_QUOTE_LENGTH),
    ]
    kind: QuoteKind
    said_on: date
    published_on: date | None = None
    speaker: Name | None = None
    party: Slug
    source: str
    language: Annotated[str, StringConstraints(min_length=2, max_length=12)] = "en"
    translated: bool = False
    status: QuoteStatus
    confirms_or_denies: str | None = None
    note: str | None = None
    issues: list[TagRow] = Field(default_factory=list)

    @model_validator(mode="after")
    def _published_after_said(self) -> QuoteRow:
        if self.published_on is not None and self.published_on < self.said_on:
            raise ValueError("published_on cannot be before said_on")
        if len({t.issue for t in self.issues}) != len(self.issues):
            raise ValueError("each issue can be tagged once")
        return self


class PositionRow(_Row):
    """A position as written in a data file; `evidence` lists quote refs."""

    party: Slug
    issue: Slug
    stance: Stance
    condition: str | None = None
    effective_from: date
    rationale: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    evidence: list[str] = Field(min_length=1)
    recorded_at: datetime | None = None

    @model_validator(mode="after")
    def _condition_iff_conditional(self) -> PositionRow:
        has_condition = bool((self.condition or "").strip())
        if self.stance == Stance.CONDITIONAL and not has_condition:
            raise ValueError("a conditional stance needs its condition")
        if self.stance != Stance.CONDITIONAL and has_condition:
            raise ValueError("only a conditional stance has a condition")
        return self


class DataFile(_Row):
    """One data file: any of the six lists, loaded in dependency order."""

    parties: list[PartyRow] = Field(default_factory=list)
    issues: list[IssueRow] = Field(default_factory=list)
    speakers: list[SpeakerRow] = Field(default_factory=list)
    sources: list[SourceRow] = Field(default_factory=list)
    quotes: list[QuoteRow] = Field(default_factory=list)
    positions: list[PositionRow] = Field(default_factory=list)


def read_seed_files(directory: Path) -> list[DataFile]:
    """Parse every *.yaml file in `directory`, in name order."""
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    return [
        DataFile.model_validate(yaml.safe_load(path.read_text("utf-8")) or {}) for path in files
    ]


class _Loader:
    """Resolves references across files and creates what is missing, counting what it added."""

    def __init__(self, session: Session, progress: Callable[[int], None] | None = None) -> None:
        self.session = session
        self.progress = progress or (lambda _n: None)
        self.added: Counter[str] = Counter()
        self.parties: dict[str, Party] = {}
        self.issues: dict[str, Issue] = {}
        self.sources: dict[str, Source] = {}
        self.refs: dict[str, Quote] = {}

    def party(self, slug: str, where: str) -> Party:
        if slug not in self.parties:
            try:
                self.parties[slug] = catalog.get_party(self.session, slug=slug)
            except LookupError:
                raise ValidationFailed({where: f"unknown party '{slug}'"}) from None
        return self.parties[slug]

    def issue(self, slug: str, where: str) -> Issue:
        if slug not in self.issues:
            try:
                self.issues[slug] = catalog.get_issue(self.session, slug=slug)
            except LookupError:
                raise ValidationFailed({where: f"unknown issue '{slug}'"}) from None
        return self.issues[slug]

    def source(self, url: str, where: str) -> Source:
        if url not in self.sources:
            found = catalog.find_source(self.session, url=url)
            if found is None:
                raise ValidationFailed({where: f"unknown source '{url}'"})
            self.sources[url] = found
        return self.sources[url]

    def speaker(self, party: Party, name: str, where: str) -> Speaker:
        found = catalog.find_speaker(self.session, party=party, name=name)
        if found is None:
            raise ValidationFailed({where: f"unknown speaker '{name}' of party '{party.slug}'"})
        return found

    def load(self, data: DataFile) -> None:
        session = self.session
        for row in data.parties:
            if catalog.find_party(session, slug=row.slug) is None:
                parent = self.party(row.parent, "parties.parent") if row.parent else None
                catalog.create_party(
                    session,
                    actor=None,
                    slug=row.slug,
                    name=row.name,
                    short_name=row.short_name,
                    kind=row.kind,
                    parent=parent,
                    sort_order=row.sort_order,
                )
                self.added["parties"] += 1
        for issue_row in data.issues:
            if catalog.find_issue(session, slug=issue_row.slug) is None:
                catalog.create_issue(
                    session,
                    actor=None,
                    slug=issue_row.slug,
                    title=issue_row.title,
                    proposition=issue_row.proposition,
                    description=issue_row.description,
                    sort_order=issue_row.sort_order,
                )
                self.added["issues"] += 1
        for speaker_row in data.speakers:
            party = self.party(speaker_row.party, "speakers.party")
            if catalog.find_speaker(session, party=party, name=speaker_row.name) is None:
                catalog.create_speaker(
                    session, actor=None, party=party, name=speaker_row.name, role=speaker_row.role
                )
                self.added["speakers"] += 1
        for source_row in data.sources:
            if catalog.find_source(session, url=source_row.url) is None:
                catalog.create_source(
                    session,
                    actor=None,
                    url=source_row.url,
                    title=source_row.title,
                    outlet=source_row.outlet,
                    published_on=source_row.published_on,
                    kind=source_row.kind,
                    tier=source_row.tier,
                )
                self.added["sources"] += 1
        pending_responses: list[tuple[Quote, str]] = []
        for quote_row in data.quotes:
            self._load_quote(quote_row, pending_responses)
            self.progress(1)
        for quote, ref in pending_responses:
            target = self.refs.get(ref)
            if target is None:
                raise ValidationFailed({"quotes.confirms_or_denies": f"unknown quote ref '{ref}'"})
            quote.confirms_or_denies_id = target.id
        session.flush()
        for position_row in data.positions:
            self._load_position(position_row)
            self.progress(1)

    def _load_quote(self, row: QuoteRow, pending: list[tuple[Quote, str]]) -> None:
        party = self.party(row.party, "quotes.party")
        source = self.source(row.source, "quotes.source")
        speaker = self.speaker(party, row.speaker, "quotes.speaker") if row.speaker else None
        quote = quotes.find_quote(
            self.session, source=source, speaker=speaker, said_on=row.said_on, text=row.text
        )
        if quote is None:
            quote = quotes.create_quote(
                self.session,
                actor=None,
                text=row.text,
                kind=row.kind,
                said_on=row.said_on,
                published_on=row.published_on,
                party=party,
                source=source,
                speaker=speaker,
                language=row.language,
                is_translation=row.translated,
                status=row.status,
                note=row.note or "",
                tags=[(self.issue(t.issue, "quotes.issues"), t.stance) for t in row.issues],
            )
            self.added["quotes"] += 1
            if row.confirms_or_denies:
                pending.append((quote, row.confirms_or_denies))
        if row.ref:
            if row.ref in self.refs:
                raise ValidationFailed({"quotes.ref": f"duplicate ref '{row.ref}'"})
            self.refs[row.ref] = quote

    def _load_position(self, row: PositionRow) -> None:
        party = self.party(row.party, "positions.party")
        issue = self.issue(row.issue, "positions.issue")
        existing = positions.find_position(
            self.session,
            party=party,
            issue=issue,
            stance=row.stance,
            effective_from=row.effective_from,
        )
        if existing is not None:
            return
        evidence = []
        for ref in row.evidence:
            if ref not in self.refs:
                raise ValidationFailed({"positions.evidence": f"unknown quote ref '{ref}'"})
            evidence.append(self.refs[ref])
        positions.record_position(
            self.session,
            actor=None,
            party=party,
            issue=issue,
            stance=row.stance,
            condition=row.condition,
            effective_from=row.effective_from,
            rationale=row.rationale,
            evidence=evidence,
            recorded_at=row.recorded_at,
        )
        self.added["positions"] += 1


def load(
    session: Session, files: list[DataFile], progress: Callable[[int], None] | None = None
) -> Counter[str]:
    """Create whatever the files hold that the database lacks; returns counts of what was added."""
    loader = _Loader(session, progress)
    for data in files:
        loader.load(data)
    session.flush()
    return loader.added


def load_seeds(session: Session, directory: Path) -> Counter[str]:
    """Load the seed files of `directory` (idempotent: a second run adds nothing)."""
    return load(session, read_seed_files(directory))
