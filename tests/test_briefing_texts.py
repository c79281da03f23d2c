"""The briefing and the talks' texts and rounds: the texts on the table (the current version of
each live document, what changed from its predecessor, the reactions), a round as the `since`
of the title block and the summary, and the rounds marked on the timelines. Every check reads
the real PDF (pypdf) or Word document (python-docx) back.

The world: the US tabled a 28-point plan on 20 Nov 2025 (points 1, 6, 7, 9), superseded by its
19-point version on 24 Nov (1 kept, 6 → 5 changed "600,000" → "800,000", 6 new; 7 and 9
removed); Russia tabled a memorandum on 10 Nov and withdrew it. Ukraine rejected point 5 of the
19 points on 25 Nov, Russia welcomed the whole text on 26 Nov. The Geneva talks were on 23 Nov
and a Paris meeting on 1 Oct; Ukraine accepted the army cap from 1 Oct and rejects it from 25
Nov (the chart that marks both rounds).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import docx
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.models import DocumentStatus, Party, Position, QuoteStatus, RoundFormat, Stance
from app.services import documents, rounds
from app.services.documents import PointDraft
from app.services.timeline import ROUND_ROWS, build_timeline
from tests import builders as b
from tests.test_briefing import client_for, pdf_pages
from tests.test_documents import _document, _plan

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
CHOICE = "parties=us,ua,ru&issues=sovereignty,army,nato"
VIEW = f"as_of=2025-11-30&since=round:geneva-2025-11&{CHOICE}"


@dataclass
class Talks:
    session: Session
    client: TestClient
    pdf: bytes
    text: str
    flow: str
    """The text of the portrait pages only: the landscape matrix is printed after page 1, in the
    middle of whatever section runs on from there."""


def _texts_world(session: Session) -> None:
    us = b.party(session, "us", name="United States")
    ua = b.party(session, "ua", name="Ukraine")
    ru = b.party(session, "ru", name="Russia")
    sovereignty = b.issue(session, "sovereignty", title="Sovereignty")
    army = b.issue(session, "army", title="Army cap")
    nato = b.issue(session, "nato", title="NATO membership")
    old = _document(session, us, _plan([sovereignty, nato]), slug="plan-28")
    new = _document(
        session,
        us,
        [
            PointDraft("1", "Ukraine's sovereignty will be confirmed.", [(sovereignty, Stance.ACCEPTS)]),
            PointDraft("5", "The Armed Forces of Ukraine are limited to 800,000 personnel.", [(army, Stance.ACCEPTS)]),
            PointDraft("6", "An amnesty applies to all parties."),
        ],
        slug="plan-19",
        derived_from=old,
        tabled_on=date(2025, 11, 24),
    )  # fmt: skip
    documents.update_status(
        session, actor=None, document=old, status=DocumentStatus.SUPERSEDED,
        confirmation=QuoteStatus.REPORTED, expected_version=old.version,
    )  # fmt: skip
    memo = _document(
        session, ru, [PointDraft("1", "Ukraine withdraws its forces.", [(army, Stance.REJECTS)])],
        slug="memo", tabled_on=date(2025, 11, 10),
    )  # fmt: skip
    documents.update_status(
        session, actor=None, document=memo, status=DocumentStatus.WITHDRAWN,
        confirmation=QuoteStatus.REPORTED, expected_version=memo.version,
    )  # fmt: skip
    no = b.quote(session, ua, army, Stance.REJECTS, said_on=date(2025, 11, 25),
                 text="Point 5 would leave us defenceless.")  # fmt: skip
    yes = b.quote(session, ru, None, said_on=date(2025, 11, 26),
                  text="The nineteen points can be a basis for a settlement.")  # fmt: skip
    documents.add_reaction(session, actor=None, quote=no, document=new, point=new.points[1],
                           stance=Stance.REJECTS)  # fmt: skip
    documents.add_reaction(session, actor=None, quote=yes, document=new, stance=Stance.ACCEPTS)
    for slug, name, day in (
        ("paris-2025-10", "Paris meeting", date(2025, 10, 1)),
        ("geneva-2025-11", "Geneva talks", date(2025, 11, 23)),
    ):
        rounds.create_round(
            session, actor=None, slug=slug, name=name, starts_on=day, ends_on=None,
            format=RoundFormat.BILATERAL, parties=[(us, ""), (ua, "")],
        )  # fmt: skip
    b.position(session, ua, army, Stance.ACCEPTS, date(2025, 9, 1))
    b.position(session, ua, army, Stance.REJECTS, date(2025, 11, 25), evidence=[no])
    b.position(session, us, sovereignty, Stance.ACCEPTS, date(2025, 11, 20))
    session.flush()


@pytest.fixture(scope="module")
def talks(engine: Engine) -> Iterator[Talks]:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        _texts_world(session)
        with client_for(session, NOW) as client:
            response = client.get(f"/briefing.pdf?{VIEW}")
            assert response.status_code == 200, response.text
            text = " ".join(pdf_pages(response.content))
            reader = PdfReader(io.BytesIO(response.content))
            portrait = [
                page
                for page, box in zip(pdf_pages(response.content), reader.pages, strict=True)
                if box.mediabox.width < box.mediabox.height
            ]
            yield Talks(session, client, response.content, text, " ".join(portrait))
        session.close()
        outer.rollback()


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_a_round_as_since_names_the_round_in_the_title_block_and_summary(talks: Talks) -> None:
    assert "changes since the Geneva talks (23 Nov 2025)" in talks.text
    assert "What changed since the Geneva talks (23 Nov 2025), up to 30 Nov 2025" in talks.text
    # The change on 25 Nov (after the round's first day) is listed; the permalink keeps the round.
    summary = _section(talks.text.lower(), "bottom line what changed", "where they converge")
    assert summary.startswith("bottom line what changed since the geneva talks (23 nov 2025)")
    assert "ukraine on army cap: accepts → rejects" in summary
    assert "since=round%3Ageneva-2025-11" in talks.text.replace(" ", "")


def test_the_texts_on_the_table_are_the_live_current_versions(talks: Talks) -> None:
    texts = _section(talks.flow, "Texts on the table, as of 30 Nov 2025", "Sovereignty")
    assert "Plan plan-19" in texts and "Plan tabled 24 Nov 2025 by United States" in texts
    assert "3 points" in texts
    # The superseded 28 points and the withdrawn memorandum are not on the table.
    assert "Plan plan-28 (" not in texts.replace("Changes from Plan plan-28 (", "")
    assert "Plan memo" not in texts
    assert "Changes from Plan plan-28 (20 Nov 2025): 1 kept, 1 changed, 1 new, 2 removed" in texts
    assert "Point 5 (was 6): “600,000” → “800,000”" in texts
    assert "New: point 6." in texts and "Removed: points 7, 9 of the earlier text." in texts
    assert "Ukraine: rejects point 5 (25 Nov 2025" in texts
    assert "Russia: accepts the text (26 Nov 2025" in texts
    assert "Point 5 would leave us defenceless." in texts


def test_the_texts_section_is_in_the_contents_and_cites_its_sources(talks: Talks) -> None:
    # The matrix is printed after page 1, so it comes before what follows the bottom line.
    assert re.search(
        r"Bottom line 1 · The matrix 2 · What changed \d+ · Texts on the table \d+ · Sovereignty",
        talks.text,
    )
    texts = _section(talks.flow, "Texts on the table, as of", "Sovereignty")
    numbers = re.findall(r"\[(\d+)\]", texts)
    sources = talks.text[talks.text.rindex("Sources [1]") :]
    assert numbers and all(f"[{n}]" in sources for n in numbers)


def test_a_text_superseded_later_was_on_the_table_before(talks: Talks) -> None:
    response = talks.client.get(f"/briefing.pdf?as_of=2025-11-22&{CHOICE}")
    assert response.status_code == 200, response.text
    text = " ".join(pdf_pages(response.content))
    texts = _section(text, "Texts on the table, as of 22 Nov 2025", "Sovereignty")
    assert "Plan plan-28 SUPERSEDED LATER" in texts and "An original text" in texts
    assert "plan-19" not in texts and "Plan memo" not in texts  # withdrawn, whenever it was


def test_texts_can_be_left_out_and_are_offered_by_the_form(talks: Talks) -> None:
    response = talks.client.get(f"/briefing.pdf?{VIEW}&omit=texts")
    assert response.status_code == 200
    assert "Texts on the table" not in " ".join(pdf_pages(response.content))
    form = talks.client.get(f"/briefing?{VIEW}").text
    assert 'name="omit" value="texts"' in form
    assert '<option value="round:geneva-2025-11">Geneva talks (23 Nov 2025)</option>' in form
    assert 'value="round:geneva-2025-11"' in form.split('id="b-since"')[1][:200]


def test_an_unknown_round_is_refused_beside_the_since_field(talks: Talks) -> None:
    page = talks.client.get(f"/briefing?as_of=2025-11-30&since=round:nowhere&{CHOICE}")
    assert page.status_code == 400
    assert '<p class="field-error" id="since-error">there is no round' in page.text
    pdf = talks.client.get("/briefing.pdf?as_of=2025-11-30&since=round:nowhere")
    assert pdf.status_code == 400 and "there is no round" in pdf.text


def test_the_word_document_has_the_round_and_the_texts(talks: Talks) -> None:
    response = talks.client.get(f"/briefing.docx?{VIEW}")
    assert response.status_code == 200
    paragraphs = [p.text for p in docx.Document(io.BytesIO(response.content)).paragraphs]
    text = "\n".join(paragraphs)
    assert "As of: 30 Nov 2025; changes since the Geneva talks (23 Nov 2025)" in text
    assert "What changed since the Geneva talks (23 Nov 2025)" in text
    start = paragraphs.index("Texts on the table, as of 30 Nov 2025")
    texts = "\n".join(paragraphs[start : paragraphs.index("Sovereignty", start)])
    assert "Plan plan-19 (leaked)" in texts
    assert "Changes from Plan plan-28 (20 Nov 2025): 1 kept, 1 changed, 1 new, 2 removed." in texts
    assert "Point 5 (was 6): “600,000” → “800,000”" in texts
    assert "Ukraine: rejects point 5 (25 Nov 2025" in texts
    assert "plan-28 (superseded)" not in texts and "memo" not in texts


def test_the_briefing_chart_marks_the_rounds_with_their_names(talks: Talks) -> None:
    page = talks.client.get(f"/briefing?as_of=2025-11-30&{CHOICE}").text
    chart = page[page.index('id="issue-army"') :]
    chart = chart[: chart.index("</section>")]
    assert 'class="tl-round-name">Paris meeting</text>' in chart
    assert 'class="tl-round-name">Geneva talks</text>' in chart
    assert "Rounds of talks: Paris meeting, 1 Oct 2025; Geneva talks, 23 Nov 2025." in chart
    # The PDF draws the names too (text in the SVG).
    (chart_page,) = [p for p in pdf_pages(talks.pdf) if "ARMY CAP: STANCES OVER TIME" in p]
    assert "Paris meeting Geneva talks" in chart_page


def test_the_issue_and_cell_timelines_mark_the_rounds(talks: Talks) -> None:
    for path in ("/issues/army?as_of=2025-11-30", "/cells/ua/army?as_of=2025-11-30"):
        page = talks.client.get(path)
        assert page.status_code == 200, path
        assert 'class="tl-round-name">Geneva talks</text>' in page.text, path
        assert "Dashed lines mark the rounds of talks: Paris meeting (1 Oct 2025)" in page.text


def test_round_names_take_rows_and_rounds_off_the_chart_are_left_out() -> None:
    party = Party(id=1, slug="p", name="P", short_name="P")
    positions = [
        Position(id=n, party_id=1, issue_id=1, stance=stance, effective_from=day, recorded_at=NOW)
        for n, (stance, day) in enumerate(
            [(Stance.ACCEPTS, date(2025, 1, 1)), (Stance.REJECTS, date(2025, 6, 1))]
        )
    ]
    day = date(2025, 3, 1)
    close = [(day + timedelta(days=n), f"Round {n}") for n in range(ROUND_ROWS + 1)]
    chart = build_timeline(
        positions, parties=[party], as_of=date(2025, 7, 1),
        rounds=[(date(2024, 12, 1), "Before"), *close, (date(2025, 8, 1), "After")],
    )  # fmt: skip
    assert chart is not None
    assert [m.name for m in chart.rounds] == [name for _, name in close]
    ys = [m.label_y for m in chart.rounds]
    assert len(set(ys[:ROUND_ROWS])) == ROUND_ROWS  # each close name on a row of its own
    assert chart.rounds[-1].label == ""  # no room left: named only in the text alternative
    assert chart.lanes[0].y >= max(ys)  # the lanes start below the names
    plain = build_timeline(positions, parties=[party], as_of=date(2025, 7, 1))
    assert plain is not None and plain.rounds == [] and plain.lanes[0].y < chart.lanes[0].y
