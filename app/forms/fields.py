"""Fields: numbers, dates and text read one way everywhere, the field types the forms and the
imports share, the one form dependency, version parsing, the conditional-stance rule and the
labels of the choices."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

import annotated_types
from fastapi import Depends, Request
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    StringConstraints,
    ValidationError,
)

from app.models import PartyKind, QuoteKind, QuoteStatus, Role, SourceKind, SourceTier, Stance
from app.services.errors import InvalidParameter, ValidationFailed

# --- Numbers ---------------------------------------------------------------------------------
# str.isdigit() and int() disagree: isdigit accepts "²", which int refuses, and int accepts
# "١٢", "１２", " 12", "+12" and "1_2". A number a user sends is ASCII digits, read only here.

__all__ = [
    "Checkbox",
    "ChosenSlug",
    "Day",
    "EARLIEST_DAY",
    "FormDep",
    "FormFields",
    "FormModel",
    "LATEST_DAY",
    "Language",
    "MAX_CONDITION",
    "MAX_EVIDENCE",
    "MAX_NAME",
    "MAX_NOTE",
    "MAX_PASSWORD",
    "MAX_QUOTE_LENGTH",
    "MAX_RATIONALE",
    "MAX_SOURCE_TITLE",
    "MAX_TAGS",
    "MAX_URL",
    "Moment",
    "Name",
    "OptionalDay",
    "OptionalSlug",
    "OptionalSortOrder",
    "OptionalSourceKind",
    "OptionalQuoteStatus",
    "OptionalSourceTier",
    "PARTY_KIND_LABELS",
    "Password",
    "QUOTE_KIND_LABELS",
    "QUOTE_STATUS_LABELS",
    "QuoteId",
    "ROLE_LABELS",
    "SOURCE_KIND_LABELS",
    "SOURCE_TIER_LABELS",
    "Slug",
    "SortOrder",
    "SpeakerId",
    "TextField",
    "WebAddress",
    "blank_to_none",
    "checkbox",
    "condition_problem",
    "day_in_range",
    "error_list",
    "field_errors",
    "form_day",
    "form_version",
    "hidden_character_problem",
    "options",
    "out_of_range",
    "parse_day",
    "parse_day_leniently",
    "parse_form",
    "parse_moment",
    "parse_or_refuse",
    "parse_whole_number",
    "submitted_form",
    "text_field",
    "whole_number",
]

_DIGITS = re.compile(r"[0-9]+")


def whole_number(text: str, *, digits: int = 9, signed: bool = False) -> int | None:
    """`text` as a whole number if it is written in ASCII digits (at most `digits`), else None."""
    magnitude = text[1:] if signed and text.startswith("-") else text
    if len(magnitude) > digits or not _DIGITS.fullmatch(magnitude):
        return None
    return int(text)


def parse_whole_number(value: str | None, *, field: str) -> int | None:
    """A whole number from a query parameter; empty means not given, anything else is a 400."""
    if not value:
        return None
    number = whole_number(value)
    if number is None:
        raise InvalidParameter(field, "must be a whole number (digits 0-9), e.g. 2.")
    return number


# --- Dates -----------------------------------------------------------------------------------

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2100, 12, 31)
"""Every date a user sends lies in this range: far beyond it, date arithmetic overflows."""

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def out_of_range(day: date) -> str | None:
    """Why `day` is refused (outside EARLIEST_DAY..LATEST_DAY), or None when it is in range."""
    if EARLIEST_DAY <= day <= LATEST_DAY:
        return None
    return (
        f"'{day.isoformat()}' is out of range; dates must be between "
        f"{EARLIEST_DAY.day} {EARLIEST_DAY:%b %Y} and {LATEST_DAY.day} {LATEST_DAY:%b %Y}."
    )


def _day_or_none(text: str) -> date | None:
    """The date `text` names (YYYY-MM-DD, ASCII digits), None if it names none; ValueError if it
    is out of range."""
    if not _DAY.fullmatch(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    problem = out_of_range(day)
    if problem:
        raise ValueError(problem)
    return day


_PAIR_FIELD = re.compile(r"(issue|stance)_([0-9]{1,3})")


def error_list(
    errors: Mapping[str, str], labels: Sequence[tuple[str, str]]
) -> list[tuple[str, str, str]]:
    """A form's errors as (field id, label, message), in the order `labels` (name, label) lists
    the fields; an Issue + Stance pair's fields (issue_2) come where "tags" is listed."""
    order = {name: rank * 1000 for rank, (name, _) in enumerate(labels)}
    names = dict(labels)
    listed = []
    for name, message in errors.items():
        pair = _PAIR_FIELD.fullmatch(name)
        if pair:
            rank = order.get("tags", len(order) * 1000) + int(pair.group(2)) * 2
            rank += pair.group(1) == "stance"
            label = f"{pair.group(1).capitalize()} {pair.group(2)}"
        else:
            rank, label = order.get(name, len(order) * 1000 + 999), names.get(name, "Form")
        listed.append((rank, name, label, message))
    return [(name, label, message) for _, name, label, message in sorted(listed)]


