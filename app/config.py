"""Application settings: the one place that reads the environment."""

from __future__ import annotations

import ipaddress
import math
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from zxcvbn import zxcvbn

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout (or image) root: templates, static files, migrations and seeds live beside `app/`."""

EMBEDDED_DATABASE_PATH = PROJECT_ROOT / "var" / "peacetalks.db"

DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused in production
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_BITS = 80
"""Least estimated entropy of a production SECRET_KEY. zxcvbn's guess count is a lower bound
that sees repeats, sequences, keyboard runs and words: 32 random hex digits estimate at 89 bits
or more, `secrets.token_urlsafe(48)` at about 210, 32 × "a" at 9."""

Environment = Literal["development", "test", "production"]


def site_address(value: str) -> str:
    """A site's public address without its trailing slash ("" for none); ValueError unless it
    is http:// or https:// with a host and at most a path."""
    url = value.strip().rstrip("/")
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(
            "PUBLIC_URL takes the site's address, http:// or https:// with a host and an "
            "optional path, e.g. https://peace.example.org"
        )
    return url


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
    env: Environment = Field(
        default="development",
        validation_alias="PEACETALKS_ENV",
        description=(
            "'development', 'test' or 'production' (any other value refuses to start); "
            "production refuses to start with unsafe settings (see production_problems)."
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
    docs_enabled: bool | None = Field(
        default=None,
        description=(
            "Serve the interactive API docs (/docs, /redoc) and /openapi.json; unset means on, "
            "except in production."
        ),
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default=[],
        description=(
            "Addresses or networks (CIDR) of the reverse proxies in front of the app, "
            "comma-separated (TRUSTED_PROXIES). Only a request from one of them may set the "
            "client address and scheme with X-Forwarded-For and X-Forwarded-Proto; empty "
            "trusts no one (the connecting address is the client)."
        ),
    )
    max_body_bytes: int = Field(
        default=1_000_000,
        ge=0,
        description="Largest request body accepted; a larger one gets 413.",
    )
    db_statement_timeout_ms: int = Field(
        default=5000,
        ge=0,
        description=(
            "PostgreSQL: longest a web request's SQL statement may run (0: no limit); "
            "a statement cancelled for it answers 503 with Retry-After."
        ),
    )
    db_lock_timeout_ms: int = Field(
        default=3000,
        ge=0,
        description="PostgreSQL: longest a web request waits for a row or table lock (0: no limit).",
    )
    db_pool_size: int = Field(
        default=5, ge=1, description="Database connections each worker keeps for web requests."
    )
    db_pool_overflow: int = Field(
        default=10, ge=0, description="Connections a worker may open beyond the pool when busy."
    )
    db_pool_timeout_s: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Longest a web request waits for a free connection; then it answers 503 with "
            "Retry-After. Default: 3 s on PostgreSQL; 30 s on the embedded SQLite, where every "
            "writer queues for the one write lock anyway."
        ),
    )
    request_slots: int = Field(
        default=3,
        ge=0,
        description=(
            "Requests each worker works on at once; more wait their turn in the order they came "
            "(0: no queue, every request starts at once). Static files and /healthz never wait."
        ),
    )
    request_wait_s: float = Field(
        default=10.0,
        gt=0,
        description="Longest a request waits for its turn; then it answers 503 with Retry-After.",
    )
    view_cache_mb: int = Field(
        default=80,
        ge=0,
        description=(
            "Memory each worker keeps for rendered views (the matrix, cells, searches, changes), "
            "split among them in fixed shares; 0 keeps none (every view is rendered for every "
            "request)."
        ),
    )
    max_form_fields: int = Field(
        default=1000,
        ge=1,
        description="Most fields a submitted form may hold; more gets 400.",
    )
    host: str = Field(default="127.0.0.1", description="Address `peacetalks serve` binds to.")
    port: int = Field(default=8000, description="Port `peacetalks serve` listens on.")
    site_name: str = Field(default="peacetalks", description="Name shown in the page header.")
    public_url: str = Field(
        default="",
        description=(
            "The site's public address (e.g. https://peace.example.org), used for every absolute "
            "link the app writes: the briefing's permalink, the Atom feeds. Empty: the briefing "
            "prints its permalink as a path and says so; feeds use the request's own address."
        ),
    )
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
        default=5,
        ge=1,
        description=(
            "Failed logins on one account from one client address before each further try "
            "must wait (30 s, doubling with every failure, at most an hour: 429 meanwhile). "
            "Other addresses, the account's owner's among them, are not held up."
        ),
    )
    login_failures_per_client: int = Field(
        default=20,
        ge=1,
        description="Failed logins from one client address, on any accounts, within the window "
        "before that address gets 429.",
    )
    login_window_minutes: int = Field(
        default=15,
        ge=1,
        description="The window over which LOGIN_FAILURES_PER_CLIENT are counted.",
    )
    listen_for_data_version: bool = Field(
        default=True,
        description=(
            "On PostgreSQL, follow the data version by LISTEN/NOTIFY so readers' cached views "
            "need no query (tests turn it off: their data is never committed)."
        ),
    )
    fetch_allow_loopback: bool = Field(
        default=False,
        description=(
            "For tests only: let the source metadata fetcher reach loopback addresses "
            "(127.0.0.0/8, ::1), where a test serves its fixture pages. Every other private, "
            "link-local or reserved address stays refused; refused in production."
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

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        # Refused here, not ignored: a typo would put a broken link in every printed briefing.
        return site_address(value)

    @field_validator("env", mode="before")
    @classmethod
    def _normalise_env(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        # Refused here, not ignored: a mistyped address would silently trust no proxy.
        try:
            return [str(ipaddress.ip_network(item, strict=False)) for item in value]
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES takes IP addresses and networks: {exc}") from None

    @property
    def is_production(self) -> bool:
        """True when PEACETALKS_ENV says production."""
        return self.env == "production"

    @property
    def serves_docs(self) -> bool:
        """Whether /docs, /redoc and /openapi.json exist: DOCS_ENABLED, else not in production."""
        return self.docs_enabled if self.docs_enabled is not None else not self.is_production

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


def secret_key_bits(key: str) -> float:
    """The key's estimated entropy in bits (zxcvbn, which reads at most 72 characters)."""
    return float(zxcvbn(key[:72])["guesses_log10"]) * math.log2(10)


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
    elif (bits := secret_key_bits(settings.secret_key)) < MIN_SECRET_KEY_BITS:
        problems.append(
            f"SECRET_KEY is guessable (about {bits:.0f} bits of entropy, at least "
            f"{MIN_SECRET_KEY_BITS} needed): set SECRET_KEY to a random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if settings.debug:
        problems.append("DEBUG is on: set DEBUG=false")
    if settings.fetch_allow_loopback:
        problems.append(
            "FETCH_ALLOW_LOOPBACK is on (for tests only): set FETCH_ALLOW_LOOPBACK=false"
        )
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
