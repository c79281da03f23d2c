"""The domain model: parties, issues, speakers, sources, quotes, positions, documents and their
points, rounds, users and the audit log."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    FetchedValue,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base


class PartyKind(enum.StrEnum):
    """What sort of side a party is."""

    STATE = "state"
    BLOC = "bloc"
    INSTITUTION = "institution"


class SourceKind(enum.StrEnum):
    """What sort of publication a source is."""

    NEWS_REPORT = "news_report"
    OFFICIAL_STATEMENT = "official_statement"
    INTERVIEW = "interview"
    DOCUMENT = "document"
    SOCIAL_MEDIA = "social_media"


class SourceTier(enum.StrEnum):
    """How much weight a source carries, from on-record to aggregator."""

    ON_RECORD = "on_record"
    OFFICIAL_READOUT = "official_readout"
    PUBLISHED_DOCUMENT = "published_document"
    ANONYMOUS_OFFICIAL = "anonymous_official"
    STATE_MEDIA = "state_media"
    AGGREGATOR = "aggregator"


class QuoteKind(enum.StrEnum):
    """Whether a quote is someone's own words, a report of them, or a provision of a text."""

    DIRECT = "direct"
    REPORTED = "reported"
    DOCUMENT_PROVISION = "document_provision"


class QuoteStatus(enum.StrEnum):
    """Where a quote stands: reported, confirmed, denied or retracted."""

    REPORTED = "reported"
    CONFIRMED = "confirmed"
    DENIED = "denied"
    RETRACTED = "retracted"


class Stance(enum.StrEnum):
    """A party's stance on an issue's proposition; no position at all is not a stance."""

    ACCEPTS = "accepts"
    CONDITIONAL = "conditional"
    AMBIGUOUS = "ambiguous"
    REJECTS = "rejects"


class Role(enum.StrEnum):
    """What a user may do: editors keep the evidence, admins also manage users and the lists."""

    EDITOR = "editor"
    ADMIN = "admin"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # A VARCHAR with a CHECK constraint on both databases, storing the enum's value.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=max(len(m.value) for m in cls),
        values_callable=lambda e: [m.value for m in e],
    )


