"""Every domain error, in one place; app.main maps each to its HTTP answer once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class NotFound(LookupError):
    """A thing asked for by its key does not exist (404)."""

    def __init__(self, entity: str, key: object) -> None:
        super().__init__(f"No {entity} '{key}'.")
        self.entity = entity
        self.key = key


class InvalidParameter(ValueError):
    """A request parameter cannot be understood (400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ValidationFailed(ValueError):
    """Input breaks the domain's rules; `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class PageNotFetched(ValidationFailed):
    """A web page could not be fetched for its metadata; `message` says why in plain words.

    A validation failure of the address typed (422 when not caught), held under `field`."""

    def __init__(self, message: str, *, field: str = "url") -> None:
        super().__init__({field: message})
        self.message = message


class EditConflict(Exception):
    """The record changed since its form was opened: its stored version differs (409).

    Raised by a service's version check, and by the service for a concurrent save caught at the
    flush (the mapper's version counter); `entity` is the record, when known. The route that
    knows the form adds what the 409 page shows (`explained`) and lets it propagate."""

    def __init__(self, entity: object | None = None) -> None:
        name = getattr(entity, "__tablename__", "record")
        super().__init__(f"stale version of {name}")
        self.entity = entity
        self.title = "record"
        self.current: Sequence[tuple[str, object]] = []
        self.submitted: Sequence[tuple[str, str]] = []
        self.retry_url = ""
        self.resubmit: Sequence[tuple[str, str]] = ()

    def explained(
        self,
        *,
        title: str,
        current: Sequence[tuple[str, object]],
        submitted: Sequence[tuple[str, str]],
        retry_url: str,
        resubmit: Sequence[tuple[str, str]] = (),
    ) -> EditConflict:
        """This conflict with what its page shows: the stored and the typed values, by label
        and in the same order; `resubmit` is the typed form, for "apply my changes onto the
        current version" (posted to `retry_url` with action=apply)."""
        self.title, self.current, self.submitted, self.retry_url = (
            title,
            current,
            submitted,
            retry_url,
        )
        self.resubmit = resubmit
        return self


class InUse(Exception):
    """A record cannot be deleted while other records use it; `message` says which (409)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class QuoteIsCited(InUse):
    """A quote that positions cite cannot be deleted; it can be retracted (409)."""

    def __init__(self, positions: list[Any]) -> None:
        super().__init__(f"{len(positions)} position(s) cite this quote")
        self.positions = positions


class Throttled(Exception):
    """Too many failed logins; retry after `retry_after` seconds (429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class RendererBusy(RuntimeError):
    """Every PDF render slot stayed busy while this request waited (503)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("The briefing renderer is busy; try again shortly.")
        self.retry_after = retry_after


class FetchRefused(ValueError):
    """The PDF engine asked for a URL the briefing may not load."""
