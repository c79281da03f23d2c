"""Benchmark: time to make the briefing PDF, for the seed data, a year of talks and a large dataset.

Run by hand:  .venv/bin/python -m bench.briefing [--url DATABASE_URL] [--parties 10] [--issues 15]
              [--year tests/fixtures/year_2025.yaml]
It creates a scratch SQLite file (or uses the given, empty, database), loads the seed and times
its briefing; with --year it imports that file into a second scratch SQLite file and times the
briefing of all its parties and issues as of 15 Dec 2025 (changes since 1 Nov); then it
bulk-inserts parties x issues cells with 3 quotes and 2 positions each (so every issue has a
history, and a chart) and times the briefing limited to those parties and issues. Each run is
split into gathering the data and rendering the HTML (`build_briefing` + `render_html`) and
rendering the PDF (`render_pdf`, which lays the landscape matrix out as a document of its own),
and the PDF time into WeasyPrint's layout of the same HTML alone, in one document (the floor no
template change can go below) and the rest (writing the tagged PDF). One
warm-up run first, then the median of the runs is printed with the page count, the total as a
multiple of the floor, and the 1-minute load average (the machine is shared: read the figures
with it).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import insert
from sqlalchemy.orm import Session

from app import migrate
from app.config import PROJECT_ROOT
from app.db import make_engine
from app.models import (
    Issue,
    Party,
    Position,
    PositionEvidence,
    Quote,
    QuoteIssue,
    Source,
    Speaker,
    Stance,
)
from app.services import briefing, briefing_pdf, seed

STANCES = [Stance.ACCEPTS, Stance.AMBIGUOUS, Stance.REJECTS, Stance.CONDITIONAL]
STATUSES = ["confirmed", "reported", "confirmed", "denied"]
TIERS = ["on_record", "official_readout", "anonymous_official", "state_media", "aggregator"]
SOURCES = 60
BASE = 100_000
NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


def generate(session: Session, parties: int, issues: int) -> None:
    """Bulk-insert parties x issues cells: 3 quotes each, an earlier position and the one in force."""
    session.execute(
        insert(Party),
        [
            {
                "id": BASE + p,
                "slug": f"bp{p}",
                "name": f"Party {p} (Партія {p})",
                "short_name": f"P{p}",
                "kind": "state",
                "sort_order": 1000 + p,
            }
            for p in range(parties)
        ],
    )
    session.execute(
        insert(Issue),
        [
            {
                "id": BASE + i,
                "slug": f"bi{i}",
                "title": f"Term {i} of the settlement",
                "proposition": f"The settlement includes provision number {i} as drafted",
                "description": "A generated issue for the benchmark.",
                "sort_order": 1000 + i,
            }
            for i in range(issues)
        ],
    )
    session.execute(
        insert(Speaker),
        [
            {
                "id": BASE + p,
                "name": f"Speaker {p}",
                "role": "Foreign minister",
                "party_id": BASE + p,
            }
            for p in range(parties)
        ],
    )
    session.execute(
        insert(Source),
        [
            {
                "id": BASE + s,
                "url": f"https://news.example.org/2025/05/report-{s}",
                "title": f"Report {s} on the talks",
                "outlet": f"Outlet {s % 12}",
                "published_on": date(2025, 5, 1) + timedelta(days=s % 20),
                "kind": "news_report",
                "tier": TIERS[s % len(TIERS)],
            }
            for s in range(SOURCES)
        ],
    )
    quotes, tags, positions, evidence = [], [], [], []
    serial = BASE
    start = date(2025, 3, 1)
    for p in range(parties):
        for i in range(issues):
            cell = p * issues + i
            days = [start + timedelta(days=(cell % 20) + 10 * k) for k in range(3)]
            ids = []
            for k, day in enumerate(days):
                serial += 1
                ids.append(serial)
                quotes.append(
                    {
                        "id": serial,
                        "text": (
                            f"Speaker {p} said on the record that their government's view of term {i} "
                            "had not changed, but that it would study any text put forward by the "
                            "mediators before the next round of talks (Переговори тривають)."
                        ),
                        "kind": "direct" if k % 2 == 0 else "reported",
                        "said_on": day,
                        "party_id": BASE + p,
                        "speaker_id": BASE + p,
                        "source_id": BASE + (cell * 3 + k) % SOURCES,
                        "status": STATUSES[(cell + k) % len(STATUSES)],
                    }
                )
                tags.append(
                    {"quote_id": serial, "issue_id": BASE + i, "stance": STANCES[(p + i) % 4]}
                )
            old = STANCES[(p + i + 1) % 4]
            new = STANCES[(p + i) % 4]
            for n, (stance, day, cited) in enumerate(
                ((old, days[0], ids[:1]), (new, days[2], ids))
            ):
                position_id = BASE + cell * 2 + n
                positions.append(
                    {
                        "id": position_id,
                        "party_id": BASE + p,
                        "issue_id": BASE + i,
                        "stance": stance,
                        "condition": "if the ceasefire holds"
                        if stance == Stance.CONDITIONAL
                        else None,
                        "effective_from": day,
                        "rationale": (
                            f"Party {p}'s statements on term {i} since {day.isoformat()} show this "
                            "stance; see the quotes."
                        ),
                    }
                )
                evidence.extend({"position_id": position_id, "quote_id": q} for q in cited)
    for model, rows in (
        (Quote, quotes),
        (QuoteIssue, tags),
        (Position, positions),
        (PositionEvidence, evidence),
    ):
        for chunk in range(0, len(rows), 5000):
            session.execute(insert(model), rows[chunk : chunk + 5000])


def layout_seconds(html: str) -> float:
    """Seconds WeasyPrint alone takes to lay the HTML out (no PDF written)."""
    from weasyprint import HTML

    css = briefing_pdf.engine_stylesheet()
    started = time.perf_counter()
    HTML(
        string=html,
        base_url=briefing_pdf.RENDER_BASE_URL,
        url_fetcher=briefing_pdf.static_only_fetcher(),
        media_type="print",
    ).render(stylesheets=[css])
    return time.perf_counter() - started


def timings(
    session: Session, request: briefing.BriefingRequest, runs: int, save: Path | None = None
) -> Figures:
    """Median seconds of (data + HTML), of the PDF, of WeasyPrint's layout alone and of the
    processor time of the whole (data, HTML and PDF: what the load of others does not inflate
    much), the page count and the PDF size (after one warm-up run)."""
    gather: list[float] = []
    render: list[float] = []
    layout: list[float] = []
    processor: list[float] = []
    pdf = b""
    for run in range(runs + 1):
        cpu = time.process_time()
        started = time.perf_counter()
        document = briefing.build_briefing(
            session, request=request, generated_at=NOW, base_url="https://peace.example.org"
        )
        html = briefing.render_html(document, preview=False)
        middle = time.perf_counter()
        pdf = briefing_pdf.render_pdf(html)
        ended = time.perf_counter()
        cpu = time.process_time() - cpu
        session.expire_all()
        if run == 0:
            continue  # the warm-up: fonts, the stylesheet and the templates load once
        gather.append(middle - started)
        render.append(ended - middle)
        layout.append(layout_seconds(html))
        processor.append(cpu)
    if save is not None:
        save.write_bytes(pdf)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    median = statistics.median
    return Figures(
        median(gather), median(render), median(layout), median(processor), pages, len(pdf)
    )


@dataclass(frozen=True, slots=True)
class Figures:
    """Median seconds of one briefing's runs, and what it made."""

    gather: float
    render: float
    layout: float
    processor: float
    pages: int
    size: int


