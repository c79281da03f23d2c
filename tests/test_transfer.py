"""Bulk import and export: all-or-nothing with row-numbered errors, idempotent, exact round trip."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tracemalloc
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app import migrate
from app.db import Base, make_engine
from app.models import AuditEntry, Position, Quote, Stance
from app.services import audit, catalog, export_file, matrix, quotes, transfer, versioning
from app.services.errors import ValidationFailed
from app.services.users import as_utc
from tests.conftest import StatementCounter, scratch_database

CSV_HEADER = ",".join(transfer.CSV_COLUMNS)


def _counts(session: Session) -> dict[str, int]:
    return {
        t.name: session.scalar(select(func.count()).select_from(t)) or 0
        for t in Base.metadata.sorted_tables
    }


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_then_import_into_an_empty_database_round_trips_exactly(
    seeded: Session, backend: str, tmp_path: Path, fmt: str
) -> None:
    exported = export_file.export_text(seeded, fmt)
    path = _write(tmp_path, f"all.{fmt}", exported)
    with scratch_database(backend, tmp_path) as url:
        migrate.upgrade(url=url)
        engine = make_engine(url)
        try:
            with Session(engine) as fresh, fresh.begin():
                added = transfer.import_file(fresh, path)
                assert added["quotes"] == len(yaml.safe_load(exported)["quotes"])
            with Session(engine) as fresh:
                assert export_file.export_text(fresh, fmt) == exported
        finally:
            engine.dispose()


def test_reimporting_the_same_file_adds_nothing(seeded: Session, tmp_path: Path) -> None:
    path = _write(tmp_path, "all.json", export_file.export_text(seeded, "json"))
    before = _counts(seeded)
    added = transfer.import_file(seeded, path)
    assert sum(added.values()) == 0
    assert _counts(seeded) == before


def test_csv_import_creates_sources_speakers_quotes_and_positions(
    seeded: Session, tmp_path: Path
) -> None:
    rows = [
        CSV_HEADER,
        '"Ukraine will never trade territory for peace.",direct,2025-05-02,,ua,Andrii Sybiha,Foreign Minister,'
        "https://example.org/sybiha,Interview,Example Wire,2025-05-02,interview,on_record,en,false,confirmed,,"
        '"occupied-territories:rejects",Sybiha rejected it on the record.',
        '"=cmd|calc!A1",reported,2025-05-03,,ua,,,https://example.org/sybiha,,,,,,en,false,reported,,,',
    ]
    path = _write(tmp_path, "quotes.csv", "\n".join(rows) + "\n")
    before = _counts(seeded)
    added = transfer.import_file(seeded, path)
    assert (added["sources"], added["speakers"], added["quotes"], added["positions"]) == (
        1,
        1,
        2,
        1,
    )
    assert _counts(seeded)["quotes"] == before["quotes"] + 2
    assert sum(transfer.import_file(seeded, path).values()) == 0  # idempotent


def test_invalid_file_reports_every_error_by_row_and_writes_nothing(
    seeded: Session, tmp_path: Path
) -> None:
    document = yaml.safe_load(export_file.export_text(seeded, "yaml"))
    document["quotes"].append(
        dict(document["quotes"][0], ref="new1", text="A new quote", said_on="2025-02-30")
    )
    document["quotes"].append(
        dict(document["quotes"][0], ref="new2", text="Another", party="atlantis")
    )
    document["positions"].append(
        {
            "party": "ua",
            "issue": "ceasefire",
            "stance": "conditional",
            "effective_from": "2025-05-01",
            "rationale": "x",
            "evidence": ["q1"],
        }
    )
    document["positions"].append(
        {
            "party": "ua",
            "issue": "nowhere",
            "stance": "rejects",
            "effective_from": "2025-01-01",
            "rationale": "x",
            "evidence": ["missing-ref"],
        }
    )
    path = _write(tmp_path, "bad.json", json.dumps(document))
    before = _counts(seeded)
    with pytest.raises(transfer.ImportRejected) as caught:
        transfer.import_file(seeded, path)
    found = {(e.section, e.row, e.field.split(".")[0]) for e in caught.value.errors}
    quotes = len(document["quotes"])
    positions = len(document["positions"])
    assert ("quotes", quotes - 1, "said_on") in found
    assert ("quotes", quotes, "party") in found
    assert ("positions", positions - 1, "-") in found or (
        "positions",
        positions - 1,
        "condition",
    ) in found
    assert ("positions", positions, "issue") in found
    assert ("positions", positions, "evidence") in found
    assert _counts(seeded) == before


def test_cli_import_dry_run_errors_and_progress(backend: str, tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad.csv", CSV_HEADER + "\nHello,spoken,2025-13-01,atlantis\n")
    with scratch_database(backend, tmp_path) as url:
        env = {**os.environ, "DATABASE_URL": url}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "app.cli", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )

        assert run("db", "upgrade").returncode == 0
        assert run("seed").returncode == 0
        exported = run("export", "--format", "json")
        assert exported.returncode == 0 and json.loads(exported.stdout)["quotes"]
        rejected = run("import", str(bad))
        assert rejected.returncode == 1
        assert "line 2, kind:" in rejected.stderr and "line 2, said_on:" in rejected.stderr
        assert "nothing was imported" in rejected.stderr
        good = _write(tmp_path, "good.json", exported.stdout)
        dry = run("import", str(good), "--dry-run")
        assert dry.returncode == 0 and "dry run" in dry.stdout
        assert "added nothing new" in run("import", str(good)).stdout


def _new_position_document(seeded: Session, recorded_at: str) -> dict[str, Any]:
    """The export plus one new quote of Ukraine and a position citing it, recorded then."""
    document = yaml.safe_load(export_file.export_text(seeded, "yaml"))
    quote = dict(document["quotes"][0], ref="new-quote", text="A new statement.", party="ua")
    quote.update(speaker=None, said_on="2025-05-01", published_on=None, issues=[])
    quote.update(confirms_or_denies=None)
    document["quotes"].append(quote)
    document["positions"].append(
        {
            "party": "ua",
            "issue": "nato-membership",
            "stance": "accepts",
            "effective_from": "2025-05-01",
            "rationale": "Said so on the record.",
            "evidence": ["new-quote"],
            "recorded_at": recorded_at,
        }
    )
    return document


def test_import_refuses_a_recording_date_in_the_future_naming_its_row(
    seeded: Session, tmp_path: Path
) -> None:
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    document = _new_position_document(seeded, future)
    path = _write(tmp_path, "future.json", json.dumps(document))
    before = _counts(seeded)
    with pytest.raises(transfer.ImportRejected) as caught:
        transfer.import_file(seeded, path)
    row = len(document["positions"])
    assert [(e.section, e.row, e.field) for e in caught.value.errors] == [
        ("positions", row, "recorded_at")
    ]
    assert "is in the future" in str(caught.value.errors[0])
    assert str(caught.value.errors[0]).startswith(f"positions row {row}, recorded_at: ")
    assert _counts(seeded) == before


def test_import_keeps_each_rows_recording_date_in_utc_and_audits_it(
    seeded: Session, tmp_path: Path
) -> None:
    document = _new_position_document(seeded, "2025-05-02T10:15:00+02:00")
    path = _write(tmp_path, "archive.json", json.dumps(document))
    added = transfer.import_file(seeded, path)
    assert added["positions"] == 1
    position = seeded.scalars(select(Position).where(Position.rationale.like("Said so on%"))).one()
    assert as_utc(position.recorded_at) == datetime(2025, 5, 2, 8, 15, tzinfo=UTC)
    entry = seeded.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "positions", AuditEntry.entity_id == str(position.id)
        )
    ).one()
    assert entry.action == "create" and entry.actor_id is None
    assert entry.after is not None
    assert entry.after["note"] == (
        "imported with its original recording date, 2025-05-02T08:15:00+00:00"
    )
    assert entry.after["recorded_at"].startswith("2025-05-02T08:15:00")
    # As we knew it the day before that recording, the new position is not there yet.
    ua, nato = (
        catalog.get_party(seeded, slug="ua"),
        catalog.get_issue(seeded, slug="nato-membership"),
    )
    cell = matrix.build_matrix(seeded, as_of=date(2025, 5, 3), known_on=date(2025, 5, 2)).cell(
        ua, nato
    )
    assert cell is not None and cell.stance == Stance.ACCEPTS
    before = matrix.build_matrix(seeded, as_of=date(2025, 5, 3), known_on=date(2025, 5, 1))
    assert before.cell(ua, nato) is None
    # A row without a recording date is recorded now, and its audit entry has no such note.
    plain = _new_position_document(seeded, "")
    del plain["positions"][-1]["recorded_at"]
    plain["quotes"][-1].update(ref="plain-quote", text="Another statement.")
    plain["positions"][-1].update(evidence=["plain-quote"], stance="rejects")
    plain["positions"][-1].update(effective_from="2025-05-04", rationale="Said no.")
    transfer.import_file(seeded, _write(tmp_path, "plain.json", json.dumps(plain)))
    now = seeded.scalars(select(Position).where(Position.rationale == "Said no.")).one()
    assert as_utc(now.recorded_at) > datetime.now(UTC) - timedelta(hours=1)
    entry = seeded.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "positions", AuditEntry.entity_id == str(now.id)
        )
    ).one()
    assert entry.after is not None and "note" not in entry.after


# ---------------------------------------------------------------------------------------------
# Issue 10, point 3: the forms' rules, hostile files, batched writes, streaming


SEED_SOURCE = "https://peacetalks.invalid/seeds/000_f42f69482efc36bc"


def _csv_line(**fields: str) -> str:
    """One quotes CSV row (a quote of Ukraine citing the seed's source unless told otherwise)."""
    row = {
        "text": "A statement.", "kind": "direct", "said_on": "2025-05-02", "party": "ua",
        "source_url": SEED_SOURCE, "language": "en", "status": "confirmed",
        "issues": "ceasefire:accepts", **fields,
    }  # fmt: skip
    buffer = io.StringIO()
    csv.DictWriter(buffer, fieldnames=transfer.CSV_COLUMNS, lineterminator="\n").writerow(row)
    return buffer.getvalue()


def _errors(session: Session, path: Path) -> list[tuple[str, int, str, str]]:
    with pytest.raises(transfer.ImportRejected) as caught:
        transfer.import_file(session, path)
    return [(e.section, e.row, e.field, e.message) for e in caught.value.errors]


def test_import_applies_the_quote_forms_rules_and_gives_their_messages(
    seeded: Session, tmp_path: Path
) -> None:
    typed = {
        "said_on": "2999-01-01",
        "note": "n" * 200_000,
        "text": "Peace\x00now",
        "language": "english!",
        "published_on": "2025-02-30",
    }
    lines = [_csv_line(**{name: value}) for name, value in typed.items()]
    path = _write(tmp_path, "rules.csv", CSV_HEADER + "\n" + "".join(lines))
    before = _counts(seeded)
    found = _errors(seeded, path)
    # The quote form, given each value, refuses it with the message the import gives.
    form = {
        "text": "A statement.", "kind": "direct", "said_on": "2025-05-02", "party": "ua",
        "source_url": SEED_SOURCE, "language": "en", "status": "confirmed",
        "issue_1": "ceasefire", "stance_1": "accepts",
    }  # fmt: skip
    for line, (name, value) in enumerate(typed.items(), start=2):
        with pytest.raises(ValidationFailed) as refused:
            quotes.parse_quote_input(seeded, {**form, name: value})
        assert ("line", line, name, refused.value.errors[name]) in found, (name, found)
    assert "out of range" in {(e[0], e[1]): e[3] for e in found}[("line", 2)]
    assert _counts(seeded) == before


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        # PyYAML reads 2025-02-30 as a timestamp and fails the whole file; here it is text that
        # the row's date rule refuses (a key given twice: the last one counts).
        ("date.yaml", "quotes:\n  - {QUOTE, said_on: 2025-02-30}\n", ("quotes", 1, "said_on")),
        ("nul.json", '{"quotes": [{QUOTE, "note": "a\\u0000b"}]}', ("quotes", 1, "note")),
        ("nul.yaml", 'quotes:\n  - {QUOTE, note: "a\\0b"}\n', ("quotes", 1, "note")),
        ("raw-nul.yaml", "quotes:\n  - {QUOTE, note: a\x00b}\n", ("line", 2, "-")),
        ("raw-nul.json", '{"quotes": [{QUOTE, "note": "a\x00b"}]}', ("line", 1, "-")),
        ("deep.json", '{"quotes": ' + "[" * 100_000 + "]" * 100_000 + "}", ("file", 0, "-")),
        ("deep.yaml", "quotes: " + "[" * 100_000 + "]" * 100_000 + "\n", ("line", 1, "-")),
        ("bidi.yaml", 'speakers:\n  - {name: "Ev\u202eil", party: ua}\n', ("speakers", 1, "name")),
        ("big-number.json", '{"parties": [{"sort_order": ' + "9" * 5000 + "}]}", ("file", 0, "-")),
        ("not-a-mapping.yaml", "- just\n- a list\n", ("file", 0, "-")),
        ("nul.csv", CSV_HEADER + "\n" + _csv_line(text="a\x00b"), ("line", 2, "text")),
        ("latin1.csv", CSV_HEADER + "\n" + _csv_line() + "caf\udce9\n", ("line", 3, "-")),
        ("columns.csv", "text,said on\nHello,2025-01-01\n", ("line", 1, "-")),
        ("quoting.csv", CSV_HEADER + "\n" + _csv_line() + 'a"b,"c\n', ("line", 3, "-")),
    ],
)
def test_a_hostile_file_gets_clear_errors_that_say_where(
    seeded: Session, tmp_path: Path, name: str, content: str, expected: tuple[str, int, str]
) -> None:
    quote = (
        '"text": "Peace.", "kind": "direct", "said_on": "2025-05-02", "party": "ua", '
        f'"source": "{SEED_SOURCE}", "status": "confirmed"'
    )
    path = tmp_path / name
    path.write_bytes(content.replace("QUOTE", quote).encode("utf-8", "surrogateescape"))
    before = _counts(seeded)
    found = _errors(seeded, path)
    assert [error[:3] for error in found] == [expected], found
    assert found[0][3] and "Traceback" not in found[0][3]
    assert _counts(seeded) == before


