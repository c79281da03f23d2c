"""Parsing what users send: query parameters now, form input models as forms arrive."""

from __future__ import annotations

from datetime import date

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