def report(label: str, figures: Figures, runs: int) -> None:
    """One line of results."""
    total = figures.gather + figures.render
    print(
        f"{label:<24} data+HTML {figures.gather:5.2f} s  PDF {figures.render:5.2f} s (layout "
        f"alone {figures.layout:5.2f} s)  total {total:5.2f} s = {total / figures.layout:4.2f} x "
        f"the floor; processor {figures.processor:5.2f} s  {figures.pages:3d} pages  "
        f"{figures.size / 1024:5.0f} KiB  (median of {runs}; load {os.getloadavg()[0]:.1f})"
    )


def year_briefing(path: Path, runs: int, save: Path | None) -> None:
    """Time the briefing of a year of talks imported from `path` into a scratch SQLite file."""
    from app.services import transfer

    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'year.db'}"
    migrate.upgrade(url=url)
    engine = make_engine(url)
    with Session(engine) as session:
        transfer.import_file(session, path)
        session.commit()
        request = briefing.BriefingRequest(as_of=date(2025, 12, 15), since=date(2025, 11, 1))
        document = briefing.build_briefing(
            session, request=request, generated_at=NOW, base_url=None
        )
        size = f"{len(document.matrix.parties)} x {len(document.matrix.issues)}"
        session.expire_all()
        report(f"year ({size})", timings(session, request, runs, save), runs)
    engine.dispose()


def _path(folder: Path | None, name: str) -> Path | None:
    return folder / name if folder is not None else None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", help="an empty database to use (default: a scratch SQLite file)")
    parser.add_argument("--parties", type=int, default=10)
    parser.add_argument("--issues", type=int, default=15)
    parser.add_argument("--year", type=Path, help="a year of talks to import and time")
    parser.add_argument("--runs", type=int, default=5, help="runs at seed size")
    parser.add_argument("--large-runs", type=int, default=3, help="runs at the large size")
    parser.add_argument("--save", type=Path, help="a folder to write seed.pdf and large.pdf to")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    migrate.upgrade(url=url)
    engine = make_engine(url)
    with Session(engine) as session:
        seed.load_seeds(session, PROJECT_ROOT / "seeds")
        session.commit()
        seed_request = briefing.BriefingRequest(as_of=date(2025, 4, 23), since=date(2025, 4, 16))
        report(
            "seed (8 x 9)",
            timings(session, seed_request, args.runs, _path(args.save, "seed.pdf")),
            args.runs,
        )
        if args.year:
            year_briefing(args.year, args.runs, _path(args.save, "year.pdf"))
        started = time.perf_counter()
        generate(session, args.parties, args.issues)
        session.commit()
        print(
            f"generated {args.parties} x {args.issues} cells, 3 quotes each, "
            f"in {time.perf_counter() - started:.1f} s"
        )
        large_request = briefing.BriefingRequest(
            as_of=date(2025, 5, 31),
            since=date(2025, 3, 25),
            parties=tuple(f"bp{p}" for p in range(args.parties)),
            issues=tuple(f"bi{i}" for i in range(args.issues)),
        )
        label = f"large ({args.parties} x {args.issues} x 3)"
        report(
            label,
            timings(session, large_request, args.large_runs, _path(args.save, "large.pdf")),
            args.large_runs,
        )
    engine.dispose()


if __name__ == "__main__":
    main()
