"""Application settings: the one place that reads the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout (or image) root: templates, static files, migrations and seeds live beside `app/`."""

EMBEDDED_DATABASE_PATH = PROJECT_ROOT / "var" / "peacetalks.db"


class Settings(BaseSettings):
    """Every setting the app reads, with where it comes from and what it does."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default="",
        description=(
            "SQLAlchemy URL of the database, e.g. postgresql+psycopg://user@host/db. "
            "Empty means the embedded SQLite file var/peacetalks.db, migrated and seeded on first start."
        ),
    )
    secret_key: str = Field(
        default="dev-insecure-secret-key-change-me",
        description="Key that signs session cookies; set a long random value in production.",
    )
    env: str = Field(
        default="development",
        validation_alias="PEACETALKS_ENV",
        description="'development' or 'production'.",
    )
    host: str = Field(default="127.0.0.1", description="Address `peacetalks serve` binds to.")
    port: int = Field(default=8000, description="Port `peacetalks serve` listens on.")
    site_name: str = Field(default="peacetalks", description="Name shown in the page header.")
    stale_after_days: int = Field(
        default=60,
        ge=1,
        description="A cell whose newest evidence is older than this many days is marked stale.",
    )
    https_only: bool = Field(
        default=False,
        description="Mark cookies Secure (serve over HTTPS); required in production.",
    )
    require_login_to_read: bool = Field(
        default=False,
        description="Close reading to anonymous visitors (by default analysts read without login).",
    )
    session_idle_minutes: int = Field(
        default=120, ge=1, description="A session unused this long ends."
    )
    session_max_hours: int = Field(
        default=12, ge=1, description="A session ends this long after login, however active."
    )
    login_failures_per_account: int = Field(
        default=5, ge=1, description="Failed logins per account within the window before 429."
    )
    login_failures_per_client: int = Field(
        default=20,
        ge=1,
        description="Failed logins per client address within the window before 429.",
    )
    login_window_minutes: int = Field(
        default=15, ge=1, description="The window over which failed logins are counted."
    )
    listen_for_data_version: bool = Field(
        default=True,
        description=(
            "On PostgreSQL, follow the data version by LISTEN/NOTIFY so readers' cached views "
            "need no query (tests turn it off: their data is never committed)."
        ),
    )
    seeds_dir: Path = Field(
        default=PROJECT_ROOT / "seeds",
        description="Folder of the YAML files that `peacetalks seed` loads.",
    )

    @property
    def is_embedded(self) -> bool:
        """True when no DATABASE_URL is set and the embedded SQLite file is used."""
        return not self.database_url

    @property
    def effective_database_url(self) -> str:
        """The URL actually connected to: DATABASE_URL, or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{EMBEDDED_DATABASE_PATH}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