@pytest.mark.parametrize(("suffix", "limit"), [(".json", "20 MB"), (".yaml", "6 MB")])
def test_a_yaml_or_json_file_over_the_size_limit_is_refused_with_a_pointer_to_csv(
    seeded: Session, tmp_path: Path, suffix: str, limit: str
) -> None:
    path = tmp_path / f"big{suffix}"
    path.write_text('{"quotes": []}' + " " * transfer.MAX_DOCUMENT_BYTES[suffix], "utf-8")
    found = _errors(seeded, path)
    assert len(found) == 1 and found[0][:3] == ("file", 0, "-")
    assert limit in found[0][3] and "CSV" in found[0][3]


def test_a_file_full_of_errors_lists_the_first_thousand_and_counts_them_all(
    seeded: Session, tmp_path: Path
) -> None:
    lines = "".join(
        _csv_line(kind="spoken", said_on=f"2025-13-{n % 28 + 1:02d}") for n in range(700)
    )
    path = _write(tmp_path, "bad.csv", CSV_HEADER + "\n" + lines)
    with pytest.raises(transfer.ImportRejected) as caught:
        transfer.import_file(seeded, path)
    assert caught.value.total == 1400
    assert len(caught.value.errors) == transfer.MAX_LISTED_ERRORS
    assert str(caught.value.errors[0]).startswith("line 2, kind: Input should be 'direct'")


