"""Application settings: the one place that reads the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout (or image) root: templates, static files, migrations and seeds live beside `app/`."""

EMBEDDED_DATABASE_PATH = PROJECT_ROOT / "var" / "peacetalks.db"

DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused in production
MIN_SECRET_KEY_LENGTH = 32


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
        default=DEFAULT_SECRET_KEY,
        description=(
            "Key that signs session cookies; production needs a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters."
        ),
    )
    env: str = Field(
        default="development",
        validation_alias="PEACETALKS_ENV",
        description=(
            "'development' or 'production'; production refuses to start with unsafe settings "
            "(see production_problems)."
        ),
    )
    debug: bool = Field(
        default=False,
        description="Show tracebacks in error pages (development only; refused in production).",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default=["localhost", "127.0.0.1", "testserver", "[::1]"],
        min_length=1,
        description=(
            "Host header values the app answers, comma-separated (ALLOWED_HOSTS); `*` allows "
            "any, `*.example.org` any subdomain. Other hosts get 400."
        ),
    )
    docs_enabled: bool = Field(
        default=True,
        description="Serve the interactive API docs (/docs, /redoc) and /openapi.json.",
    )
    max_body_bytes: int = Field(
        default=1_000_000,
        ge=0,
        description="Largest request body accepted; a larger one gets 413.",
    )
    max_form_fields: int = Field(
        default=1000,
        ge=1,
        description="Most fields a submitted form may hold; more gets 400.",
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

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [host.strip().lower() for host in value.split(",") if host.strip()]
        return value

    @property
    def is_production(self) -> bool:
        """True when PEACETALKS_ENV says production."""
        return self.env.strip().lower() == "production"

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


class UnsafeProductionSettings(RuntimeError):
    """Production mode was asked for with settings that are not safe to serve with."""


def production_problems(settings: Settings) -> list[str]:
    """What must change before `settings` may serve in production (empty outside production)."""
    if not settings.is_production:
        return []
    problems = []
    if settings.secret_key == DEFAULT_SECRET_KEY:
        problems.append(
            "SECRET_KEY is the built-in default: set SECRET_KEY to a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters (python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')"
        )
    elif len(settings.secret_key) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            f"SECRET_KEY is {len(settings.secret_key)} characters long: set SECRET_KEY to a "
            f"random value of at least {MIN_SECRET_KEY_LENGTH} characters"
        )
    if settings.debug:
        problems.append("DEBUG is on: set DEBUG=false")
    if not settings.https_only:
        problems.append("HTTPS_ONLY is off: serve over HTTPS and set HTTPS_ONLY=true")
    return problems


def check_production_settings(settings: Settings) -> None:
    """Raise UnsafeProductionSettings, naming every setting to fix, if production is unsafe."""
    problems = production_problems(settings)
    if problems:
        raise UnsafeProductionSettings(
            "Refusing to start with PEACETALKS_ENV=production: " + "; ".join(problems) + "."
        )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
