"""Backups hold every password hash: written for their owner alone, never over another file;
a restore ends every login session the backup carried."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import make_engine
from app.models import User, UserSession
from app.security import SESSION_COOKIE, _serializer
from tests.auth_helpers import make_user
from tests.conftest import scratch_database


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _with_a_logged_in_user(url: str) -> str:
    """Migrate `url`, add a user with a live session; returns the session's raw token."""
    assert _cli(url, "db", "upgrade").returncode == 0
    from app.services import users

    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            user = make_user(session, "ed@example.org")
            session.flush()
            token, _ = users.start_session(session, user=user)
        return token
    finally:
        engine.dispose()


def test_a_backup_is_readable_by_its_owner_alone(backend: str, tmp_path: Path) -> None:
    usual = os.umask(0o022)  # the usual umask, under which new files are world-readable
    try:
        with scratch_database(backend, tmp_path) as url:
            _with_a_logged_in_user(url)
            archive = tmp_path / "peacetalks.backup"
            done = _cli(url, "backup", "--out", str(archive))
            assert done.returncode == 0, done.stderr
            assert stat.S_IMODE(archive.stat().st_mode) == 0o600
            assert archive.stat().st_size > 0
    finally:
        os.umask(usual)


def test_a_backup_never_overwrites_a_file(backend: str, tmp_path: Path) -> None:
    with scratch_database(backend, tmp_path) as url:
        assert _cli(url, "db", "upgrade").returncode == 0
        existing = tmp_path / "last-week.backup"
        existing.write_bytes(b"last week's backup")
        refused = _cli(url, "backup", "--out", str(existing))
        assert refused.returncode != 0
        assert "exists" in refused.stderr and "Traceback" not in refused.stderr
        assert existing.read_bytes() == b"last week's backup"


def test_a_failed_backup_leaves_no_file_behind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'nothing.db'}"
    archive = tmp_path / "broken.backup"
    failed = _cli(url, "backup", "--out", str(archive))
    assert failed.returncode != 0
    assert not archive.exists()


def test_a_restore_ends_every_session_the_backup_carried(backend: str, tmp_path: Path) -> None:
    with (
        scratch_database(backend, tmp_path) as source,
        scratch_database(backend, tmp_path) as target,
    ):
        token = _with_a_logged_in_user(source)
        archive = tmp_path / "with-sessions.backup"
        assert _cli(source, "backup", "--out", str(archive)).returncode == 0
        restored = _cli(target, "restore", str(archive))
        assert restored.returncode == 0, restored.stderr
        assert "ended the 1 login session it carried" in restored.stdout
        engine = make_engine(target)
        try:
            with Session(engine) as session:
                assert session.scalar(select(func.count()).select_from(UserSession)) == 0
                assert session.scalar(select(User.email)) == "ed@example.org"  # data is back
        finally:
            engine.dispose()
        # The old cookie, replayed against the restored database, is anonymous.
        from fastapi.testclient import TestClient

        from app.db import get_session
        from app.main import create_app

        engine = make_engine(target)
        try:
            app = create_app()

            def restored_session():  # type: ignore[no-untyped-def]
                with Session(engine) as session:
                    yield session

            app.dependency_overrides[get_session] = restored_session
            with TestClient(app) as client:
                client.cookies.set(SESSION_COOKIE, _serializer("session").dumps(token))
                page = client.get("/login", follow_redirects=False)
                assert page.status_code == 200  # a live session would go straight on (303)
        finally:
            engine.dispose()
