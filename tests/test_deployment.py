"""docker-compose.yml and the Dockerfile, read without a container engine: the environment compose
gives the app passes the production checks, and every command a service runs exists."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer.core import TyperGroup

from app.cli import cli

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMPOSE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
POSTGRES_SETTINGS = {"shared_buffers", "effective_cache_size", "work_mem", "max_connections"}
"""PostgreSQL settings the compose file may pass its server (`-c name=size`)."""
APP_IMAGE = "peacetalks:latest"
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class MissingVariable(KeyError):
    """Compose would refuse to start: a `${NAME:?message}` variable is unset."""


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's variable substitution: $$, ${NAME}, ${NAME:-default}, ${NAME:?error}."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op") or "", match.group("arg") or ""
        value = env.get(name)
        unset = value is None or (op.startswith(":") and value == "")
        if not unset:
            return value or ""
        if op.endswith("?"):
            raise MissingVariable(f"{name}: {arg}")
        return arg if op.endswith("-") else ""

    return _VARIABLE.sub(substitute, value)


def _resolve(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return _interpolate(node, env)
    if isinstance(node, dict):
        return {key: _resolve(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, env) for item in node]
    return node


def _compose(env: dict[str, str]) -> dict[str, Any]:
    """docker-compose.yml as compose sees it (anchors and merge keys by YAML, then variables)."""
    loaded = yaml.safe_load(COMPOSE.read_text())
    resolved: dict[str, Any] = _resolve(loaded, env)
    return resolved


def _app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image") == APP_IMAGE or "build" in service
    }


def _dockerfile_instruction(name: str) -> str:
    """The last instruction `name` of the Dockerfile, continuation lines joined."""
    joined = DOCKERFILE.read_text().replace("\\\n", " ")
    found = [line for line in joined.splitlines() if line.startswith(f"{name} ")]
    assert found, f"no {name} in the Dockerfile"
    return found[-1][len(name) + 1 :].strip()


def _image_command() -> list[str]:
    command = json.loads(_dockerfile_instruction("CMD"))
    assert isinstance(command, list)
    return [str(part) for part in command]


class NoSuchCommand(Exception):
    """`peacetalks ARGS` would stop with a usage error: no such command or option."""


def _check_peacetalks_command(args: list[str]) -> None:
    """Parse `peacetalks ARGS` exactly as the console script would, without running it."""
    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts.get("peacetalks") == "app.cli:main"
    command = typer.main.get_command(cli)
    context = typer.Context(command, info_name="peacetalks")
    rest = list(args)
    while isinstance(command, TyperGroup):  # the groups take no options: a command name comes
        if not rest or (sub := command.get_command(context, rest[0])) is None:
            raise NoSuchCommand(f"peacetalks has no command {' '.join(args)!r}")
        context = typer.Context(sub, info_name=rest[0], parent=context)
        command, rest = sub, rest[1:]
    try:
        command.make_context(context.info_name, rest, parent=context.parent)  # parses options
    except Exception as exc:  # Typer's own click raises its usage errors
        raise NoSuchCommand(f"peacetalks {' '.join(args)}: {exc}") from exc


def _check_command(command: list[str]) -> None:
    if command[:2] == ["sh", "-c"]:
        for step in re.split(r"&&|;", command[2]):
            _check_command(shlex.split(step))
        return
    if command[0] == "python" and command[1] == "-c":
        compile(command[2], "<healthcheck>", "exec")
        return
    assert command[0] == "peacetalks", f"the app image has no command {command[0]!r}"
    _check_peacetalks_command(command[1:])


def test_compose_refuses_to_start_without_a_secret_key() -> None:
    with pytest.raises(MissingVariable, match="SECRET_KEY"):
        _compose({})


def test_the_app_gets_a_production_environment_that_passes_the_checks(tmp_path: Path) -> None:
    compose = _compose({"SECRET_KEY": secrets.token_urlsafe(48)})
    services = _app_services(compose)
    assert set(services) == {"migrate", "web"}
    for name, service in services.items():
        environment = {key: str(value) for key, value in service["environment"].items()}
        assert environment["PEACETALKS_ENV"] == "production", name
        # Exactly what the container's process gets: that environment, no .env file.
        checked = subprocess.run(
            [
                sys.executable,
                "-c",
                "from app.config import Settings, check_production_settings\n"
                "settings = Settings()\n"
                "check_production_settings(settings)\n"
                "print(settings.is_production, settings.https_only, settings.serves_docs,"
                " ','.join(settings.trusted_proxies))",
            ],
            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(PROJECT_ROOT), **environment},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0, f"{name}: {checked.stderr}"
        production, https_only, docs, proxies = checked.stdout.split()
        assert (production, https_only, docs) == ("True", "True", "False"), name
        # The app trusts forwarded headers from the proxy's network, and from nowhere else.
        edge = ipaddress.ip_network(compose["networks"]["edge"]["ipam"]["config"][0]["subnet"])
        trusted = [ipaddress.ip_network(item) for item in proxies.split(",")]
        assert trusted == [edge], name


def test_only_the_tls_proxy_is_published_and_it_reaches_the_app() -> None:
    compose = _compose({"SECRET_KEY": "x"})
    services = compose["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert "443:443" in services["proxy"]["ports"]
    assert services["proxy"]["networks"] == ["edge"]  # the one network the app trusts
    assert "edge" in services["web"]["networks"] and "edge" not in services["db"]["networks"]
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"
    # The proxy passes requests to the app's port on the compose network.
    serve = _image_command()
    port = serve[serve.index("--port") + 1]
    caddyfile = (PROJECT_ROOT / "deploy" / "Caddyfile").read_text()
    assert re.search(rf"^\s*reverse_proxy web:{port}\s*$", caddyfile, flags=re.MULTILINE)
    # Host names: what the proxy serves, and what the health check calls.
    hosts = services["web"]["environment"]["ALLOWED_HOSTS"].split(",")
    assert services["proxy"]["environment"]["SITE_ADDRESS"] in hosts and "127.0.0.1" in hosts


def test_every_services_command_exists() -> None:
    compose = _compose({"SECRET_KEY": "x"})
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("."):  # a file of this repository, mounted into the container
                assert (PROJECT_ROOT / source).exists(), f"{name}: {source}"
        healthcheck = service.get("healthcheck", {})
        if healthcheck.get("test", [""])[0] == "CMD":
            _check_command(healthcheck["test"][1:])
        if name in _app_services(compose):
            _check_command(service.get("command") or _image_command())
        elif service["image"].startswith("postgres:"):  # the server, with settings of its own
            command = service.get("command", ["postgres"])
            assert command[0] == "postgres" and command[1::2] == ["-c"] * (len(command) // 2)
            for setting in command[2::2]:
                name, value = setting.split("=", 1)
                assert name in POSTGRES_SETTINGS, f"{name} is not a setting looked at here"
                assert re.fullmatch(r"\d+(kB|MB|GB)", value), setting
        elif "command" in service:  # another image: its configuration comes from a mount
            command = service["command"]
            config = command[command.index("--config") + 1]
            targets = [mount.split(":")[1] for mount in service.get("volumes", [])]
            assert config in targets, f"{name}: {config} is not mounted"
    image_healthcheck = json.loads(_dockerfile_instruction("HEALTHCHECK").split("CMD", 1)[1])
    _check_command(image_healthcheck)


def test_a_misspelt_command_would_be_caught() -> None:
    # The checker itself: a command the CLI does not have, or an option it does not take, fails.
    with pytest.raises(NoSuchCommand, match="no command"):
        _check_command(["peacetalks", "db", "upgrad"])
    with pytest.raises(NoSuchCommand, match="--if-emtpy"):
        _check_command(["sh", "-c", "peacetalks db upgrade && peacetalks seed --if-emtpy"])
    with pytest.raises(NoSuchCommand, match="--workers"):
        _check_command(["peacetalks", "serve", "--workers", "none"])
    with pytest.raises(AssertionError):
        _check_command(["gunicorn", "app.main:app"])
