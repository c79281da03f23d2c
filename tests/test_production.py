"""Production mode refuses unsafe settings (app and `peacetalks serve`); serve logs as JSON."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.config import (
    DEFAULT_SECRET_KEY,
    Settings,
    UnsafeProductionSettings,
    check_production_settings,
    get_settings,
    production_problems,
)
from app.main import create_app

GOOD_KEY = "X9QXWCaolrIc24VOxbklZWEMF26D9s4r"  # secrets.token_urlsafe(24): 32 random characters


def _settings(**values: Any) -> Settings:
    return Settings.model_validate(values)


def test_safe_production_settings_pass() -> None:
    settings = _settings(PEACETALKS_ENV="production", secret_key=GOOD_KEY, https_only=True)
    assert settings.is_production
    assert production_problems(settings) == []
    check_production_settings(settings)


def test_development_allows_the_defaults() -> None:
    settings = _settings()
    assert not settings.is_production
    assert settings.debug is False and settings.serves_docs is True
    assert production_problems(settings) == []


@pytest.mark.parametrize("env", ["prod", "Production2", "staging", "dev", ""])
def test_only_development_test_and_production_are_environments(env: str) -> None:
    with pytest.raises(ValidationError, match="PEACETALKS_ENV"):
        _settings(PEACETALKS_ENV=env)


@pytest.mark.parametrize(
    ("env", "production"),
    [("development", False), ("test", False), ("production", True), (" Production ", True)],
)
def test_the_three_environments_are_read_whatever_their_case(env: str, production: bool) -> None:
    assert _settings(PEACETALKS_ENV=env).is_production is production


@pytest.mark.parametrize(
    "key",
    [
        "a" * 32,
        "k" * 40,
        "abcdefghijklmnopqrstuvwxyz012345",
        "0123456789" * 4,
        "qwertyuiopasdfghjklzxcvbnm123456",
        "changeme" * 4,
    ],
)
def test_production_refuses_a_long_but_guessable_secret_key(key: str) -> None:
    settings = _settings(PEACETALKS_ENV="production", secret_key=key, https_only=True)
    (problem,) = production_problems(settings)
    assert "SECRET_KEY is guessable" in problem and "bits of entropy" in problem


def test_production_accepts_every_generated_secret_key() -> None:
    import secrets

    for key in [secrets.token_hex(16) for _ in range(50)] + [secrets.token_urlsafe(48)]:
        settings = _settings(PEACETALKS_ENV="production", secret_key=key, https_only=True)
        assert production_problems(settings) == [], key


def test_api_docs_are_off_by_default_in_production_and_can_be_turned_on() -> None:
    safe = {"PEACETALKS_ENV": "production", "secret_key": GOOD_KEY, "https_only": True}
    assert _settings(**safe).serves_docs is False
    assert _settings(**safe, docs_enabled=True).serves_docs is True
    assert _settings(docs_enabled=False).serves_docs is False


def test_a_production_app_serves_no_api_docs(
    app: FastAPI, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "env", "production")
    monkeypatch.setattr(settings, "secret_key", GOOD_KEY)
    monkeypatch.setattr(settings, "https_only", True)
    assert settings.docs_enabled is None  # DOCS_ENABLED unset: the default decides
    production = create_app()
    production.dependency_overrides = app.dependency_overrides
    with TestClient(production, base_url="https://testserver") as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 404, path
        assert client.get("/healthz").status_code == 200
        assert 'href="/docs"' not in client.get("/login").text
    with TestClient(app) as client:  # building the production app changed nothing in this one
        assert 'href="/docs"' in client.get("/login").text


def test_production_refuses_the_default_secret_key() -> None:
    # The default is long enough: it must be refused for being the default.
    assert len(DEFAULT_SECRET_KEY) >= 32
    settings = _settings(PEACETALKS_ENV="production", https_only=True)
    with pytest.raises(UnsafeProductionSettings, match="SECRET_KEY is the built-in default"):
        check_production_settings(settings)


def test_production_refuses_a_short_secret_key() -> None:
    settings = _settings(PEACETALKS_ENV="Production", secret_key="k" * 31, https_only=True)
    (problem,) = production_problems(settings)
    assert "SECRET_KEY is 31 characters long" in problem and "at least 32" in problem


def test_production_refuses_debug() -> None:
    settings = _settings(
        PEACETALKS_ENV="production", secret_key=GOOD_KEY, https_only=True, debug=True
    )
    assert production_problems(settings) == ["DEBUG is on: set DEBUG=false"]


def test_production_refuses_plain_http() -> None:
    settings = _settings(PEACETALKS_ENV="production", secret_key=GOOD_KEY)
    (problem,) = production_problems(settings)
    assert "HTTPS_ONLY=true" in problem


def test_production_names_every_problem_at_once() -> None:
    settings = _settings(PEACETALKS_ENV="production", secret_key="short", debug=True)
    with pytest.raises(UnsafeProductionSettings) as caught:
        check_production_settings(settings)
    message = str(caught.value)
    assert "PEACETALKS_ENV=production" in message
    for setting in ("SECRET_KEY", "DEBUG=false", "HTTPS_ONLY=true"):
        assert setting in message


def test_create_app_refuses_unsafe_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "env", "production")
    with pytest.raises(UnsafeProductionSettings, match="SECRET_KEY"):
        create_app()
    monkeypatch.setattr(get_settings(), "secret_key", GOOD_KEY)
    monkeypatch.setattr(get_settings(), "https_only", True)
    create_app()


def _serve_in_production(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PEACETALKS_ENV": "production",
        "DATABASE_URL": "sqlite:////nonexistent/never-opened.db",
        "PORT": "1",  # never bound: serve must stop before uvicorn starts
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_refuses_a_short_secret_key_in_production() -> None:
    result = _serve_in_production(SECRET_KEY="too-short", HTTPS_ONLY="true")
    assert result.returncode != 0
    assert "Refusing to start with PEACETALKS_ENV=production" in result.stderr
    assert "SECRET_KEY is 9 characters long" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_mistyped_environment() -> None:
    # Before, "prod" ran in development mode with the built-in key (and served on port 1).
    result = _serve_in_production(PEACETALKS_ENV="prod", SECRET_KEY=GOOD_KEY, HTTPS_ONLY="true")
    assert result.returncode != 0
    assert "Refusing to start" in result.stderr and "PEACETALKS_ENV" in result.stderr
    assert "'development', 'test' or 'production'" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_guessable_secret_key_in_production() -> None:
    result = _serve_in_production(SECRET_KEY="a" * 32, HTTPS_ONLY="true")
    assert result.returncode != 0
    assert "SECRET_KEY is guessable" in result.stderr and "Traceback" not in result.stderr


def test_serve_refuses_debug_and_plain_http_in_production() -> None:
    result = _serve_in_production(SECRET_KEY=GOOD_KEY, DEBUG="true")
    assert result.returncode != 0
    assert "set DEBUG=false" in result.stderr and "set HTTPS_ONLY=true" in result.stderr


def test_serve_uses_the_json_request_log_not_uvicorns_access_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    from app import cli

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(cli, "prepare_embedded", lambda: None)
    result = CliRunner().invoke(cli.cli, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    (kwargs,) = calls
    assert kwargs["access_log"] is False
    config = kwargs["log_config"]
    assert config["loggers"]["peacetalks"]["handlers"]
    assert config["loggers"]["uvicorn.access"]["handlers"] == []
    assert config["loggers"]["uvicorn"]["handlers"], "uvicorn's error log is kept"
