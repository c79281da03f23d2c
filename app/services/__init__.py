"""Queries and rules of the domain. Services flush, never commit: the caller owns the transaction.

The data-version hooks (versioning.install()) are installed by create_app() and the command
line, not by importing this package; the hooks that keep the matrix's stored runs in step
(position_runs.install()) by those too, and by importing position_runs (the matrix does)."""