def test_a_csv_import_writes_in_batches_with_one_audit_entry_per_row_it_adds(
    seeded: Session, tmp_path: Path, count_statements: StatementCounter
) -> None:
    rows = 600
    lines = [
        # The first rows cite a source that a later row defines, as before.
        _csv_line(
            text=f"Statement {n}.",
            source_url="https://example.org/batch",
            speaker=f"Envoy {n % 7}",
            speaker_role="Envoy",
            issues="ceasefire:accepts; nato-membership:rejects",
            position_rationale=f"Said so ({n})." if n % 10 == 0 else "",
            **(
                {
                    "source_title": "Batch",
                    "source_outlet": "Wire",
                    "source_kind": "news_report",
                    "source_tier": "on_record",
                }
                if n == 5
                else {}
            ),
        )  # fmt: skip
        for n in range(rows)
    ]
    path = _write(tmp_path, "batch.csv", CSV_HEADER + "\n" + "".join(lines))
    before_version = versioning.current(seeded)
    last_entry = seeded.scalar(select(func.max(AuditEntry.id))) or 0
    count_statements.statements.clear()
    added = transfer.import_file(seeded, path)
    assert dict(added) == {"speakers": 7, "sources": 1, "quotes": rows, "positions": 2}
    # One position per (party, issue, stance, day): the 60 rows' 120 positions are 2.
    # A few statements per table and batch, not several per row (it was over 5,000).
    assert count_statements.count < 100, count_statements.statements
    audited = Counter(
        seeded.scalars(select(AuditEntry.entity_type).where(AuditEntry.id > last_entry))
    )
    assert audited == {"speakers": 7, "sources": 1, "quotes": rows, "positions": 2}
    quote = seeded.scalars(
        select(Quote).where(Quote.text == "Statement 3.").options(selectinload(Quote.issue_tags))
    ).one()
    entry = seeded.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "quotes", AuditEntry.entity_id == str(quote.id)
        )
    ).one()
    assert entry.after == {
        **audit.snapshot(quote),
        "tags": {"ceasefire": "accepts", "nato-membership": "rejects"},
    }
    assert versioning.current(seeded) != before_version  # cached views move on
    assert sum(transfer.import_file(seeded, path).values()) == 0  # still idempotent


