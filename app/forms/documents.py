"""The document, round and reaction forms: their input models and the point-by-point fields.

A document form carries its metadata, the pasted text and, once split, one group of fields per
point: label_N, text_N, drop_N and up to POINT_TAGS issue + stance pairs (issue_N_K, stance_N_K).
A party's part is one field per party, party_<slug>: "authoring", "endorsing" or blank."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator

from app.forms.fields import (
    MAX_NAME,
    MAX_NOTE,
    MAX_QUOTE_LENGTH,
    MAX_SOURCE_TITLE,
    Checkbox,
    Day,
    Language,
    OptionalDay,
    OptionalSourceKind,
    OptionalSourceTier,
    QuoteId,
    WebAddress,
    blank_to_none,
    checkbox,
    hidden_character_problem,
    parse_form,
    text_field,
    whole_number,
)
from app.models import DocumentKind, DocumentStatus, PartyRole, QuoteStatus, RoundFormat, Stance
from app.services.errors import ValidationFailed

__all__ = [
    "DocumentHead",
    "DocumentInput",
    "MAX_DOCUMENT_TEXT",
    "POINT_TAGS",
    "PointInput",
    "ReactionInput",
    "RoundInput",
    "parse_document_form",
    "parse_point_fields",
    "party_roles",
    "point_numbers",
]

MAX_DOCUMENT_TEXT = 200_000
"""The longest text a document form takes (a long plan with annexes is some 30,000 characters)."""
POINT_TAGS = 2
"""Issue + stance pairs a point gets on the form (more can be added on its quote's own form)."""
_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_POINT_FIELD = re.compile(r"(?:label|text)_([0-9]{1,3})")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError("Use lower-case letters, digits and single hyphens (e.g. us-plan-28).")
    return value


Slug = Annotated[str, text_field(60, required=True, directional=False), AfterValidator(_slug)]


class DocumentHead(BaseModel):
    """A document's own fields, as the form and the data files (seed.DocumentRow) take them."""

    slug: Slug
    title: Annotated[str, text_field(300, required=True)]
    kind: DocumentKind
    status: DocumentStatus
    confirmation: QuoteStatus
    tabled_on: Day
    public_on: OptionalDay = None
    language: Language = "en"


class DocumentInput(DocumentHead):
    """What the document form sends besides its points and parties."""

    is_translation: Checkbox = False
    source_url: WebAddress
    source_title: Annotated[str, text_field(MAX_SOURCE_TITLE)] = ""
    source_outlet: Annotated[str, text_field(MAX_NAME, directional=False)] = ""
    source_kind: OptionalSourceKind = None
    source_tier: OptionalSourceTier = None
    note: Annotated[str, text_field(MAX_NOTE)] = ""
    derived_from: Annotated[str, text_field(60, directional=False)] = ""


@dataclass(slots=True)
class PointInput:
    """One point as the form sends it: label, text and (issue slug, stance) pairs."""

    n: int
    label: str
    text: str
    tags: list[tuple[str, Stance]] = field(default_factory=list)


def point_numbers(data: Mapping[str, str]) -> list[int]:
    """The point numbers present in the submitted fields (label_3 → 3), sorted."""
    return sorted({int(m.group(1)) for key in data if (m := _POINT_FIELD.fullmatch(key))})


def parse_point_fields(data: Mapping[str, str]) -> tuple[list[PointInput], dict[str, str]]:
    """The points of the form, those ticked "drop" left out, with their errors by field."""
    points: list[PointInput] = []
    errors: dict[str, str] = {}
    for n in point_numbers(data):
        if checkbox(data.get(f"drop_{n}", "")):
            continue
        label = " ".join((data.get(f"label_{n}") or "").split())
        text = (data.get(f"text_{n}") or "").strip()
        problem = hidden_character_problem(label) or hidden_character_problem(text)
        if problem:
            errors[f"text_{n}"] = problem
        if not label:
            errors[f"label_{n}"] = "Give the point its label as printed (e.g. 6 or 6a)."
        elif len(label) > 40:
            errors[f"label_{n}"] = "A label can be at most 40 characters."
        if not text:
            errors[f"text_{n}"] = "Enter the point's text, or tick Drop."
        elif len(text) > MAX_QUOTE_LENGTH:
            errors[f"text_{n}"] = f"A point can be at most {MAX_QUOTE_LENGTH:,} characters."
        point = PointInput(n, label, text)
        for k in range(1, POINT_TAGS + 1):
            issue = (data.get(f"issue_{n}_{k}") or "").strip()
            stance = (data.get(f"stance_{n}_{k}") or "").strip()
            if not issue and not stance:
                continue
            if not issue or not stance:
                missing = f"issue_{n}_{k}" if not issue else f"stance_{n}_{k}"
                errors[missing] = "Choose both the issue and the stance the point takes."
                continue
            if stance not in Stance._value2member_map_:
                errors[f"stance_{n}_{k}"] = "Choose one of the listed stances."
                continue
            if any(slug == issue for slug, _ in point.tags):
                errors[f"issue_{n}_{k}"] = "This issue is already tagged on this point."
                continue
            point.tags.append((issue, Stance(stance)))
        points.append(point)
    return points, errors


def party_roles(data: Mapping[str, str]) -> tuple[list[tuple[str, PartyRole]], dict[str, str]]:
    """The parties the form names (party_<slug>: authoring or endorsing), with any error."""
    roles: list[tuple[str, PartyRole]] = []
    for key, value in data.items():
        if not key.startswith("party_") or not value.strip():
            continue
        if value.strip() not in PartyRole._value2member_map_:
            return [], {"authors": "Choose author or endorser for each party named."}
        roles.append((key.removeprefix("party_"), PartyRole(value.strip())))
    return roles, {}


def parse_document_form(
    data: Mapping[str, str],
) -> tuple[DocumentInput, list[PointInput], list[tuple[str, PartyRole]]]:
    """Parse the whole document form, or ValidationFailed with every error under its field."""
    fields = {
        k: v
        for k, v in data.items()
        if not re.fullmatch(r"(label|text|drop|issue|stance)_[0-9_]+|party_.*", k)
    }
    parsed, errors = parse_form(DocumentInput, fields)
    points, point_errors = parse_point_fields(data)
    roles, role_errors = party_roles(data)
    errors.update(point_errors)
    errors.update(role_errors)
    if not role_errors and all(role != PartyRole.AUTHORING for _slug, role in roles):
        errors["authors"] = "Name at least one authoring party."
    if errors or parsed is None:
        raise ValidationFailed(errors)
    return parsed, points, roles


class RoundInput(BaseModel):
    """What the round form sends besides its parties and documents."""

    slug: Slug
    name: Annotated[str, text_field(200, required=True)]
    starts_on: Day
    ends_on: OptionalDay = None
    venue: Annotated[str, text_field(200)] = ""
    format: RoundFormat
    outcome: Annotated[str, text_field(MAX_NOTE)] = ""
    source_url: Annotated[str, text_field(2000, directional=False)] = ""


def _point_id(value: object) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    number = whole_number(text, digits=11)
    if number is None:
        raise ValueError("Choose a point from the list.")
    return number


class ReactionInput(BaseModel):
    """The "this quote reacts to the document" form."""

    quote_id: QuoteId
    point_id: Annotated[int | None, BeforeValidator(_point_id)] = None
    stance: Annotated[Stance | None, BeforeValidator(blank_to_none)] = None
