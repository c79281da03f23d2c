"""Parsing what users send: numbers, dates and text read one way everywhere, and form helpers."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import annotated_types
from pydantic import AfterValidator, BaseModel, StringConstraints, ValidationError

from app.services.errors import InvalidParameter

# --- Numbers ---------------------------------------------------------------------------------
# str.isdigit() and int() disagree: isdigit accepts "²", which int refuses, and int accepts
# "١٢", "１２", " 12", "+12" and "1_2". A number a user sends is ASCII digits, read only here.

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
