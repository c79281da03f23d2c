"""Every form's input model and its parsing: the quote, position and admin forms.

Rules that need the database (a party exists, a slug is free) live in the services and report
through the same {field: message} map (ValidationFailed)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from app.forms.fields import (
    MAX_CONDITION,
    MAX_EVIDENCE,
    MAX_NAME,
    MAX_NOTE,
    MAX_QUOTE_LENGTH,
    MAX_RATIONALE,
    MAX_SOURCE_TITLE,
    MAX_TAGS,
    MAX_URL,
    Checkbox,
    ChosenSlug,
    Day,
    Language,
    Name,
    OptionalDay,
    OptionalQuoteStatus,
    OptionalSlug,
    OptionalSortOrder,
    OptionalSourceKind,
    OptionalSourceTier,
    Password,
    QuoteId,
    Slug,
    SortOrder,
    SpeakerId,
    WebAddress,
    blank_to_none,
    checkbox,
    condition_problem,
    day_in_range,
    hidden_character_problem,
    parse_form,
    text_field,
    whole_number,
)
from app.models import PartyKind, QuoteKind, Role, SourceKind, SourceTier, Stance
from app.services.errors import ValidationFailed

# --- The quote form --------------------------------------------------------------------------

__all__ = [
    "MAX_ALIASES",
    "alias_lines",
    "IssueForm",
    "NewIssueForm",
    "NewThemeForm",
    "ThemeForm",
    "NewPartyForm",
    "NewUserForm",
    "PartyForm",
    "PasswordForm",
    "PositionInput",
    "QUOTE_FIELD_LABELS",
    "POSITION_FIELD_LABELS",
    "QuoteInput",
    "SourceForm",
    "SpeakerForm",
    "TAG_FIELD",
    "TagInput",
    "UserForm",
    "parse_position_form",
    "parse_quote_form",
    "parse_tags",
    "tag_numbers",
]

TAG_FIELD = re.compile(r"(issue|stance)_([0-9]{1,3})")
"""An Issue + Stance pair's fields: issue_1, stance_1, issue_2, ..."""


@dataclass(slots=True, frozen=True)
class TagInput:
    """One Issue + Stance pair of the form; `n` is its number in the field names (issue_n)."""

    n: int
    issue_slug: str
    stance: Stance


class QuoteInput(BaseModel):
    """What the add and edit quote forms send, each field parsed; unknown fields are ignored."""

    text: Annotated[str, text_field(MAX_QUOTE_LENGTH, required=True)]
    kind: QuoteKind
    said_on: Day
    published_on: OptionalDay = None
    party: ChosenSlug
    speaker_id: SpeakerId = None
    new_speaker_name: Annotated[str, text_field(MAX_NAME, directional=False)] = ""
    new_speaker_role: Annotated[str, text_field(MAX_NAME)] = ""
    source_url: WebAddress
    source_title: Annotated[str, text_field(MAX_SOURCE_TITLE)] = ""
    source_outlet: Annotated[str, text_field(MAX_NAME, directional=False)] = ""
    source_published_on: OptionalDay = None
    source_kind: OptionalSourceKind = None
    source_tier: OptionalSourceTier = None
    language: Language = "en"
    is_translation: Checkbox = False
    status: OptionalQuoteStatus = None
    confirms_or_denies: QuoteId = None
    note: Annotated[str, text_field(MAX_NOTE)] = ""
    round: OptionalSlug = ""
    also_record_position: Checkbox = False
    rationale: Annotated[str, text_field(MAX_RATIONALE)] = ""
    condition: Annotated[str, text_field(MAX_CONDITION)] = ""
    tags: list[TagInput] = Field(default_factory=list)


QUOTE_FIELD_LABELS = [
    ("text", "Quote"),
    ("kind", "Kind"),
    ("said_on", "Said on"),
    ("published_on", "Published on"),
    ("party", "Party"),
    ("speaker_id", "Speaker"),
    ("new_speaker_name", "New speaker name"),
    ("new_speaker_role", "New speaker role"),
    ("source_url", "Source URL"),
    ("source_title", "Title"),
    ("source_outlet", "Outlet"),
    ("source_published_on", "Published on (source)"),
    ("source_kind", "Source kind"),
    ("source_tier", "Source tier"),
    ("language", "Language"),
    ("is_translation", "Translated"),
    ("status", "Status"),
    ("confirms_or_denies", "Confirms or denies"),
    ("note", "Note"),
    ("round", "Round"),
    ("tags", "Issues and stances"),
    ("also_record_position", "Also record as position"),
    ("rationale", "Rationale"),
    ("condition", "Condition"),
]
"""The quote form's fields as (name, label), in the form's order."""


