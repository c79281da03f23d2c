"""One render path (app.templating): every page through render(), text through render_text(),
fragment-or-page decided by wants_fragment() alone, even for the 500 page."""

from __future__ import annotations

import re
from datetime import date

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import PROJECT_ROOT
from app.models import Stance
from app.services import catalog
from tests import builders as b

HX = {"HX-Request": "true"}


def test_only_templating_renders_a_template() -> None:
    renders = re.compile(r"get_template\(|TemplateResponse\(|from_string\(|\.module\.")
    found = [
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in sorted((PROJECT_ROOT / "app").rglob("*.py"))
        if renders.search(path.read_text())
    ]
    assert found == ["app/templating.py"]


def test_the_500_page_asks_the_same_fragment_question(app: FastAPI) -> None:
    @app.get("/_test/render-boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        fragment = client.get("/_test/render-boom", headers=HX)
        restored = client.get(
            "/_test/render-boom", headers={**HX, "HX-History-Restore-Request": "true"}
        )
        page = client.get("/_test/render-boom")
    assert fragment.status_code == restored.status_code == page.status_code == 500
    assert "<!doctype" not in fragment.text.lower() and 'role="alert"' in fragment.text
    assert "<!doctype" in restored.text.lower() and "<!doctype" in page.text.lower()


def test_a_cached_fragment_is_sent_as_is_and_placed_whole_in_its_page(
    client: TestClient, seeded: Session
) -> None:
    url = "/changes?from=2025-01-01&to=2025-05-01"
    fragment = client.get(url, headers=HX).text
    page = client.get(url).text
    assert 'id="changes"' in fragment and "<html" not in fragment
    assert fragment.strip() in page  # not escaped: placed as the HTML it is


def test_the_briefing_preview_is_a_page_rendered_by_render(
    client: TestClient, seeded: Session
) -> None:
    # A change of stance gives Crimea recognition a history, so its section draws a chart.
    us = catalog.get_party(seeded, slug="us")
    crimea = catalog.get_issue(seeded, slug="crimea-recognition")
    b.position(seeded, us, crimea, Stance.REJECTS, date(2025, 4, 20))
    response = client.get("/briefing?as_of=2025-04-23")
    assert response.status_code == 200, response.text
    assert "HX-Request" in response.headers["vary"]
    assert response.headers["cache-control"] == "private, no-cache"
    assert "<svg" in response.text and "<style>" not in response.text  # the CSP refuses it
