"""Applying and checking migrations from code: used by the CLI, the embedded start-up and tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from app.config import PROJECT_ROOT


def alembic_config(*, url: str | None = None, connection: Connection | None = None) -> Config:
    """Alembic's config from pyproject.toml, aimed at `url` or an open `connection`."""
    config = Config(toml_file=PROJECT_ROOT / "pyproject.toml")
    if url is not None:
        config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(*, url: str | None = None, connection: Connection | None = None) -> None:
    """Apply every migration up to head."""
    command.upgrade(alembic_config(url=url, connection=connection), "head")


def downgrade_to_base(*, url: str | None = None) -> None:
    """Undo every migration (tests prove the way down works)."""
    command.downgrade(alembic_config(url=url), "base")