def parse_day_leniently(value: str | None) -> date | None:
    """The date a form field holds, or None when it holds none (its own rule says why)."""
    try:
        return _day_or_none((value or "").strip())
    except ValueError:
        return None


def parse_day(value: str | None, *, field: str) -> date | None:
    """An ISO date (YYYY-MM-DD) from a query parameter; empty means not given."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        day = _day_or_none(text)
    except ValueError as exc:
        raise InvalidParameter(field, str(exc)) from None
    if day is None:
        raise InvalidParameter(
            field, f"'{_shown(text)}' is not a date; use the form YYYY-MM-DD, e.g. 2025-04-23."
        )
    return day


@dataclass(frozen=True, slots=True)
class Moment:
    """A point on the time axis as a `since`/`from`/`to` parameter gives it: a day, or a round of
    talks (`round:<slug>`), with the words that name it ("the Geneva talks (23 Nov 2025)")."""

    day: date
    label: str
    round_slug: str | None = None


ROUND_PREFIX = "round:"


def parse_moment(
    value: str | None, *, field: str, find_round: Callable[[str], Moment | None]
) -> Moment | None:
    """A date (YYYY-MM-DD) or `round:<slug>` from a query parameter; empty means not given.
    `find_round` turns a round's slug into its moment (None: there is no such round)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.lower().startswith(ROUND_PREFIX):
        slug = text[len(ROUND_PREFIX) :].strip()
        found = find_round(slug) if slug else None
        if found is None:
            raise InvalidParameter(
                field, f"there is no round '{_shown(slug)}'; see /rounds for their slugs."
            )
        return found
    day = parse_day(text, field=field)
    assert day is not None  # noqa: S101 - a non-empty value is a day or an error
    return Moment(day=day, label=f"{day:%-d %b %Y}")


def form_day(value: object, *, required: bool) -> date | None:
    """A form's date field (a pydantic before-validator); ValueError says what is wrong."""
    if isinstance(value, date):
        problem = out_of_range(value)
        if problem:
            raise ValueError(problem)
        return value
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            raise ValueError("This field is required.")
        return None
    day = _day_or_none(text)
    if day is None:
        raise ValueError(
            f"'{_shown(text)}' is not a real date; use the form YYYY-MM-DD, e.g. 2025-04-23."
        )
    return day


def day_in_range(value: date | None) -> date | None:
    """A pydantic after-validator for a date already parsed: refused outside the range."""
    problem = out_of_range(value) if value is not None else None
    if problem:
        raise ValueError(problem)
    return value


# --- Text ------------------------------------------------------------------------------------

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
"""Control characters (all but tab, line feed and carriage return), lone surrogates and the
non-characters U+FFFE/U+FFFF: invisible in a page, and forbidden in XML, so one saved would
break every Atom feed that carries it. PostgreSQL cannot store NUL at all."""

_DIRECTION = re.compile("[\u202a-\u202e\u2066-\u2069]")
"""Bidirectional embeddings, overrides and isolates: they can make a name, an email or a web
address read differently from what it is (U+202E turns 'moc.evil' into 'live.com')."""


def hidden_character_problem(text: str, *, directional: bool = True) -> str | None:
    """Why `text` cannot be saved (a control character, or with directional=False a direction
    control), or None."""
    found = _CONTROL.search(text)
    if found:
        return (
            f"This contains an invisible control character (U+{ord(found.group()):04X}), "
            "which cannot be saved; remove it."
        )
    found = None if directional else _DIRECTION.search(text)
    if found:
        return (
            f"This contains an invisible text-direction control (U+{ord(found.group()):04X}), "
            "which can disguise what it says; remove it."
        )
    return None


def _plain_text(text: str) -> str:
    problem = hidden_character_problem(text)
    if problem:
        raise ValueError(problem)
    return text


def _plain_name(text: str) -> str:
    problem = hidden_character_problem(text, directional=False)
    if problem:
        raise ValueError(problem)
    return text


@dataclass(frozen=True, slots=True)
class TextField(annotated_types.GroupedMetadata):
    """A form's text field: stripped, at most `max_length` characters, not blank when required,
    free of control characters; with directional=False (names, slugs, emails, web addresses)
    free of text-direction controls too."""

    max_length: int
    required: bool = False
    directional: bool = True

    def __iter__(self) -> Iterator[object]:
        yield StringConstraints(
            strip_whitespace=True, min_length=int(self.required), max_length=self.max_length
        )
        yield AfterValidator(_plain_text if self.directional else _plain_name)