class Party(Base):
    """A side in the talks; a bloc can have member parties."""

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[PartyKind] = mapped_column(_enum(PartyKind, "party_kind"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id", ondelete="RESTRICT"))
    sort_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    parent: Mapped[Party | None] = relationship(
        remote_side=[id], back_populates="members", lazy="raise_on_sql"
    )
    members: Mapped[list[Party]] = relationship(
        back_populates="parent", order_by="Party.sort_order", lazy="raise_on_sql"
    )

    __table_args__ = (CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_bloc"),)
    __mapper_args__ = {"version_id_col": version}


class Theme(Base):
    """A heading that groups issues in the matrix (territory, security, economy, process)."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(80))
    sort_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __mapper_args__ = {"version_id_col": version}


class Issue(Base):
    """A term of a settlement, phrased as a proposition a party can accept or reject."""

    __tablename__ = "issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    proposition: Mapped[str] = mapped_column(String(400))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    theme: Mapped[str | None] = mapped_column(String(60), index=True)
    """The slug of the theme it is grouped under (app.services.themes keeps it pointing at one)."""
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __mapper_args__ = {"version_id_col": version}


class Speaker(Base):
    """A person who speaks for a party."""

    __tablename__ = "speakers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200), default="", server_default="")
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="RESTRICT"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    party: Mapped[Party] = relationship(lazy="raise_on_sql")
    aliases: Mapped[list[SpeakerAlias]] = relationship(
        order_by="SpeakerAlias.name", viewonly=True, lazy="raise_on_sql"
    )
    """Read only: app.services.speakers writes the rows (and audits them)."""

    __table_args__ = (UniqueConstraint("party_id", "name"),)
    __mapper_args__ = {"version_id_col": version}


class SpeakerAlias(Base):
    """Another writing of a speaker's name (a transliteration, a spelling the press uses):
    searched like the name, and a new speaker of that name is questioned."""

    __tablename__ = "speaker_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    speaker_id: Mapped[int] = mapped_column(ForeignKey("speakers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("speaker_id", "name"),)


class SpeakerRole(Base):
    """A role a speaker held from a date on, until their next one; a quote shows the role its
    speaker held on the day it was said (kept on the quote as `speaker_role`)."""

    __tablename__ = "speaker_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    speaker_id: Mapped[int] = mapped_column(ForeignKey("speakers.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(200))
    held_from: Mapped[date] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("speaker_id", "held_from"),)


class Source(Base):
    """Where a quote was published."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    outlet: Mapped[str] = mapped_column(String(200))
    published_on: Mapped[date | None] = mapped_column(Date)
    kind: Mapped[SourceKind] = mapped_column(_enum(SourceKind, "source_kind"))
    tier: Mapped[SourceTier] = mapped_column(_enum(SourceTier, "source_tier"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("url LIKE 'http://%' OR url LIKE 'https://%'", name="http_url"),
    )
    __mapper_args__ = {"version_id_col": version}


class QuoteIssue(Base):
    """A quote's tag: the issue it bears on and the stance it signals there."""

    __tablename__ = "quote_issues"

    quote_id: Mapped[int] = mapped_column(
        ForeignKey("quotes.id", ondelete="CASCADE"), primary_key=True
    )
    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="RESTRICT"), primary_key=True
    )
    stance: Mapped[Stance] = mapped_column(_enum(Stance, "stance"))
    # Copies of the quote's, written by triggers (migration 5e1d7a0c3b92) whatever writes: read
    # them in queries (a cell's quotes are one index range), never set them.
    party_id: Mapped[int | None] = mapped_column(
        Integer, server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    said_on: Mapped[date | None] = mapped_column(
        Date, server_default=FetchedValue(), server_onupdate=FetchedValue()
    )

    quote: Mapped[Quote] = relationship(back_populates="issue_tags", lazy="raise_on_sql")
    issue: Mapped[Issue] = relationship(lazy="raise_on_sql")

    __table_args__ = (
        # Newest first within: a cell (issue, party), an issue's stance, an issue.
        Index("ix_quote_issues_cell", "issue_id", "party_id", "said_on", "quote_id"),
        Index("ix_quote_issues_stance", "issue_id", "stance", "said_on", "quote_id"),
        Index("ix_quote_issues_issue_said_on", "issue_id", "said_on", "quote_id"),
    )


class Quote(Base):
    """A piece of evidence: what was said, written or reported, by whom, when and where."""

    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[QuoteKind] = mapped_column(_enum(QuoteKind, "quote_kind"))
    said_on: Mapped[date] = mapped_column(Date)
    published_on: Mapped[date | None] = mapped_column(Date)
    speaker_id: Mapped[int | None] = mapped_column(
        ForeignKey("speakers.id", ondelete="RESTRICT"), index=True
    )
    speaker_role: Mapped[str | None] = mapped_column(String(200))
    """The role the speaker held when it was said (from speaker_roles); None: their one role."""
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="RESTRICT"))
    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="RESTRICT"), index=True
    )
    language: Mapped[str] = mapped_column(String(12), default="en", server_default="en")
    is_translation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[QuoteStatus] = mapped_column(_enum(QuoteStatus, "quote_status"))
    confirms_or_denies_id: Mapped[int | None] = mapped_column(
        ForeignKey("quotes.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("rounds.id", ondelete="SET NULL"), index=True
    )
    """The round of talks it was said (or written) at, if any."""
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    speaker: Mapped[Speaker | None] = relationship(lazy="raise_on_sql")
    party: Mapped[Party] = relationship(lazy="raise_on_sql")
    source: Mapped[Source] = relationship(lazy="raise_on_sql")
    round: Mapped[Round | None] = relationship(lazy="raise_on_sql")
    issue_tags: Mapped[list[QuoteIssue]] = relationship(
        back_populates="quote", cascade="all, delete-orphan", lazy="raise_on_sql"
    )
    confirms_or_denies: Mapped[Quote | None] = relationship(
        remote_side=[id], back_populates="responses", lazy="raise_on_sql"
    )
    responses: Mapped[list[Quote]] = relationship(
        back_populates="confirms_or_denies", order_by="Quote.said_on", lazy="raise_on_sql"
    )

    @property
    def role_then(self) -> str:
        """The role its speaker held when it was said (dated roles), else their one role;
        "" without a speaker. Needs `speaker` loaded."""
        if self.speaker_role is not None:
            return self.speaker_role
        return self.speaker.role if self.speaker_id is not None and self.speaker else ""

    __table_args__ = (
        CheckConstraint("published_on IS NULL OR published_on >= said_on", name="published_after"),
        CheckConstraint(
            "confirms_or_denies_id IS NULL OR confirms_or_denies_id <> id", name="not_own_response"
        ),
        # Covering on PostgreSQL: counting a cell's unassessed quotes reads no quote row.
        Index(
            "ix_quotes_party_id_said_on",
            "party_id",
            "said_on",
            postgresql_include=["id", "status"],
        ),
        Index("ix_quotes_said_on", "said_on"),
    )
    __mapper_args__ = {"version_id_col": version}


class PositionEvidence(Base):
    """A quote that a position cites as evidence."""

    __tablename__ = "position_evidence"

    position_id: Mapped[int] = mapped_column(
        ForeignKey("positions.id", ondelete="CASCADE"), primary_key=True
    )
    # RESTRICT: a quote a position cites cannot be deleted; it can be retracted.
    quote_id: Mapped[int] = mapped_column(
        ForeignKey("quotes.id", ondelete="RESTRICT"), primary_key=True, index=True
    )


class Position(Base):
    """An editor's assessment that a party holds a stance on an issue from a date on."""

    __tablename__ = "positions"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="RESTRICT"))
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="RESTRICT"))
    stance: Mapped[Stance] = mapped_column(_enum(Stance, "stance"))
    condition: Mapped[str | None] = mapped_column(Text)
    effective_from: Mapped[date] = mapped_column(Date)
    rationale: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("rounds.id", ondelete="SET NULL"), index=True
    )
    """The round of talks the party took this stance at, if any."""
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    party: Mapped[Party] = relationship(lazy="raise_on_sql")
    issue: Mapped[Issue] = relationship(lazy="raise_on_sql")
    recorded_by: Mapped[User | None] = relationship(lazy="raise_on_sql")
    round: Mapped[Round | None] = relationship(lazy="raise_on_sql")
    evidence: Mapped[list[Quote]] = relationship(
        secondary="position_evidence", order_by="Quote.said_on.desc()", lazy="raise_on_sql"
    )

    __table_args__ = (
        CheckConstraint(
            "(stance = 'conditional' AND condition IS NOT NULL AND condition <> '')"
            " OR (stance <> 'conditional' AND condition IS NULL)",
            name="condition_iff_conditional",
        ),
        # The as-of lookup: latest effective_from (then recorded_at) per party and issue.
        Index("ix_positions_cell_as_of", "party_id", "issue_id", "effective_from", "recorded_at"),
        Index("ix_positions_issue_id", "issue_id"),
        Index("ix_positions_effective_from", "effective_from"),
    )
    __mapper_args__ = {"version_id_col": version}


