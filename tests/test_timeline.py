"""The stance timeline chart: segments per party, labelled in words, drawn as SVG on the issue page."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Stance
from app.services import evidence
from app.services.timeline import build_timeline
from tests import builders as b

D = date(2025, 1, 1)


def test_timeline_segments_run_from_each_change_to_the_next(session: Session) -> None:
    us, ua = b.party(session), b.party(session)
    nato = b.issue(session)
    b.position(session, us, nato, Stance.ACCEPTS, D)
    b.position(session, us, nato, Stance.REJECTS, D + timedelta(days=30))
    b.position(session, ua, nato, Stance.ACCEPTS, D + timedelta(days=10))
    b.position(session, ua, nato, Stance.REJECTS, D + timedelta(days=90))  # after as_of: not drawn
    as_of = D + timedelta(days=60)
    history = evidence.position_history(session, as_of=as_of, issue=nato)
    chart = build_timeline(history, parties=[us, ua], as_of=as_of)
    assert chart is not None
    us_lane, ua_lane = chart.lanes
    assert [(s.start, s.end, s.stance) for s in us_lane.segments] == [
        (D, D + timedelta(days=30), Stance.ACCEPTS),
        (D + timedelta(days=30), as_of, Stance.REJECTS),
    ]
    assert [(s.start, s.end) for s in ua_lane.segments] == [(D + timedelta(days=10), as_of)]
    widest = max(us_lane.segments + ua_lane.segments, key=lambda s: s.width)
    assert widest.label == widest.stance.value  # a wide bar says its stance in words
    assert chart.ticks[0][1] == "1 Jan 2025"


def test_timeline_is_none_without_positions(session: Session) -> None:
    assert build_timeline([], parties=[], as_of=D) is None


def test_issue_page_draws_the_chart_with_text_labels(client: TestClient, seeded: Session) -> None:
    html = client.get("/issues/crimea-recognition", params={"as_of": "2025-04-23"}).text
    assert "<svg" in html and 'role="img"' in html
    assert ">accepts</text>" in html and ">rejects</text>" in html
    assert "United States: accepts from 17 Apr 2025" in html  # the text description


def test_chart_escapes_party_names(client: TestClient, session: Session) -> None:
    party = b.party(session, "svgx", name="<script>alert(1)</script>")
    issue = b.issue(session, "svgi")
    b.position(session, party, issue, Stance.ACCEPTS, D)
    html = client.get("/issues/svgi").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_cell_detail_draws_that_partys_line_alone(client: TestClient, seeded: Session) -> None:
    html = client.get("/cells/ua/crimea-recognition", params={"as_of": "2025-04-23"}).text
    assert "<svg" in html and "Ukraine: rejects from 22 Apr 2025" in html
    assert "United States:" not in html.split("<desc")[1].split("</desc>")[0]


def test_tick_labels_never_crowd_each_other(session: Session) -> None:
    party, issue = b.party(session), b.issue(session)
    b.position(session, party, issue, Stance.ACCEPTS, D)
    history = evidence.position_history(session, as_of=D + timedelta(days=9), issue=issue)
    chart = build_timeline(history, parties=[party], as_of=D + timedelta(days=9))
    assert chart is not None
    xs = [x for x, _ in chart.ticks]
    assert all(later - earlier >= 80 for earlier, later in zip(xs, xs[1:], strict=False))
    assert chart.ticks[-1][1] == "10 Jan 2025" and chart.ticks[0][1] == "1 Jan 2025"
