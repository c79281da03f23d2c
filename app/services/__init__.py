"""Queries and rules of the domain. Services flush, never commit: the caller owns the transaction."""
