"""What a briefing link, the briefing form or the command line asks for, parsed and checked.

Every choice travels in the query string (`BriefingRequest.query()`), so a briefing link is its
own permalink: dates, parties, issues, the title, the editor's lead and the parts left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from urllib.parse import urlencode

from app.forms.fields import ROUND_PREFIX, Moment
from app.services.errors import InvalidParameter

FindRound = Callable[[str], Moment | None]

DEFAULT_TITLE = "Ukraine peace talks: positions briefing"
TITLE_MAX_LENGTH = 200
LEAD_MAX_LENGTH = 2000
MAX_SLUGS = 200
T = TypeVar("T")

OMITTABLE: dict[str, str] = {
    "summary": "The summary (bottom line)",
    "matrix": "The matrix",
    "changes": "What changed",
    "texts": "Texts on the table",
    "issues": "Each issue's stances and quotes",
    "no_position": "“No recorded position” lines",
    "charts": "Timeline charts",
}
"""The parts of the briefing a reader may leave out (`omit=`), with the form's labels."""

# Invisible control characters (tab and line breaks allowed in the lead), as the forms refuse.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class BriefingRequest:
    """What a briefing link or command line asks for; the same request gives the same document."""

    as_of: date
    since: date | None = None
    known_on: date | None = None
    parties: tuple[str, ...] = ()
    issues: tuple[str, ...] = ()
    title: str = DEFAULT_TITLE
    lead: str = ""
    omit: tuple[str, ...] = ()
    since_round: str | None = None
    """The round `since` was given as (`round:<slug>`): `since` is then the day before it."""
    since_label: str = ""
    """The words for `since`: "the Geneva talks (23 Nov 2025)" for a round, else empty."""

    def query(self, *, known_on: date | None = None) -> str:
        """The query string that asks for this briefing again (known_on pinned when given)."""
        params: list[tuple[str, str]] = [("as_of", self.as_of.isoformat())]
        if self.since_round is not None:
            params.append(("since", f"{ROUND_PREFIX}{self.since_round}"))
        elif self.since is not None:
            params.append(("since", self.since.isoformat()))
        pinned = self.known_on or known_on
        if pinned is not None:
            params.append(("known_on", pinned.isoformat()))
        if self.parties:
            params.append(("parties", ",".join(self.parties)))
        if self.issues:
            params.append(("issues", ",".join(self.issues)))
        if self.title != DEFAULT_TITLE:
            params.append(("title", self.title))
        if self.lead:
            params.append(("lead", self.lead))
        if self.omit:
            params.append(("omit", ",".join(self.omit)))
        return urlencode(params)

    @property
    def since_words(self) -> str:
        """What `since` names in running text: "the Geneva talks (23 Nov 2025)" or "1 Nov 2025"."""
        if self.since_label:
            return self.since_label
        return f"{self.since:%-d %b %Y}" if self.since is not None else ""

    def shows(self, part: str) -> bool:
        """True unless the request leaves `part` (one of OMITTABLE) out."""
        return part not in self.omit

    @property
    def lead_paragraphs(self) -> list[str]:
        """The editor's lead, split into paragraphs at blank lines."""
        return [" ".join(p.split()) for p in re.split(r"\n\s*\n", self.lead) if p.strip()]


def parse_slugs(values: Iterable[str] | None, *, field: str) -> tuple[str, ...]:
    """Slugs from repeated parameters and/or comma-separated lists, de-duplicated, in given order."""
    slugs: list[str] = []
    for value in values or ():
        for part in value.split(","):
            slug = part.strip()
            if slug and slug not in slugs:
                slugs.append(slug)
    if len(slugs) > MAX_SLUGS:
        raise InvalidParameter(field, f"list at most {MAX_SLUGS} slugs.")
    return tuple(slugs)