def test_checking_a_csv_streams_it_rather_than_holding_it_whole(
    seeded: Session, tmp_path: Path
) -> None:
    lines = [_csv_line(text=f"{n} " + "x" * 4000) for n in range(2000)]
    path = _write(tmp_path, "long.csv", CSV_HEADER + "\n" + "".join(lines))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        plan = transfer.check_file(seeded, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert plan.quotes == 2000
    assert peak < size / 4, f"peak {peak:,} bytes for a {size:,}-byte file"


def test_a_document_citing_an_unknown_quote_or_round_an_unknown_document_is_refused(
    seeded: Session, tmp_path: Path
) -> None:
    data = export_file.export_document(seeded)
    document = data["documents"][0]
    document["slug"] = "another-plan"
    document["points"][0]["quote"] = "q9999"
    data["rounds"][0]["slug"] = "another-round"
    data["rounds"][0]["documents"] = ["no-such-plan"]
    path = _write(tmp_path, "bad.json", json.dumps(data))
    with pytest.raises(transfer.ImportRejected) as rejected:
        transfer.import_file(seeded, path)
    shown = [str(error) for error in rejected.value.errors]
    assert "documents row 1, points: unknown quote ref 'q9999'" in shown
    assert "rounds row 1, documents: unknown document 'no-such-plan'" in shown
