"""Messy history: restatements, changes of condition, confirmation over a run, split blocs and
evidence nobody has assessed, as every view shows them."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Issue, Party, PartyKind, QuoteStatus, Stance
from app.services import matrix
from tests import builders as b

MAR1, APR1, MAY1, MAY20, JUN1 = (
    date(2025, 3, 1),
    date(2025, 4, 1),
    date(2025, 5, 1),
    date(2025, 5, 20),
    date(2025, 6, 1),
)


@pytest.fixture
def restated(session: Session) -> tuple[Party, Issue]:
    """Ruritania rejects from 1 Mar on the record, restates it on 1 Apr and 1 May on reports."""
    party, issue = b.party(session, "rur", name="Ruritania"), b.issue(session, "rsi", title="RS")
    b.position(session, party, issue, Stance.REJECTS, MAR1)
    b.position(session, party, issue, Stance.REJECTS, APR1, status=QuoteStatus.REPORTED)
    b.position(session, party, issue, Stance.REJECTS, MAY1, status=QuoteStatus.REPORTED)
    return party, issue


def test_since_is_the_start_of_the_run_not_the_latest_restatement(
    session: Session, restated: tuple[Party, Issue]
) -> None:
    party, issue = restated
    cell = matrix.build_matrix(session, as_of=JUN1).cell(party, issue)
    assert cell is not None
    assert (cell.stance, cell.since, cell.restated_on) == (Stance.REJECTS, MAR1, MAY1)
    assert cell.evidence_count == 3
    # The minister's on-record words of 1 Mar still confirm the run.
    assert cell.confirmation == "confirmed"


def test_restatements_are_not_changes(session: Session, restated: tuple[Party, Issue]) -> None:
    party, issue = restated
    assert matrix.changes_between(session, since=date(2025, 3, 15), until=JUN1) == []
    grid = matrix.build_matrix(session, as_of=JUN1, since=date(2025, 3, 15))
    assert not grid.has_changed(party, issue)


def test_restated_cell_pages_show_one_run(
    client: TestClient, session: Session, restated: tuple[Party, Issue]
) -> None:
    html = client.get("/cells/rur/rsi?as_of=2025-06-01").text
    assert "since 1 Mar 2025 (restated 1 May 2025), 3 quotes" in html
    assert html.count("marker-restated") == 2
    assert "unconfirmed" not in html.split('class="current"')[1].split("</p>")[0]
    chart = html.split("<svg")[1].split("</svg>")[0]
    assert chart.count("<rect") - chart.count('class="plot"') <= 2  # one bar (and a frame)
    matrix_html = client.get("/?as_of=2025-06-01&view=detailed").text
    assert "since 1 Mar 2025" in matrix_html and "since 1 May 2025" not in matrix_html
    api = client.get("/api/v1/matrix?as_of=2025-06-01").json()
    cell = next(c for c in api["cells"] if c["party"] == "rur")
    assert (cell["since"], cell["restated_on"], cell["evidence_count"]) == (
        "2025-03-01",
        "2025-05-01",
        3,
    )
    assert cell["confirmation"] == "confirmed"


def test_unconfirmed_only_when_no_evidence_of_the_run_is_confirmed(session: Session) -> None:
    party, issue = b.party(session), b.issue(session)
    b.position(session, party, issue, Stance.ACCEPTS, MAR1, status=QuoteStatus.REPORTED)
    b.position(session, party, issue, Stance.ACCEPTS, APR1, status=QuoteStatus.DENIED)
    cell = matrix.build_matrix(session, as_of=JUN1).cell(party, issue)
    assert cell is not None and cell.confirmation == "denied"
    # A change of stance starts a new run: the old run's confirmation no longer counts.
    b.position(session, party, issue, Stance.REJECTS, MAY1, status=QuoteStatus.REPORTED)
    cell = matrix.build_matrix(session, as_of=JUN1).cell(party, issue)
    assert cell is not None and (cell.since, cell.confirmation) == (MAY1, "unconfirmed")


def test_a_changed_condition_is_a_change(session: Session) -> None:
    party, issue = b.party(session), b.issue(session)
    b.position(session, party, issue, Stance.CONDITIONAL, MAR1, condition="a ceasefire first")
    b.position(session, party, issue, Stance.CONDITIONAL, APR1, condition="a ceasefire first")
    b.position(session, party, issue, Stance.CONDITIONAL, MAY1, condition="US guarantees")
    cell = matrix.build_matrix(session, as_of=JUN1).cell(party, issue)
    assert cell is not None and (cell.since, cell.condition) == (MAY1, "US guarantees")
    changes = matrix.changes_between(session, since=date(2025, 2, 1), until=JUN1)
    assert [(c.effective_from, c.old_condition, c.condition) for c in changes] == [
        (MAY1, "a ceasefire first", "US guarantees"),
        (MAR1, None, "a ceasefire first"),
    ]


def test_two_changes_inside_the_window_are_both_listed_and_the_briefing_renders(
    client: TestClient, session: Session
) -> None:
    party = b.party(session, "flip", name="Flipland")
    issue = b.issue(session, "flip-issue", title="Flip issue")
    b.position(session, party, issue, Stance.ACCEPTS, MAR1)
    b.position(session, party, issue, Stance.REJECTS, MAY1)
    # A response to the newest evidence: the briefing shows it with the change.
    newest = b.quote(session, party, issue, Stance.ACCEPTS, said_on=MAY20)
    b.quote(session, party, None, said_on=JUN1, responds_to=newest, status=QuoteStatus.CONFIRMED)
    b.position(session, party, issue, Stance.ACCEPTS, MAY20, evidence=[newest])
    changes = matrix.changes_between(session, since=APR1, until=JUN1)
    assert [(c.old_stance, c.new_stance) for c in changes] == [
        (Stance.REJECTS, Stance.ACCEPTS),
        (Stance.ACCEPTS, Stance.REJECTS),
    ]
    # Back where it started: the cell is not highlighted as changed.
    assert not matrix.build_matrix(session, as_of=JUN1, since=APR1).has_changed(party, issue)
    params = {"as_of": "2025-06-10", "since": "2025-04-01", "parties": "flip"}
    assert client.get("/briefing", params=params).status_code == 200
    pdf = client.get("/briefing.pdf", params=params)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.fixture
def bloc(session: Session) -> tuple[Party, Party, Party, Issue]:
    """Europe has no position of its own; the UK is conditional, France accepts."""
    eu = b.party(session, "xeu", name="Europe X", kind=PartyKind.BLOC)
    eu.short_name = "EuropeX"
    uk = b.party(session, "xuk", name="Kingdom", parent=eu)
    uk.short_name = "UKX"
    fr = b.party(session, "xfr", name="Frankland", parent=eu)
    fr.short_name = "FRX"
    issue = b.issue(session, "xgu", title="Guarantees X")
    b.position(session, uk, issue, Stance.CONDITIONAL, MAR1, condition="US backstop")
    b.position(session, fr, issue, Stance.ACCEPTS, APR1)
    session.flush()
    return eu, uk, fr, issue


def test_split_is_one_state_in_every_view(
    client: TestClient, session: Session, bloc: tuple[Party, Party, Party, Issue]
) -> None:
    api = client.get("/api/v1/matrix?as_of=2025-06-01").json()
    cell = next(c for c in api["cells"] if c["party"] == "xeu" and c["issue"] == "xgu")
    assert (cell["state"], cell["stance"], cell["split"]) == ("split", None, True)
    assert cell["members"] == {"xuk": "conditional", "xfr": "accepts"}
    rows = list(
        csv.DictReader(io.StringIO(client.get("/exports/matrix.csv?as_of=2025-06-01").text))
    )
    row = next(r for r in rows if r["party"] == "xeu" and r["issue"] == "xgu")
    assert (row["state"], row["stance"], row["members"]) == (
        "split",
        "",
        "xuk:conditional; xfr:accepts",
    )
    detail = client.get("/cells/xeu/xgu?as_of=2025-06-01").text
    assert "Split" in detail and "No recorded position" not in detail
    assert 'href="/cells/xuk/xgu?as_of=2025-06-01"' in detail
    assert 'href="/cells/xfr/xgu?as_of=2025-06-01"' in detail
    party_page = client.get("/parties/xeu?as_of=2025-06-01").text
    assert "Split" in party_page and "UKX</a> conditional; " in party_page
    matrix_page = client.get("/?as_of=2025-06-01&view=detailed").text
    assert "UKX conditional; FRX accepts" in matrix_page
    compact = client.get("/?as_of=2025-06-01").text  # the compact cell says it in its label
    assert "split: UKX conditional, FRX accepts" in compact
    compare = client.get("/compare?parties=xeu,xfr&as_of=2025-06-01").text
    row_html = compare.split('href="/issues/xgu')[1].split("</tr>")[0]
    assert "Split" in row_html and "Unclear" in row_html and "members are split" in row_html
    # Before France spoke there was nothing to split.
    before = client.get("/api/v1/matrix?as_of=2025-03-15").json()
    assert not [c for c in before["cells"] if c["party"] == "xeu"]


def test_quotes_without_a_position_are_not_assessed_not_nothing(
    client: TestClient, session: Session
) -> None:
    party = b.party(session, "quiet", name="Quietland")
    issue = b.issue(session, "qi", title="Quiet issue")
    b.quote(session, party, issue, Stance.CONDITIONAL, said_on=APR1)
    b.quote(session, party, issue, Stance.CONDITIONAL, said_on=MAY1)
    b.quote(session, party, issue, said_on=MAY20, status=QuoteStatus.RETRACTED)
    html = client.get("/?as_of=2025-06-01").text
    cell_html = html.split("Quietland on Quiet issue")[1].split("</td>")[0]
    assert "2 quotes, not assessed" in cell_html
    assert 'href="/cells/quiet/qi?as_of=2025-06-01"' in html
    assert "1 quote, not assessed" in client.get("/?as_of=2025-04-15").text
    assert "Quietland on Quiet issue: no recorded position" in client.get("/?as_of=2025-03-01").text
    api = client.get("/api/v1/matrix?as_of=2025-06-01").json()
    cell = next(c for c in api["cells"] if c["party"] == "quiet")
    assert (cell["state"], cell["stance"], cell["unassessed_quotes"]) == ("not_assessed", None, 2)
    detail = client.get("/cells/quiet/qi?as_of=2025-06-01").text
    assert "not assessed" in detail and "2 quotes are tagged" in detail


def test_a_blocs_feed_follows_its_members(
    client: TestClient, session: Session, bloc: tuple[Party, Party, Party, Issue]
) -> None:
    feed = client.get("/feeds/parties/xeu.atom").text
    assert "Frankland (Europe X) on Guarantees X: no recorded position → accepts" in feed
    assert "Kingdom (Europe X) on Guarantees X" in feed
    assert "<title>Kingdom" not in client.get("/feeds/parties/xfr.atom").text


def test_condition_changes_read_as_such_in_lists_and_feeds(
    client: TestClient, session: Session
) -> None:
    party = b.party(session, "condi", name="Condiland")
    issue = b.issue(session, "condi-issue", title="Condi issue")
    b.position(session, party, issue, Stance.CONDITIONAL, MAR1, condition="a ceasefire first")
    b.position(session, party, issue, Stance.CONDITIONAL, MAY1, condition="US guarantees")
    feed = client.get("/feeds/parties/condi.atom").text
    assert "conditional (if a ceasefire first) → conditional (if US guarantees)" in feed
    page = client.get("/changes?from=2025-04-01&to=2025-06-01").text
    item = page.split("Condiland")[1].split("</li>")[0]
    assert "if a ceasefire first" in item and "if US guarantees" in item
