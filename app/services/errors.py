"""Domain errors that routes turn into status codes."""

from __future__ import annotations


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
