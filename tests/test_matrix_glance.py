"""The matrix at a glance (issue 13): the compact view and the detailed switch, choosing parties and
issues (also for the CSV and JSON twins), the tallies and agreement row, and date controls that
answer in words beside the field. The browser half (fit, sticky headers, the cell panel, phones)
is in tests/test_e2e_glance.py."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.html_reader import parse

AS_OF = {"as_of": "2025-04-23"}


def _rows(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/parties/([a-z0-9-]+)', html)


def _columns(html: str) -> list[str]:
    return re.findall(r'<th scope="col"[^>]*><a href="/issues/([a-z0-9-]+)', html)


def test_compact_is_the_default_and_detailed_is_a_switch(
    client: TestClient, seeded: Session
) -> None:
    compact = client.get("/", params=AS_OF)
    assert compact.status_code == 200
    assert 'class="matrix compact"' in compact.text
    # The cell holds the stance word; dates and counts are in its detail, not the cell.
    assert '<span class="sw">Rejects</span>' in compact.text
    assert "since 22 Apr 2025" not in compact.text
    assert 'href="/?as_of=2025-04-23&view=detailed"' in compact.text
    detailed = client.get("/", params={**AS_OF, "view": "detailed"}).text
    assert 'class="matrix compact"' not in detailed and "since 22 Apr 2025" in detailed
    assert '<input type="hidden" name="view" value="detailed">' in detailed
    bad = client.get("/", params={**AS_OF, "view": "sideways"})
    assert bad.status_code == 400 and "compact or detailed" in bad.text


def test_markers_have_words_for_screen_readers_and_a_legend(
    client: TestClient, seeded: Session
) -> None:
    html = client.get("/", params=AS_OF).text
    labels = re.findall(r'aria-label="([^"]*)"', html)
    assert any(
        label.startswith("Russia on ") and "unconfirmed" in label for label in labels
    ) or any("unconfirmed" in label for label in labels)
    legend = html[html.index('class="legend"') :]
    assert "stale: newest evidence more than 60 days before the as-of date" in legend
    assert "denied: the evidence was denied" in legend
    # Symbols are hidden from screen readers: the link's label carries the words.
    assert re.search(r'<span class="mks" aria-hidden="true">', html)


def test_choosing_parties_and_issues_narrows_the_matrix_and_its_twins(
    client: TestClient, seeded: Session
) -> None:
    everything = client.get("/", params=AS_OF).text
    assert len(_rows(everything)) >= 4 and len(_columns(everything)) >= 9
    chosen = client.get(
        "/", params={**AS_OF, "parties": "us,ua", "issues": ["crimea-recognition", "ceasefire"]}
    )
    assert chosen.status_code == 200
    assert _rows(chosen.text) == ["us", "ua"]
    assert _columns(chosen.text) == ["crimea-recognition", "ceasefire"]
    assert "showing 2 parties and 2 issues" in chosen.text
    for twin in ("/exports/matrix.csv?", "/api/v1/matrix?", "/briefing.pdf?"):
        link = re.search(re.escape(twin) + r'[^"]*', chosen.text)
        assert (
            link and "parties=us,ua" in link[0] and "issues=crimea-recognition,ceasefire" in link[0]
        ), twin
    csv = client.get(
        "/exports/matrix.csv", params={**AS_OF, "parties": "us,ua", "issues": "ceasefire"}
    )
    assert csv.status_code == 200 and len(csv.text.strip().splitlines()) == 1 + 2
    api = client.get(
        "/api/v1/matrix", params={**AS_OF, "parties": ["us", "ua"], "issues": "ceasefire"}
    ).json()
    assert [p["slug"] for p in api["parties"]] == ["us", "ua"]
    assert [i["slug"] for i in api["issues"]] == ["ceasefire"]
    # A bloc brings its members.
    bloc = client.get("/", params={**AS_OF, "parties": "eu"}).text
    assert _rows(bloc)[0] == "eu" and len(_rows(bloc)) > 1


def test_an_unknown_party_or_issue_is_named(client: TestClient, seeded: Session) -> None:
    page = client.get("/", params={**AS_OF, "parties": "us,atlantis"})
    assert page.status_code == 400 and "atlantis" in page.text
    api = client.get("/api/v1/matrix", params={**AS_OF, "issues": "moon-base"})
    assert api.status_code == 400 and "moon-base" in api.text


def test_tallies_and_the_agreement_row(client: TestClient, seeded: Session) -> None:
    html = client.get("/", params={**AS_OF, "parties": "us,ua,ru"}).text
    foot = html[html.index("<tfoot>") : html.index("</tfoot>")]
    assert "Tally" in foot and "Agreement" in foot
    tallies = re.findall(
        r'<span class="visually-hidden">([^<]*(?:accept|reject|conditional|unclear|no stances)[^<]*)</span>',
        html,
    )
    assert tallies and all(
        re.fullmatch(r"(\d+ (accept|conditional|unclear|reject|split)(, )?)+|no stances", t)
        for t in tallies
    )
    # US accepts and Ukraine rejects recognising Crimea: furthest apart.
    columns = _columns(html)
    agreement = re.findall(r'<td class="agreement a-([a-z]+)"', foot)
    assert len(agreement) == len(columns)
    assert agreement[columns.index("crimea-recognition")] == "apart"


def test_changes_since_after_as_of_is_an_error_beside_the_field(
    client: TestClient, seeded: Session
) -> None:
    response = client.get("/", params={"as_of": "2025-04-20", "since": "2025-04-22"})
    assert response.status_code == 422
    html = response.text
    assert 'id="since-error"' in html and "must be before the as-of date (20 Apr 2025)" in html
    assert 'aria-invalid="true"' in html and 'value="2025-04-22"' in html  # the typed value is kept
    assert 'class="matrix compact"' in html  # the matrix is still there
    fragment = client.get(
        "/", params={"as_of": "2025-04-20", "since": "2025-04-22"}, headers={"HX-Request": "true"}
    )
    assert (
        fragment.status_code == 422
        and "<html" not in fragment.text
        and 'id="since-error"' in fragment.text
    )


def test_known_on_has_a_control_and_a_future_date_says_so(
    client: TestClient, seeded: Session
) -> None:
    html = client.get("/", params={**AS_OF, "known_on": "2025-04-22"}).text
    assert re.search(r'<input type="date" id="known_on" name="known_on" value="2025-04-22"', html)
    ahead = (date.today() + timedelta(days=40)).isoformat()
    future = client.get("/", params={"as_of": ahead}).text
    assert "is in the future" in future
    assert "is in the future" not in client.get("/", params=AS_OF).text


def test_the_cell_detail_fragment_has_a_close_button_and_a_focus_target(
    client: TestClient, seeded: Session
) -> None:
    fragment = client.get(
        "/cells/ua/crimea-recognition", params=AS_OF, headers={"HX-Request": "true"}
    ).text
    assert "data-close-detail" in fragment and 'tabindex="-1" data-detail-heading' in fragment
    page = client.get("/cells/ua/crimea-recognition", params=AS_OF).text
    assert "data-close-detail" not in page  # its own page needs no close button
    assert parse(page) is not None


def test_issues_are_grouped_under_their_themes(client: TestClient, seeded: Session) -> None:
    html = client.get("/", params=AS_OF).text
    themes = re.findall(r'<th scope="colgroup" colspan="(\d+)" class="theme">([^<]+)</th>', html)
    assert [title.replace("&shy;", "") for _, title in themes] == [
        "Territory",
        "Security",
        "Economy",
        "Process",
    ]
    columns = _columns(html)
    assert sum(int(n) for n, _ in themes) == len(columns)
    # Each theme's issues sit together under its heading, in the themes' order.
    assert columns[:3] == ["crimea-recognition", "occupied-territories", "kharkiv-return"]
    assert columns[-1] == "ceasefire"


def test_issues_as_rows_and_collapsed_blocs(client: TestClient, seeded: Session) -> None:
    turned = client.get("/", params={**AS_OF, "rows": "issues"}).text
    assert 'class="matrix compact by-issue"' in turned
    issue_rows = re.findall(r'<th scope="row" title="[^"]*"><a href="/issues/([a-z0-9-]+)', turned)
    assert issue_rows[:3] == ["crimea-recognition", "occupied-territories", "kharkiv-return"]
    assert re.findall(r'<th scope="rowgroup"[^>]*>([^<]+)</th>', turned)[:2] == [
        "Territory",
        "Security",
    ]
    assert "Parties as rows" in turned
    everything = _rows(client.get("/", params=AS_OF).text)
    folded = client.get("/", params={**AS_OF, "collapsed": "eu"}).text
    assert "eu" in _rows(folded) and len(_rows(folded)) < len(everything)
    assert "Show the members of" in folded and "collapsed=eu" in folded
    assert client.get("/", params={**AS_OF, "collapsed": "us"}).status_code == 400  # not a bloc
    assert client.get("/", params={**AS_OF, "rows": "diagonal"}).status_code == 400


def test_compact_headers_break_long_words_at_hyphenation_points(
    client: TestClient, seeded: Session
) -> None:
    """A narrow column breaks a long issue title with a hyphen ("recog-nition"), never inside a
    syllable: the compact header carries soft hyphens (&shy;), which show only at a break."""
    page = client.get("/", params=AS_OF).text
    shy = "&shy;"
    assert f">Crimea recog{shy}ni{shy}tion</a></th>" in page
    assert f"mem{shy}ber{shy}ship" in page
    # Only in the header: the issue's link title and the detailed view keep the plain words.
    assert f'title="{shy}' not in page
    detailed = client.get("/", params={**AS_OF, "view": "detailed"}).text
    assert shy not in detailed