class PositionRun(Base):
    """A position with what the matrix shows while it is the one in force: its run's start and
    the run's evidence up to it (app.services.position_runs keeps these in step)."""

    __tablename__ = "position_runs"

    position_id: Mapped[int] = mapped_column(
        ForeignKey("positions.id", ondelete="CASCADE"), primary_key=True
    )
    party_id: Mapped[int] = mapped_column(Integer)
    issue_id: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stance: Mapped[Stance] = mapped_column(_enum(Stance, "stance"))
    condition: Mapped[str | None] = mapped_column(Text)
    run_start: Mapped[date] = mapped_column(Date)
    evidence_count: Mapped[int] = mapped_column(Integer)
    latest_evidence_on: Mapped[date | None] = mapped_column(Date)
    confirmed: Mapped[int] = mapped_column(Integer)
    denied: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # As of a day: the latest row on or before it per party and issue, one probe a cell.
        Index(
            "ix_position_runs_cell_as_of",
            "party_id",
            "issue_id",
            "effective_from",
            "recorded_at",
            "position_id",
        ),
    )


class User(Base):
    """Someone who logs in: an editor or an admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class AuditEntry(Base):
    """Who changed what, when: written in the same transaction as the change, never edited."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(20))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(80))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    actor: Mapped[User | None] = relationship(lazy="raise_on_sql")

    __table_args__ = (
        CheckConstraint("action IN ('create', 'update', 'delete')", name="action"),
        Index("ix_audit_entries_entity", "entity_type", "entity_id"),
        Index("ix_audit_entries_at", "at"),
    )