def parse_title(value: str | None) -> str:
    """The cover title: the default when empty; at most TITLE_MAX_LENGTH characters."""
    title = " ".join((value or "").split())
    if _CONTROL.search(title):
        raise InvalidParameter("title", "remove the invisible control characters.")
    if len(title) > TITLE_MAX_LENGTH:
        raise InvalidParameter("title", f"use at most {TITLE_MAX_LENGTH} characters.")
    return title or DEFAULT_TITLE


def parse_lead(value: str | None) -> str:
    """The editor's lead paragraph(s): optional, at most LEAD_MAX_LENGTH characters."""
    lead = (value or "").replace("\r\n", "\n").strip()
    if _CONTROL.search(lead):
        raise InvalidParameter("lead", "remove the invisible control characters.")
    if len(lead) > LEAD_MAX_LENGTH:
        raise InvalidParameter("lead", f"use at most {LEAD_MAX_LENGTH} characters.")
    return lead


def parse_omit(values: Iterable[str] | None) -> tuple[str, ...]:
    """The parts to leave out, in the document's order; an unknown one is refused by name."""
    named = parse_slugs(values, field="omit")
    unknown = [name for name in named if name not in OMITTABLE]
    if unknown:
        raise InvalidParameter(
            "omit", f"unknown part '{unknown[0][:40]}'; choose from: {', '.join(OMITTABLE)}."
        )
    return tuple(part for part in OMITTABLE if part in named)


def parse_request(**given: Any) -> BriefingRequest:
    """A briefing request from what a link or the command line gave (parse_form's keywords);
    InvalidParameter, naming the first problem, if bad."""
    wanted, errors = parse_form(**given)
    if wanted is None:
        field, message = next(iter(errors.items()))
        raise InvalidParameter(field, message)
    return wanted


def safe_filename(name: str) -> str:
    """A file name safe in a Content-Disposition header and on any file system."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-")[:90]
    extension = re.sub(r"[^A-Za-z0-9]+", "", extension)[:8]
    if not stem:
        return "briefing.pdf"
    return f"{stem}.{extension}" if extension else stem


def parse_form(
    *,
    as_of: str | None,
    since: str | None,
    known_on: str | None,
    parties: list[str] | None,
    issues: list[str] | None,
    title: str | None,
    lead: str | None = None,
    omit: list[str] | None = None,
    find_round: FindRound | None = None,
) -> tuple[BriefingRequest | None, dict[str, str]]:
    """The request, or every field's problem at once (for the briefing form: each beside its
    field); dates out of order are a problem of `since`, which may name a round
    (`round:<slug>`, looked up by `find_round`)."""
    from app.forms import parse_day, parse_moment

    def no_round(slug: str) -> Moment | None:
        return None

    errors: dict[str, str] = {}

    def check(field: str, parse: Callable[[], T], default: T) -> T:
        try:
            return parse()
        except InvalidParameter as exc:
            errors[field] = exc.message
            return default

    day = check("as_of", lambda: parse_day(as_of, field="as_of") or date.today(), date.today())
    start = check(
        "since", lambda: parse_moment(since, field="since", find_round=find_round or no_round), None
    )
    wanted = BriefingRequest(
        as_of=day,
        since=start.day if start else None,
        since_round=start.round_slug if start else None,
        since_label=start.label if start and start.round_slug else "",
        known_on=check("known_on", lambda: parse_day(known_on, field="known_on"), None),
        parties=check("parties", lambda: parse_slugs(parties, field="parties"), ()),
        issues=check("issues", lambda: parse_slugs(issues, field="issues"), ()),
        title=check("title", lambda: parse_title(title), DEFAULT_TITLE),
        lead=check("lead", lambda: parse_lead(lead), ""),
        omit=check("omit", lambda: parse_omit(omit), ()),
    )
    if wanted.since is not None and wanted.since >= wanted.as_of and "as_of" not in errors:
        errors["since"] = "must be before the as-of date."
    return (None if errors else wanted), errors
