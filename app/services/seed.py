"""Data files (the seeds, imports): their rows, held to the forms' rules, and loading the seeds.

Every field of a row is checked by the rule its form applies (app.forms and the form models of
the services): the same lengths, the same date range (and no future date where the form refuses
one), no control characters, the same messages. app.services.bulk writes the rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from sqlalchemy.orm import Session

from app.forms import (
    MAX_ALIASES,
    MAX_CONDITION,
    MAX_EVIDENCE,
    MAX_NAME,
    MAX_NOTE,
    MAX_QUOTE_LENGTH,
    MAX_RATIONALE,
    MAX_SOURCE_TITLE,
    MAX_TAGS,
    MAX_URL,
    Day,
    DocumentHead,
    Language,
    OptionalDay,
    WebAddress,
    condition_problem,
    out_of_range,
    text_field,
)
from app.models import (
    PartyKind,
    PartyRole,
    PointRelation,
    QuoteKind,
    QuoteStatus,
    RoundFormat,
    SourceKind,
    SourceTier,
    Stance,
)
from app.services.bulk import SECTIONS, Loader

# ---------------------------------------------------------------------------------------------
# Reading YAML


class _YamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (libyaml's when present), leaving dates as text."""


# A date is read as text and parsed by its row's model, so that an impossible one (2025-02-30)
# is an error at its row, not one that fails the whole file with no place named.
_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(text: str) -> Any:
    """Parse YAML text safely, dates left as text (yaml.YAMLError when it is not YAML)."""
    return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a safe loader


# ---------------------------------------------------------------------------------------------
# Rows

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=60)]
Name = Annotated[str, text_field(MAX_NAME, required=True, directional=False)]
Ref = Annotated[str, text_field(200, required=True, directional=False)]
"""A quote's name within a file, for the positions and responses that cite it."""
SortOrder = Annotated[int, Field(ge=-999_999_999, le=999_999_999)]
"""A place in the lists, as the forms take it: at most nine digits."""