def text_field(max_length: int, *, required: bool = False, directional: bool = True) -> TextField:
    """Annotate a str field with TextField's rules: `Annotated[str, text_field(200)]`."""
    return TextField(max_length=max_length, required=required, directional=directional)


# --- Form models -----------------------------------------------------------------------------


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors as {field: message}, one plain-language message per field."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        name = ".".join(location) or "form"
        if name in errors:
            continue
        kind = error.get("type", "")
        if kind == "missing":
            message = "This field is required."
        elif kind in {"date_from_datetime_parsing", "date_parsing", "date_type"}:
            message = "Enter a date as YYYY-MM-DD."
        elif kind == "string_too_long":
            limit = (error.get("ctx") or {}).get("max_length")
            message = f"Use at most {limit:,} characters." if limit else "This is too long."
        elif kind == "string_too_short":
            message = "This field is required."
        elif kind in {"enum", "literal_error"}:
            message = "Choose one of the listed options."
        else:
            message = str(error.get("msg", "This value is not valid.")).removeprefix(
                "Value error, "
            )
        errors[name] = message
    return errors


FormModel = TypeVar("FormModel", bound=BaseModel)


def parse_form(
    model: type[FormModel], data: Mapping[str, Any]
) -> tuple[FormModel | None, dict[str, str]]:
    """Validate submitted form data; fields the model does not declare (id, version, ...) are ignored."""
    try:
        return model.model_validate(dict(data)), {}
    except ValidationError as exc:
        return None, field_errors(exc)


def parse_or_refuse(model: type[FormModel], data: Mapping[str, Any]) -> FormModel:
    """Validate submitted form data, or raise ValidationFailed with each error under its field."""
    parsed, errors = parse_form(model, data)
    if parsed is None:
        raise ValidationFailed(errors)
    return parsed


# --- The submitted form ----------------------------------------------------------------------


class FormFields(dict[str, str]):
    """A submitted form's text fields (file parts ignored). A name sent more than once counts
    by its first value; `every(name)` gives all of them, for fields that repeat on purpose
    (a position's evidence checkboxes)."""

    def __init__(self, items: Iterable[tuple[str, object]] = ()) -> None:
        super().__init__()
        self._all: dict[str, list[str]] = {}
        for key, value in items:
            if isinstance(value, str):
                self.setdefault(key, value)
                self._all.setdefault(key, []).append(value)

    def every(self, name: str) -> list[str]:
        """Every value sent under `name`, in order."""
        return list(self._all.get(name, []))


async def submitted_form(request: Request) -> FormFields:
    """The submitted form (the CSRF guard has already read it; Starlette caches it)."""
    form = await request.form()
    return FormFields(form.multi_items())


FormDep = Annotated[FormFields, Depends(submitted_form)]


def form_version(data: Mapping[str, str]) -> int:
    """The record version an edit form was opened at; missing or garbled counts as stale (-1)."""
    number = whole_number((data.get("version") or "").strip(), digits=11)
    return -1 if number is None else number


# --- Field types -----------------------------------------------------------------------------

MAX_QUOTE_LENGTH = 5000
MAX_TAGS = 20
"""The most Issue + Stance pairs one quote form accepts."""
MAX_NAME = 200
MAX_NOTE = 5000
MAX_RATIONALE = 5000
MAX_CONDITION = 1000
MAX_URL = 2000
MAX_SOURCE_TITLE = 500
MAX_EVIDENCE = 50
"""The most quotes one position cites."""
MAX_PASSWORD = 1024
"""Far above any real passphrase; argon2 hashes it whole, nothing is truncated."""

_LANGUAGE_PATTERN = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


def blank_to_none(value: object) -> object:
    """A before-validator: a blank text field means "not given"."""
    return None if isinstance(value, str) and not value.strip() else value


def _required_day(value: object) -> object:
    return form_day(value, required=True)


def _optional_day(value: object) -> object:
    return form_day(value, required=False)


def _not_future(value: date | None) -> date | None:
    if value is not None and value > date.today():
        raise ValueError(f"This date is in the future; the latest allowed is {date.today()}.")
    return value


Day = Annotated[date, BeforeValidator(_required_day), AfterValidator(_not_future)]
"""A required ISO date, not in the future."""
OptionalDay = Annotated[date | None, BeforeValidator(_optional_day), AfterValidator(_not_future)]
"""An optional ISO date, not in the future."""


def checkbox(value: object) -> bool:
    """A ticked box sends its value ("on"); an unticked one sends nothing at all."""
    if isinstance(value, str):
        return value.strip().lower() not in {"", "off", "false", "0"}
    return bool(value)