def tag_numbers(data: Mapping[str, str]) -> list[int]:
    """The pair numbers present in submitted form data (issue_3 → 3), sorted."""
    numbers = set()
    for key in data:
        match = TAG_FIELD.fullmatch(key)
        if match and 1 <= int(match.group(2)) <= MAX_TAGS:
            numbers.add(int(match.group(2)))
    return sorted(numbers)


def parse_tags(data: Mapping[str, str]) -> tuple[list[TagInput], dict[str, str]]:
    """The Issue + Stance pairs typed into the form (blank pairs skipped), with their errors."""
    tags: list[TagInput] = []
    errors: dict[str, str] = {}
    seen: set[str] = set()
    for n in tag_numbers(data):
        issue_slug = (data.get(f"issue_{n}") or "").strip()
        stance_value = (data.get(f"stance_{n}") or "").strip()
        if not issue_slug and not stance_value:
            continue
        if not issue_slug:
            errors[f"issue_{n}"] = "Choose the issue this stance is about."
            continue
        if issue_slug in seen:
            errors[f"issue_{n}"] = "This issue is already tagged above; tag each issue once."
            continue
        seen.add(issue_slug)
        if not stance_value:
            errors[f"stance_{n}"] = "Choose the stance this quote signals on the issue."
            continue
        try:
            stance = Stance(stance_value)
        except ValueError:
            errors[f"stance_{n}"] = "Choose one of the listed stances."
            continue
        tags.append(TagInput(n=n, issue_slug=issue_slug, stance=stance))
    if not tags and not errors:
        first = (tag_numbers(data) or [1])[0]
        errors[f"issue_{first}"] = "Tag at least one issue with the stance the quote signals."
    return tags, errors


def parse_quote_form(data: Mapping[str, str], *, known_source: bool) -> QuoteInput:
    """Parse the quote form, or ValidationFailed with every error under its field; with
    known_source (its URL is already a source) the new-source fields are not read."""
    if known_source:
        data = {k: v for k, v in data.items() if k == "source_url" or not k.startswith("source_")}
    tags, tag_errors = parse_tags(data)
    fields = {k: v for k, v in data.items() if k != "tags" and not TAG_FIELD.fullmatch(k)}
    parsed, errors = parse_form(QuoteInput, fields)
    errors.update(tag_errors)
    for name, message in _quote_rules_across_fields(data, tags).items():
        errors.setdefault(name, message)
    if errors or parsed is None:
        raise ValidationFailed(errors)
    parsed.tags = tags
    return parsed


def _quote_rules_across_fields(data: Mapping[str, str], tags: list[TagInput]) -> dict[str, str]:
    """Rules between fields that need no database, checked even when other fields failed."""
    errors: dict[str, str] = {}
    name = (data.get("new_speaker_name") or "").strip()
    if (data.get("new_speaker_role") or "").strip() and not name:
        errors["new_speaker_name"] = "Enter the new speaker's name (or clear the role)."
    if name and (data.get("speaker_id") or "").strip():
        errors["new_speaker_name"] = "Pick an existing speaker or type a new one, not both."
    # A blank rationale is written for the editor (services.quotes.default_rationale).
    if checkbox(data.get("also_record_position", "")) and tags:
        # The form has one condition for all its pairs: it belongs to any conditional one.
        conditional = any(tag.stance == Stance.CONDITIONAL for tag in tags)
        problem = condition_problem(
            Stance.CONDITIONAL if conditional else tags[0].stance, data.get("condition")
        )
        if problem:
            errors["condition"] = problem
    return errors


# --- The position form -----------------------------------------------------------------------


def _quote_ids(value: object) -> list[int]:
    values = value if isinstance(value, list) else [] if value is None else [value]
    ids: list[int] = []
    for item in values:
        text = item.strip() if isinstance(item, str) else str(item)
        if not text:
            continue
        number = whole_number(text, digits=12)
        if number is None:
            raise ValueError("Choose quotes from the list.")
        if number not in ids:
            ids.append(number)
    if len(ids) > MAX_EVIDENCE:
        raise ValueError(f"Cite at most {MAX_EVIDENCE} quotes.")
    return ids


POSITION_FIELD_LABELS = [
    ("party", "Party"),
    ("issue", "Issue"),
    ("stance", "Stance"),
    ("effective_from", "Effective from"),
    ("condition", "Condition"),
    ("rationale", "Rationale"),
    ("round", "Round"),
    ("evidence", "Evidence"),
]
"""The position form's fields as (name, label), in the form's order."""