def _recorded_in_the_past(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    # Stored as UTC (SQLite keeps no offset); a time without an offset is taken as UTC.
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    problem = out_of_range(value.date())
    if problem:
        raise ValueError(problem)
    if value > datetime.now(UTC):
        raise ValueError(
            f"{value.isoformat()} is in the future: a recording date says when a position"
            " was learnt, so it cannot be later than now"
        )
    return value


def _cited_quotes(refs: list[str]) -> list[str]:
    if not refs:
        raise ValueError("Cite at least one quote.")
    if len(refs) > MAX_EVIDENCE:
        raise ValueError(f"Cite at most {MAX_EVIDENCE} quotes.")
    return refs


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartyRow(_Row):
    """A party as written in a data file."""

    slug: Slug
    name: Name
    short_name: Annotated[str, text_field(40, required=True, directional=False)]
    kind: PartyKind
    parent: Slug | None = None
    sort_order: SortOrder = 0


class ThemeRow(_Row):
    """A theme (a heading grouping issues in the matrix) as written in a data file."""

    slug: Slug
    title: Annotated[str, text_field(80, required=True)]
    sort_order: SortOrder = 0


class IssueRow(_Row):
    """An issue as written in a data file."""

    slug: Slug
    title: Annotated[str, text_field(120, required=True)]
    proposition: Annotated[str, text_field(400, required=True)]
    description: Annotated[str, text_field(5000)] = ""
    sort_order: SortOrder = 0
    theme: Slug | None = None


MAX_ROLES = 100
"""Dated roles a speaker may have in a data file: a career, not a log."""


class RoleRow(_Row):
    """A role a speaker held from a date on (no date: before their first dated role)."""

    role: Annotated[str, text_field(MAX_NAME)]
    held_from: OptionalDay = None


class SpeakerRow(_Row):
    """A speaker as written in a data file; `roles` dates the roles they held (their quotes
    show the one held when said), `role` is the one they hold now."""

    name: Name
    role: Annotated[str, text_field(MAX_NAME)] = ""
    party: Slug
    aliases: Annotated[list[Name], Field(max_length=MAX_ALIASES)] = []
    roles: Annotated[list[RoleRow], Field(max_length=MAX_ROLES)] = []

    @model_validator(mode="after")
    def _one_role_a_day(self) -> SpeakerRow:
        days = [row.held_from for row in self.roles]
        if len(set(days)) != len(days):
            raise ValueError("each held_from can start one role (and one role may have none)")
        return self


class SourceRow(_Row):
    """A source as written in a data file."""

    url: WebAddress
    title: Annotated[str, text_field(MAX_SOURCE_TITLE, required=True)]
    outlet: Name
    published_on: OptionalDay = None
    kind: SourceKind
    tier: SourceTier


class TagRow(_Row):
    """One issue tag of a quote, with the stance it signals."""

    issue: Slug
    stance: Stance


class QuoteRow(_Row):
    """A quote as written in a data file; `ref` names it for positions and responses in the file."""

    ref: Ref | None = None
    text: Annotated[str, text_field(MAX_QUOTE_LENGTH, required=True)]
    kind: QuoteKind
    said_on: Day
    published_on: OptionalDay = None
    speaker: Name | None = None
    party: Slug
    source: Annotated[str, text_field(MAX_URL, required=True, directional=False)]
    language: Language = "en"
    translated: bool = False
    status: QuoteStatus
    confirms_or_denies: Ref | None = None
    note: Annotated[str, text_field(MAX_NOTE)] | None = None
    round: Slug | None = None
    """The round of talks it was said at (a round of the database or of the file), by slug."""
    issues: list[TagRow] = Field(default_factory=list, max_length=MAX_TAGS)

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
    condition: Annotated[str, text_field(MAX_CONDITION)] | None = None
    effective_from: Day
    rationale: Annotated[str, text_field(MAX_RATIONALE, required=True)]
    evidence: Annotated[list[Ref], AfterValidator(_cited_quotes)]
    recorded_at: Annotated[datetime | None, AfterValidator(_recorded_in_the_past)] = None
    """When the position was recorded, for an archive's own rows (default: when it is loaded)."""
    round: Slug | None = None
    """The round of talks the stance was taken at, by slug."""

    @model_validator(mode="after")
    def _condition_iff_conditional(self) -> PositionRow:
        problem = condition_problem(self.stance, self.condition)
        if problem:
            raise ValueError(problem)
        return self


class DocumentPartyRow(_Row):
    """A party behind a document and its part (authoring or endorsing)."""

    party: Slug
    role: PartyRole


class PointRow(_Row):
    """A point of a document: its label as printed and the quote (by ref) that is its text; in
    a version, the predecessor's points it continues (by label) and how."""

    label: Annotated[str, text_field(40, required=True)]
    quote: Ref
    maps_to: list[Annotated[str, text_field(40, required=True)]] = Field(
        default_factory=list, max_length=50
    )
    relation: PointRelation | None = None

    @model_validator(mode="after")
    def _relation_iff_mapped(self) -> PointRow:
        if self.relation is not None and (self.relation == PointRelation.NEW) != (not self.maps_to):
            raise ValueError("a new point maps to no predecessor point; any other relation does")
        return self


class ReactionRow(_Row):
    """A quote (by ref) reacting to the document, or to one of its points (by label)."""

    quote: Ref
    point: Annotated[str, text_field(40)] | None = None
    stance: Stance | None = None


class DocumentRow(_Row, DocumentHead):
    """A document as written in a data file: its points are quotes of the file, by ref."""

    translated: bool = False
    derived_from: Slug | None = None
    source: Annotated[str, text_field(MAX_URL, required=True, directional=False)]
    note: Annotated[str, text_field(MAX_NOTE)] | None = None
    parties: list[DocumentPartyRow] = Field(min_length=1, max_length=50)
    points: list[PointRow] = Field(default_factory=list, max_length=400)
    reactions: list[ReactionRow] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> DocumentRow:
        if self.public_on is not None and self.public_on < self.tabled_on:
            raise ValueError("public_on cannot be before tabled_on")
        if not any(p.role == PartyRole.AUTHORING for p in self.parties):
            raise ValueError("name at least one authoring party")
        if len({p.party for p in self.parties}) != len(self.parties):
            raise ValueError("each party can be named once")
        if len({p.label for p in self.points}) != len(self.points):
            raise ValueError("each point label can be used once")
        return self


class RoundPartyRow(_Row):
    """A party at a round, with its delegation (a note, and its known speakers)."""

    party: Slug
    delegation: Annotated[str, text_field(1000)] = ""
    delegates: list[Annotated[str, text_field(200, required=True)]] = Field(
        default_factory=list, max_length=100
    )
    """The known speakers in the delegation, by name (speakers of this party)."""


class RoundRow(_Row):
    """A round of talks as written in a data file."""

    slug: Slug
    name: Annotated[str, text_field(200, required=True)]
    starts_on: Day
    ends_on: Day
    venue: Annotated[str, text_field(200)] = ""
    format: RoundFormat
    outcome: Annotated[str, text_field(MAX_NOTE)] = ""
    source: Annotated[str, text_field(MAX_URL, directional=False)] | None = None
    parties: list[RoundPartyRow] = Field(default_factory=list, max_length=50)
    documents: list[Slug] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _ends_after_start(self) -> RoundRow:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on cannot be before starts_on")
        return self


class DataFile(_Row):
    """One data file: any of the nine lists, loaded in dependency order."""

    themes: list[ThemeRow] = Field(default_factory=list)
    parties: list[PartyRow] = Field(default_factory=list)
    issues: list[IssueRow] = Field(default_factory=list)
    speakers: list[SpeakerRow] = Field(default_factory=list)
    sources: list[SourceRow] = Field(default_factory=list)
    quotes: list[QuoteRow] = Field(default_factory=list)
    positions: list[PositionRow] = Field(default_factory=list)
    documents: list[DocumentRow] = Field(default_factory=list)
    rounds: list[RoundRow] = Field(default_factory=list)


def read_seed_files(directory: Path) -> list[DataFile]:
    """Parse every *.yaml file in `directory`, in name order."""
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    return [DataFile.model_validate(read_yaml(path.read_text("utf-8")) or {}) for path in files]


def load(
    session: Session, files: list[DataFile], progress: Callable[[int], None] | None = None
) -> Counter[str]:
    """Create whatever the files hold that the database lacks; returns counts of what was added."""
    loader = Loader(session, progress)
    for data in files:
        loader.sections(
            {
                name: [((name, n), row) for n, row in enumerate(getattr(data, name), start=1)]
                for name in SECTIONS
            }
        )
    return loader.counts


def load_seeds(session: Session, directory: Path) -> Counter[str]:
    """Load the seed files of `directory` (idempotent: a second run adds nothing)."""
    return load(session, read_seed_files(directory))
