"""Reading a quotes CSV for an import, a line at a time: its columns, its lines (bounded in
length, never the whole file) and each row split into the import's row models."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from app.services import exports

MAX_CSV_LINE = 1_000_000
"""The longest line (and so field) of a CSV, in bytes: far beyond any field's limit."""

Progress = Callable[[int], None]


CSV_COLUMNS = [
    "text", "kind", "said_on", "published_on", "party", "speaker", "speaker_role", "source_url",
    "source_title", "source_outlet", "source_published_on", "source_kind", "source_tier",
    "language", "translated", "status", "note", "issues", "position_rationale",
]  # fmt: skip
"""Columns of a quotes CSV; `issues` is "slug:stance; slug:stance", and a non-empty
position_rationale records a position per tagged issue from said_on, citing the row's quote."""
REQUIRED_COLUMNS = ("text", "kind", "said_on", "party", "source_url", "status")

SOURCE_COLUMNS = {
    "url": "source_url", "title": "source_title", "outlet": "source_outlet",
    "published_on": "source_published_on", "kind": "source_kind", "tier": "source_tier",
}  # fmt: skip
SPEAKER_COLUMNS = {"name": "speaker", "role": "speaker_role"}
QUOTE_COLUMNS = {"source": "source_url"}
POSITION_COLUMNS = {
    "issue": "issues", "stance": "issues", "condition": "issues", "-": "issues",
    "effective_from": "said_on", "rationale": "position_rationale",
    "evidence": "position_rationale",
}  # fmt: skip
"""Where a CSV row's parts come from: a row model's field -> the CSV column that gave it."""


class Unreadable(Exception):
    """A CSV that cannot be read on from `line`: not UTF-8, a line too long, broken quoting."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _csv_lines(handle: BinaryIO, progress: Progress) -> Iterator[str]:
    """The file's lines as text, each at most MAX_CSV_LINE bytes (so never the whole file)."""
    number = 0
    while raw := handle.readline(MAX_CSV_LINE + 1):
        number += 1
        if len(raw) > MAX_CSV_LINE:
            raise Unreadable(number, f"a line longer than {MAX_CSV_LINE:,} bytes")
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unreadable(
                number, f"not UTF-8 text (byte {exc.start + 1} of the line); save it as UTF-8"
            ) from None
        progress(len(raw))
        yield line


def _header_problem(header: list[str]) -> str | None:
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        return f"unknown column(s) {', '.join(map(repr, unknown))}; the columns are {', '.join(CSV_COLUMNS)}"
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        return f"column(s) {', '.join(map(repr, repeated))} given twice"
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        return f"missing column(s) {', '.join(missing)}"
    return None


def csv_records(path: Path, progress: Progress) -> Iterator[tuple[int, dict[str, str], int]]:
    """Each row as {column: value} with the line it starts on and how many fields it has beyond
    the header's columns; Unreadable when the file cannot be read on."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_LINE))
    with path.open("rb") as handle:
        reader = csv.reader(_csv_lines(handle, progress), strict=True)
        try:
            header = [name.strip() for name in next(reader, [])]
            problem = _header_problem(header)
            if problem:
                raise Unreadable(1, problem)
            start = reader.line_num + 1
            for record in reader:
                if any(value.strip() for value in record):
                    values = {
                        name: exports.restore(text) if (text := value.strip())[:1] == "'" else text
                        for name, value in zip(header, record, strict=False)
                    }
                    yield start, values, max(0, len(record) - len(header))
                start = reader.line_num + 1
        except csv.Error as exc:
            raise Unreadable(reader.line_num, f"not readable as CSV: {exc}") from None


@dataclass
class CsvRow:
    """One CSV row in the seeds' shape: its quote, the source and speaker it may define, and a
    position per tagged issue when it has a position_rationale."""

    quote: dict[str, Any]
    source: dict[str, Any] | None
    speaker: dict[str, Any] | None
    positions: list[dict[str, Any]]


def csv_row(row: Mapping[str, str], ref: str) -> CsvRow:
    party, speaker, url = row.get("party", ""), row.get("speaker", ""), row.get("source_url", "")
    tags = []
    for part in filter(None, (p.strip() for p in row.get("issues", "").split(";"))):
        issue, _, stance = part.partition(":")
        tags.append({"issue": issue.strip(), "stance": stance.strip()})
    quote = {
        "ref": ref, "text": row.get("text", ""), "kind": row.get("kind", ""),
        "said_on": row.get("said_on", ""), "published_on": row.get("published_on") or None,
        "speaker": speaker or None, "party": party, "source": url,
        "language": row.get("language") or "en", "translated": row.get("translated") or False,
        "status": row.get("status", ""), "note": row.get("note") or None, "issues": tags,
    }  # fmt: skip
    source = None
    if url and row.get("source_title"):
        source = {
            "url": url, "title": row.get("source_title", ""),
            "outlet": row.get("source_outlet", ""),
            "published_on": row.get("source_published_on") or None,
            "kind": row.get("source_kind", ""), "tier": row.get("source_tier", ""),
        }  # fmt: skip
    rationale = row.get("position_rationale", "")
    return CsvRow(
        quote=quote,
        source=source,
        speaker=(
            {"name": speaker, "role": row.get("speaker_role", ""), "party": party}
            if speaker
            else None
        ),
        positions=[
            {
                "party": party,
                "issue": tag["issue"],
                "stance": tag["stance"],
                "effective_from": row.get("said_on", ""),
                "rationale": rationale,
                "evidence": [ref],
            }  # fmt: skip
            for tag in (tags if rationale else [])
        ],
    )