Checkbox = Annotated[bool, BeforeValidator(checkbox)]


def _choice_id(message: str) -> Callable[[object], int | None]:
    def parse(value: object) -> int | None:
        if value is None or isinstance(value, int):
            return value
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            return None
        number = whole_number(text, digits=12)
        if number is None:
            raise ValueError(message)
        return number

    return parse


def _whole_number(value: object) -> object:
    if isinstance(value, str):
        number = whole_number(value.strip(), signed=True)
        if number is None:
            raise ValueError("Enter a whole number, e.g. 50.")
        return number
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if (
        parts.scheme.lower() not in {"http", "https"}
        or not parts.netloc
        or any(ch.isspace() or ord(ch) < 32 for ch in value)
    ):
        raise ValueError("Enter a web address starting with http:// or https://.")
    return value


def _language(value: str) -> str:
    if not _LANGUAGE_PATTERN.fullmatch(value):
        raise ValueError("Use a language code such as en, uk or ru.")
    return value


WebAddress = Annotated[
    str, text_field(MAX_URL, required=True, directional=False), AfterValidator(_http_url)
]
"""A source's web address: http:// or https://, a host, no spaces (forms and imports alike)."""
Language = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=12),
    AfterValidator(_language),
]
"""A language code such as en, uk or ru (forms and imports alike)."""
SpeakerId = Annotated[int | None, BeforeValidator(_choice_id("Choose a speaker from the list."))]
QuoteId = Annotated[int | None, BeforeValidator(_choice_id("Choose a quote from the list."))]
OptionalSourceKind = Annotated[SourceKind | None, BeforeValidator(blank_to_none)]
OptionalSourceTier = Annotated[SourceTier | None, BeforeValidator(blank_to_none)]
OptionalQuoteStatus = Annotated[QuoteStatus | None, BeforeValidator(blank_to_none)]
"""A quote's status; blank means "as the source says" (see services.quotes.status_for)."""
SortOrder = Annotated[int, BeforeValidator(_whole_number)]
OptionalSortOrder = Annotated[
    int | None, BeforeValidator(lambda value: _whole_number(blank_to_none(value)))
]
Slug = Annotated[str, text_field(60, required=True, directional=False)]
"""A new party's or issue's slug (whether it is free is the service's rule)."""
ChosenSlug = Annotated[str, text_field(60, required=True)]
"""A party or issue picked from a list by its slug (whether it exists is the service's rule)."""
OptionalSlug = Annotated[str, text_field(60, directional=False)]
Name = Annotated[str, text_field(MAX_NAME, required=True, directional=False)]
Password = Annotated[str, StringConstraints(max_length=MAX_PASSWORD)]


# --- Rules across fields ---------------------------------------------------------------------


def condition_problem(stance: Stance | str | None, condition: str | None) -> str | None:
    """The one conditional-stance rule: a conditional stance needs its condition, and only a
    conditional stance has one. None when the pair is fine (or the stance is unknown)."""
    conditional = stance in {Stance.CONDITIONAL, Stance.CONDITIONAL.value}
    given = bool((condition or "").strip())
    if conditional and not given:
        return "A conditional stance needs its condition."
    if given and not conditional and stance in {*Stance, *(s.value for s in Stance)}:
        return "Only a conditional stance has a condition; clear this field."
    return None


# --- Choice labels ---------------------------------------------------------------------------

QUOTE_KIND_LABELS = {
    QuoteKind.DIRECT: "Direct",
    QuoteKind.REPORTED: "Reported",
    QuoteKind.DOCUMENT_PROVISION: "Document provision",
}
QUOTE_STATUS_LABELS = {status: status.value.capitalize() for status in QuoteStatus}
SOURCE_KIND_LABELS = {kind: kind.value.replace("_", " ").capitalize() for kind in SourceKind}
SOURCE_TIER_LABELS = {
    SourceTier.ON_RECORD: "On-record",
    SourceTier.OFFICIAL_READOUT: "Official readout",
    SourceTier.PUBLISHED_DOCUMENT: "Published document",
    SourceTier.ANONYMOUS_OFFICIAL: "Anonymous official",
    SourceTier.STATE_MEDIA: "State-controlled media",
    SourceTier.AGGREGATOR: "Aggregator",
}
PARTY_KIND_LABELS = {kind: kind.value.capitalize() for kind in PartyKind}
ROLE_LABELS = {Role.EDITOR: "Editor", Role.ADMIN: "Admin"}


def options(labels: Mapping[Any, str]) -> list[tuple[str, str]]:
    """A label table as a select's (value, label) options, in the table's order."""
    return [(member.value, label) for member, label in labels.items()]