class UserSession(Base):
    """A logged-in browser: the cookie carries a signed random id, the table keeps only its hash."""

    __tablename__ = "user_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="raise_on_sql")


class LoginAttempt(Base):
    """A failed login, kept for a while to throttle guessing per account and per client address."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_client_at", "client", "at"),
    )


class DataVersion(Base):
    """SQLite's data version: one row, bumped inside every commit that changes what views show
    (caches key on it). On PostgreSQL the sequence data_version_seq holds the version instead
    and this table is empty (app.services.versioning)."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# --- Texts tabled in the talks and the meetings that move them --------------------------------


class DocumentKind(enum.StrEnum):
    """What sort of text a document is."""

    PLAN = "plan"
    DRAFT = "draft"
    COUNTER_PROPOSAL = "counter_proposal"
    MEMORANDUM = "memorandum"
    JOINT_STATEMENT = "joint_statement"
    AGREEMENT = "agreement"


class DocumentStatus(enum.StrEnum):
    """Where a document stands in the talks."""

    REPORTED = "reported"
    LEAKED = "leaked"
    PUBLISHED = "published"
    AGREED = "agreed"
    SIGNED = "signed"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


class PartyRole(enum.StrEnum):
    """How a party stands behind a document: it wrote it or it endorses it."""

    AUTHORING = "authoring"
    ENDORSING = "endorsing"


class PointRelation(enum.StrEnum):
    """How a point of a version relates to its predecessor's points."""

    KEPT = "kept"
    CHANGED = "changed"
    MERGED = "merged"
    SPLIT = "split"
    NEW = "new"


class RoundFormat(enum.StrEnum):
    """How a meeting in the talks was held."""

    BILATERAL = "bilateral"
    TRILATERAL = "trilateral"
    SUMMIT = "summit"
    TECHNICAL = "technical"
    SHUTTLE = "shuttle"


