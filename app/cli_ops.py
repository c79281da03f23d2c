"""Operations commands of `peacetalks`: backup and restore (being built)."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    """Add the operations commands to the main command."""
