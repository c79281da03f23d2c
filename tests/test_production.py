"""Production mode refuses unsafe settings (app and `peacetalks serve`); serve logs as JSON."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
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

GOOD_KEY = "k" * 32


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
    assert settings.debug is False and settings.docs_enabled is True
    assert production_problems(settings) == []


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
