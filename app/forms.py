"""Parsing what users send: query parameters now, form input models as forms arrive."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.services.errors import InvalidParameter


def parse_day(value: str | None, *, field: str) -> date | None:
    """An ISO date (YYYY-MM-DD) from a query parameter; empty means not given."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else _reject(field, text)
    except ValueError:
        return _reject(field, text)


def _reject(field: str, text: str) -> date:
    shown = text if len(text) <= 40 else text[:40] + "…"
    raise InvalidParameter(
        field, f"'{shown}' is not a date; use the form YYYY-MM-DD, e.g. 2025-04-23."
    )


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
