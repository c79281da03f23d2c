"""Queries and rules of the domain. Services flush, never commit: the caller owns the transaction."""

from app.services import versioning as _versioning  # noqa: F401  (bumps the data version on writes)