class Document(Base):
    """A text tabled in the talks (plan, draft, counter-proposal, ...); its points are quotes."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[DocumentKind] = mapped_column(_enum(DocumentKind, "document_kind"))
    status: Mapped[DocumentStatus] = mapped_column(_enum(DocumentStatus, "document_status"))
    confirmation: Mapped[QuoteStatus] = mapped_column(_enum(QuoteStatus, "confirmation"))
    """Whether the text we hold is confirmed: the status its points carry as quotes."""
    tabled_on: Mapped[date] = mapped_column(Date)
    public_on: Mapped[date | None] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(12), default="en", server_default="en")
    is_translation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    derived_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="RESTRICT"), index=True
    )
    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="RESTRICT"), index=True
    )
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    source: Mapped[Source] = relationship(lazy="raise_on_sql")
    derived_from: Mapped[Document | None] = relationship(remote_side=[id], lazy="raise_on_sql")
    parties: Mapped[list[DocumentParty]] = relationship(
        cascade="all, delete-orphan", lazy="raise_on_sql"
    )
    points: Mapped[list[DocumentPoint]] = relationship(
        back_populates="document",
        order_by="DocumentPoint.position",
        cascade="all, delete-orphan",
        lazy="raise_on_sql",
    )

    __table_args__ = (
        CheckConstraint("public_on IS NULL OR public_on >= tabled_on", name="public_after"),
        CheckConstraint(
            "derived_from_id IS NULL OR derived_from_id <> id", name="not_own_predecessor"
        ),
    )
    __mapper_args__ = {"version_id_col": version}


class DocumentParty(Base):
    """A party behind a document, as its author or as one endorsing it."""

    __tablename__ = "document_parties"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    party_id: Mapped[int] = mapped_column(
        ForeignKey("parties.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    role: Mapped[PartyRole] = mapped_column(_enum(PartyRole, "party_role"))

    party: Mapped[Party] = relationship(lazy="raise_on_sql")


class DocumentPoint(Base):
    """A numbered provision of a document: its label and place; its text and tags are its quote."""

    __tablename__ = "document_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    # RESTRICT: the quote is the point's evidence; it goes only with its document's point.
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="RESTRICT"), unique=True)
    label: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)

    document: Mapped[Document] = relationship(back_populates="points", lazy="raise_on_sql")
    quote: Mapped[Quote] = relationship(lazy="raise_on_sql")

    __table_args__ = (UniqueConstraint("document_id", "position"),)


class PointMapping(Base):
    """A point's line to its predecessor's point (kept, changed, merged, split), or `new`."""

    __tablename__ = "point_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(
        ForeignKey("document_points.id", ondelete="CASCADE"), index=True
    )
    predecessor_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_points.id", ondelete="CASCADE"), index=True
    )
    relation: Mapped[PointRelation] = mapped_column(_enum(PointRelation, "point_relation"))

    __table_args__ = (
        UniqueConstraint("point_id", "predecessor_point_id"),
        CheckConstraint(
            "(relation = 'new') = (predecessor_point_id IS NULL)", name="new_iff_no_predecessor"
        ),
    )


class DocumentReaction(Base):
    """A quote that reacts to a document, or to one of its points."""

    __tablename__ = "document_reactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    point_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_points.id", ondelete="CASCADE"), index=True
    )
    stance: Mapped[Stance | None] = mapped_column(_enum(Stance, "stance"))
    """Whether the quote accepts or rejects the text (or the point); None: it only comments."""

    quote: Mapped[Quote] = relationship(lazy="raise_on_sql")

    __table_args__ = (UniqueConstraint("quote_id", "document_id", "point_id"),)


class Round(Base):
    """A meeting in the talks: when, where, in what format, who came, what came of it."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date, index=True)
    ends_on: Mapped[date] = mapped_column(Date)
    venue: Mapped[str] = mapped_column(String(200), default="", server_default="")
    format: Mapped[RoundFormat] = mapped_column(_enum(RoundFormat, "round_format"))
    outcome: Mapped[str] = mapped_column(Text, default="", server_default="")
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("sources.id", ondelete="RESTRICT"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    source: Mapped[Source | None] = relationship(lazy="raise_on_sql")
    parties: Mapped[list[RoundParty]] = relationship(
        cascade="all, delete-orphan", lazy="raise_on_sql"
    )
    documents: Mapped[list[Document]] = relationship(
        secondary="round_documents", order_by="Document.tabled_on", lazy="raise_on_sql"
    )

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ends_after_start"),)
    __mapper_args__ = {"version_id_col": version}


class RoundParty(Base):
    """A party at a round, with its delegation (names, as the reports give them)."""

    __tablename__ = "round_parties"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    party_id: Mapped[int] = mapped_column(
        ForeignKey("parties.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    delegation: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    """A note on the delegation: the people not (yet) known as speakers."""

    party: Mapped[Party] = relationship(lazy="raise_on_sql")
    delegates: Mapped[list[RoundDelegate]] = relationship(
        cascade="all, delete-orphan", lazy="raise_on_sql"
    )


class RoundDelegate(Base):
    """A known speaker in a party's delegation at a round."""

    __tablename__ = "round_delegates"

    round_id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(primary_key=True)
    speaker_id: Mapped[int] = mapped_column(
        ForeignKey("speakers.id", ondelete="RESTRICT"), primary_key=True, index=True
    )

    speaker: Mapped[Speaker] = relationship(lazy="raise_on_sql")

    # To the party's place at the round, so a delegate cannot outlive it.
    __table_args__ = (
        ForeignKeyConstraint(
            ["round_id", "party_id"],
            ["round_parties.round_id", "round_parties.party_id"],
            ondelete="CASCADE",
        ),
    )


class RoundDocument(Base):
    """A document tabled at a round."""

    __tablename__ = "round_documents"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