class PositionInput(BaseModel):
    """What the "Record position change" form sends, parsed; unknown fields are ignored."""

    party: ChosenSlug
    issue: ChosenSlug
    stance: Stance
    condition: Annotated[str, text_field(MAX_CONDITION)] = ""
    effective_from: Day
    rationale: Annotated[str, text_field(MAX_RATIONALE, required=True)]
    round: OptionalSlug = ""
    evidence: Annotated[list[int], BeforeValidator(_quote_ids)] = []


def parse_position_form(data: Mapping[str, str | list[str]]) -> PositionInput:
    """Parse the position form, or ValidationFailed with each error under its field."""
    parsed, errors = parse_form(PositionInput, data)
    stance, condition = data.get("stance"), data.get("condition")
    # Checked even when other fields failed, so the editor sees every problem at once.
    problem = condition_problem(
        stance if isinstance(stance, str) else None,
        condition if isinstance(condition, str) else None,
    )
    if problem:
        errors.setdefault("condition", problem)
    if not data.get("evidence"):
        errors.setdefault("evidence", "Cite at least one quote.")
    if errors or parsed is None:
        raise ValidationFailed(errors)
    return parsed


# --- The admin forms (parties, issues, speakers, sources, users) -------------------------------


class PartyForm(BaseModel):
    """Edit a party (the slug is fixed once created)."""

    name: Name
    short_name: Annotated[str, text_field(40, required=True, directional=False)]
    kind: PartyKind
    parent: OptionalSlug = ""
    sort_order: SortOrder


class NewPartyForm(PartyForm):
    """Add a party."""

    slug: Slug
    sort_order: OptionalSortOrder = None  # type: ignore[assignment]


class IssueForm(BaseModel):
    """Edit an issue (the slug is fixed once created)."""

    title: Annotated[str, text_field(120, required=True)]
    proposition: Annotated[str, text_field(400, required=True)]
    description: Annotated[str, text_field(5000)] = ""
    sort_order: SortOrder
    theme: OptionalSlug = ""


class ThemeForm(BaseModel):
    """Edit a theme (the slug is fixed once created: issues refer to it)."""

    title: Annotated[str, text_field(80, required=True)]
    sort_order: SortOrder


class NewThemeForm(ThemeForm):
    """Add a theme."""

    slug: Slug
    sort_order: OptionalSortOrder = None  # type: ignore[assignment]


class NewIssueForm(IssueForm):
    """Add an issue."""

    slug: Slug
    sort_order: OptionalSortOrder = None  # type: ignore[assignment]


MAX_ALIASES = 20
"""Aliases a speaker can have: the spellings the press uses, not every typo."""


def alias_lines(value: object) -> list[str]:
    """The aliases field, one a line: spaces tidied, blank lines and repeats dropped; a
    ValueError (the message shown) for a name too long, hidden characters or too many."""
    text = value if isinstance(value, str) else ""
    names = list(dict.fromkeys(" ".join(line.split()) for line in text.splitlines()))
    names = [name for name in names if name]
    for name in names:
        problem = hidden_character_problem(name, directional=False)
        if problem:
            raise ValueError(problem)
        if len(name) > MAX_NAME:
            raise ValueError(f"Keep each alias to at most {MAX_NAME} characters.")
    if len(names) > MAX_ALIASES:
        raise ValueError(f"Give at most {MAX_ALIASES} aliases.")
    return names


class SpeakerForm(BaseModel):
    """Add or edit a speaker."""

    name: Name
    role: Annotated[str, text_field(MAX_NAME)] = ""
    party: Slug
    aliases: Annotated[list[str], BeforeValidator(alias_lines)] = []


class SourceForm(BaseModel):
    """Add or edit a source."""

    url: Annotated[str, text_field(MAX_URL, required=True, directional=False)]
    title: Annotated[str, text_field(MAX_SOURCE_TITLE, required=True)]
    outlet: Name
    published_on: Annotated[
        date | None, BeforeValidator(blank_to_none), AfterValidator(day_in_range)
    ] = None
    kind: SourceKind
    tier: SourceTier


class NewUserForm(BaseModel):
    """Add a user (email, name and password are checked by users.create_user)."""

    email: Annotated[str, text_field(320, required=True, directional=False)]
    display_name: Name
    role: Role
    password: Password = ""


class UserForm(BaseModel):
    """Change a user's name or role."""

    display_name: Name
    role: Role


class PasswordForm(BaseModel):
    """Set a new password for a user."""

    password: Password = ""
