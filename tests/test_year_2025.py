"""A realistic year of talks (tests/fixtures/year_2025.yaml) through every view, at three dates.

The fixture is loaded once per database through the import path (`transfer.import_file`, as
`peacetalks import` does). Every expected value below is written by hand from the fixture's rows
(the comment beside each names the rows it follows from); nothing is computed by the code under
test. The rules the expectations follow:

- A cell's "since" is the start of the unbroken run of the same stance and condition; a
  restatement (same stance and condition) adds its evidence to the run and never restarts it.
- Evidence count: distinct non-retracted quotes cited by the run's positions; latest evidence:
  the newest of them; confirmation: confirmed if any is confirmed, else denied if any is denied,
  else unconfirmed; stale: the newest evidence is more than 60 days older than as_of.
- A bloc with no position of its own whose members hold different stances is split; quotes of a
  party tagged with an issue but no position in force make the cell "N quotes, not assessed".
- A change is a new stance or a new condition (a party's first position is a change from
  nothing); a restatement is never one.

Dates: as_of 31 Mar, 31 Jul and 31 Dec 2025; the "since" windows are the periods between
(31 Jan to 31 Mar, 31 Mar to 31 Jul, 31 Jul to 31 Dec). Stale before 30 Jan, 1 Jun and 1 Nov.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.db import get_session
from app.main import create_app
from app.models import Issue, Party, Position, Quote, Source, Speaker
from app.routes import briefing as briefing_routes
from app.services import transfer
from tests.conftest import joined_requests
from tests.html_reader import Element, parse, row_headed_by

FIXTURE = Path(__file__).parent / "fixtures" / "year_2025.yaml"
FIXED_NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

MAR, JUL, DEC = "2025-03-31", "2025-07-31", "2025-12-31"
DATES = [MAR, JUL, DEC]
# The "since" window that ends at each date.
SINCE = {MAR: "2025-01-31", JUL: MAR, DEC: JUL}

# ---------------------------------------------------------------------------------------------
# The fixture's parties and issues, in display order (a bloc's members right after it).

PARTIES: dict[str, tuple[str, str]] = {
    "us": ("United States", "US"),
    "ua": ("Ukraine", "Ukraine"),
    "ru": ("Russia", "Russia"),
    "eu": ("Europe", "Europe"),
    "uk": ("United Kingdom", "UK"),
    "fr": ("France", "France"),
    "de": ("Germany", "Germany"),
    "eu-institutions": ("EU institutions", "EU"),
    "pl": ("Poland", "Poland"),
    "tr": ("Turkey", "Turkey"),
    "cn": ("China", "China"),
    "hu": ("Hungary", "Hungary"),
}
ISSUES: dict[str, str] = {
    "crimea-recognition": "Crimea recognition",
    "occupied-territories": "Occupied territories",
    "nato-membership": "NATO membership",
    "eu-membership": "EU membership",
    "sanctions-relief": "Sanctions relief",
    "ceasefire": "Ceasefire first",
    "security-guarantees": "Security guarantees",
    "frozen-assets": "Frozen assets",
    "zaporizhzhia-npp": "Zaporizhzhia plant",
    "army-size-cap": "Army size cap",
    "elections": "Elections",
    "prisoner-exchange": "Prisoner exchange",
    "foreign-troops": "European troops",
    "amnesty": "Amnesty",
}
LABELS = {
    "accepts": "Accepts",
    "conditional": "Conditional",
    "ambiguous": "Ambiguous",
    "rejects": "Rejects",
}

# The conditions, word for word as the fixture's positions state them.
RU_TRUCE = "arms deliveries and mobilisation in Ukraine stop during the truce"
UA_VOTE_1 = "the war ends and martial law is lifted"
UA_VOTE_2 = "the US and Europe guarantee the security of a vote held within 60 to 90 days"
UK_BACKSTOP = "a US backstop is in place"
DE_WITH_US = "the United States takes part"
US_STAGES = "Russia complies with the agreement, sanctions being lifted in stages"

CONFIRMED, UNCONFIRMED, DENIED = "confirmed", "unconfirmed", "denied"


@dataclass(frozen=True)
class Held:
    """A cell with a position in force: what an analyst should read there."""

    stance: str
    since: str
    evidence: int
    latest: str
    confirmation: str
    stale: bool
    condition: str | None = None
    members: dict[str, str] | None = None  # a bloc's own position, its members differing


@dataclass(frozen=True)
class Split:
    """A bloc with no position of its own whose members differ (members in party order)."""

    members: dict[str, str]


@dataclass(frozen=True)
class Unassessed:
    """Quotes tagged with the issue, said by as_of, and no position in force."""

    quotes: int


Expected = Held | Split | Unassessed

# ---------------------------------------------------------------------------------------------
# The matrix as of each date. Cells not listed have no evidence at all ("—", no API cell).

EXPECTED: dict[str, dict[tuple[str, str], Expected]] = {
    MAR: {
        # us: Hegseth 12 Feb (nato rejects, guarantees and troops accept); Trump 19 Feb; Jeddah
        # 11 Mar; Trump 19 Mar. One position each, all confirmed, none older than 30 Jan.
        ("us", "nato-membership"): Held("rejects", "2025-02-12", 1, "2025-02-12", CONFIRMED, False),
        ("us", "security-guarantees"): Held(
            "accepts", "2025-02-12", 1, "2025-02-12", CONFIRMED, False
        ),
        ("us", "foreign-troops"): Held("accepts", "2025-02-12", 1, "2025-02-12", CONFIRMED, False),
        ("us", "elections"): Held("accepts", "2025-02-19", 1, "2025-02-19", CONFIRMED, False),
        ("us", "ceasefire"): Held("accepts", "2025-03-11", 1, "2025-03-11", CONFIRMED, False),
        ("us", "zaporizhzhia-npp"): Held(
            "accepts", "2025-03-19", 1, "2025-03-19", CONFIRMED, False
        ),
        # ua: Munich 15 Feb, elections 19 Feb (condition 1), London 2 Mar, Jeddah 11 Mar,
        # Sybiha 18 Mar, plant 19 Mar, sanctions 25 Mar.
        ("ua", "occupied-territories"): Held(
            "rejects", "2025-02-15", 1, "2025-02-15", CONFIRMED, False
        ),
        ("ua", "nato-membership"): Held("accepts", "2025-02-15", 1, "2025-02-15", CONFIRMED, False),
        ("ua", "elections"): Held(
            "conditional", "2025-02-19", 1, "2025-02-19", CONFIRMED, False, UA_VOTE_1
        ),
        ("ua", "security-guarantees"): Held(
            "accepts", "2025-03-02", 1, "2025-03-02", CONFIRMED, False
        ),
        ("ua", "foreign-troops"): Held("accepts", "2025-03-02", 1, "2025-03-02", CONFIRMED, False),
        ("ua", "ceasefire"): Held("accepts", "2025-03-11", 1, "2025-03-11", CONFIRMED, False),
        ("ua", "eu-membership"): Held("accepts", "2025-03-18", 1, "2025-03-18", CONFIRMED, False),
        ("ua", "zaporizhzhia-npp"): Held(
            "ambiguous", "2025-03-19", 1, "2025-03-19", CONFIRMED, False
        ),
        ("ua", "sanctions-relief"): Held(
            "rejects", "2025-03-25", 1, "2025-03-25", CONFIRMED, False
        ),
        # ru: Riyadh 18 Feb (nato, troops), Peskov 25 Feb, Putin 13 Mar (conditional truce),
        # Peskov 20 Mar, Black Sea 25 Mar, Putin 28 Mar.
        ("ru", "nato-membership"): Held("rejects", "2025-02-18", 1, "2025-02-18", CONFIRMED, False),
        ("ru", "foreign-troops"): Held("rejects", "2025-02-18", 1, "2025-02-18", CONFIRMED, False),
        ("ru", "eu-membership"): Held("accepts", "2025-02-25", 1, "2025-02-25", CONFIRMED, False),
        ("ru", "ceasefire"): Held(
            "conditional", "2025-03-13", 1, "2025-03-13", CONFIRMED, False, RU_TRUCE
        ),
        ("ru", "zaporizhzhia-npp"): Held(
            "rejects", "2025-03-20", 1, "2025-03-20", CONFIRMED, False
        ),
        ("ru", "sanctions-relief"): Held(
            "accepts", "2025-03-25", 1, "2025-03-25", CONFIRMED, False
        ),
        ("ru", "elections"): Held("accepts", "2025-03-28", 1, "2025-03-28", CONFIRMED, False),
        # Europe's own position (Council 6 Mar); UK and France accept too, so no split.
        ("eu", "security-guarantees"): Held(
            "accepts", "2025-03-06", 1, "2025-03-06", CONFIRMED, False
        ),
        # No position of Europe's own on troops; UK conditional (2 Mar), France accepts (11 Mar).
        ("eu", "foreign-troops"): Split({"uk": "conditional", "fr": "accepts"}),
        ("uk", "foreign-troops"): Held(
            "conditional", "2025-03-02", 1, "2025-03-02", CONFIRMED, False, UK_BACKSTOP
        ),
        ("uk", "security-guarantees"): Held(
            "accepts", "2025-03-02", 1, "2025-03-02", CONFIRMED, False
        ),
        ("fr", "foreign-troops"): Held("accepts", "2025-03-11", 1, "2025-03-11", CONFIRMED, False),
        ("fr", "security-guarantees"): Held(
            "accepts", "2025-03-11", 1, "2025-03-11", CONFIRMED, False
        ),
        # Fidan's offer of 10 Mar and Wang Yi's Munich remarks of 14 Feb: tagged, no position.
        ("tr", "prisoner-exchange"): Unassessed(1),
        ("cn", "ceasefire"): Unassessed(1),
    },
    JUL: {
        # us: nothing new on these since March, so stale (newest before 1 Jun).
        ("us", "nato-membership"): Held("rejects", "2025-02-12", 1, "2025-02-12", CONFIRMED, True),
        ("us", "security-guarantees"): Held(
            "accepts", "2025-02-12", 1, "2025-02-12", CONFIRMED, True
        ),
        ("us", "foreign-troops"): Held("accepts", "2025-02-12", 1, "2025-02-12", CONFIRMED, True),
        ("us", "elections"): Held("accepts", "2025-02-19", 1, "2025-02-19", CONFIRMED, True),
        ("us", "ceasefire"): Held("accepts", "2025-03-11", 1, "2025-03-11", CONFIRMED, True),
        ("us", "zaporizhzhia-npp"): Held("accepts", "2025-03-19", 1, "2025-03-19", CONFIRMED, True),
        # The April framework is only reported (unconfirmed); Vance's words are on the record.
        ("us", "crimea-recognition"): Held(
            "accepts", "2025-04-23", 1, "2025-04-23", UNCONFIRMED, True
        ),
        ("us", "occupied-territories"): Held(
            "accepts", "2025-04-23", 1, "2025-04-23", CONFIRMED, True
        ),
        ("us", "prisoner-exchange"): Held(
            "accepts", "2025-05-19", 1, "2025-05-19", CONFIRMED, True
        ),
        # ua occupied territories: 15 Feb, restated 22 Apr: one run, two quotes.
        ("ua", "occupied-territories"): Held(
            "rejects", "2025-02-15", 2, "2025-04-22", CONFIRMED, True
        ),
        ("ua", "nato-membership"): Held("accepts", "2025-02-15", 1, "2025-02-15", CONFIRMED, True),
        # ua elections: condition 1 on 19 Feb, restated with the same condition on 20 May.
        ("ua", "elections"): Held(
            "conditional", "2025-02-19", 2, "2025-05-20", CONFIRMED, True, UA_VOTE_1
        ),
        ("ua", "security-guarantees"): Held(
            "accepts", "2025-03-02", 1, "2025-03-02", CONFIRMED, True
        ),
        ("ua", "foreign-troops"): Held("accepts", "2025-03-02", 1, "2025-03-02", CONFIRMED, True),
        # ua ceasefire: Jeddah 11 Mar, restated at the Kyiv summit 10 May.
        ("ua", "ceasefire"): Held("accepts", "2025-03-11", 2, "2025-05-10", CONFIRMED, True),
        ("ua", "eu-membership"): Held("accepts", "2025-03-18", 1, "2025-03-18", CONFIRMED, True),
        ("ua", "zaporizhzhia-npp"): Held(
            "ambiguous", "2025-03-19", 1, "2025-03-19", CONFIRMED, True
        ),
        ("ua", "sanctions-relief"): Held("rejects", "2025-03-25", 1, "2025-03-25", CONFIRMED, True),
        ("ua", "crimea-recognition"): Held(
            "rejects", "2025-04-22", 1, "2025-04-22", CONFIRMED, True
        ),
        ("ua", "prisoner-exchange"): Held(
            "accepts", "2025-05-16", 1, "2025-05-16", CONFIRMED, True
        ),
        ("ua", "army-size-cap"): Held("rejects", "2025-06-04", 1, "2025-06-04", CONFIRMED, False),
        # ru nato: 18 Feb, restated 16 May and 2 Jun: one run, three quotes, newest 2 Jun.
        ("ru", "nato-membership"): Held("rejects", "2025-02-18", 3, "2025-06-02", CONFIRMED, False),
        ("ru", "foreign-troops"): Held("rejects", "2025-02-18", 1, "2025-02-18", CONFIRMED, True),
        ("ru", "eu-membership"): Held("accepts", "2025-02-25", 1, "2025-02-25", CONFIRMED, True),
        # ru ceasefire: conditional 13 Mar, then rejects 11 May (a change: the run starts anew).
        ("ru", "ceasefire"): Held("rejects", "2025-05-11", 1, "2025-05-11", CONFIRMED, True),
        ("ru", "zaporizhzhia-npp"): Held("rejects", "2025-03-20", 1, "2025-03-20", CONFIRMED, True),
        ("ru", "sanctions-relief"): Held("accepts", "2025-03-25", 1, "2025-03-25", CONFIRMED, True),
        # ru elections: 28 Mar, restated 10 Apr citing only the retracted state-media report.
        ("ru", "elections"): Held("accepts", "2025-03-28", 1, "2025-03-28", CONFIRMED, True),
        # ru crimea / occupied: Peskov 22 Apr, restated by the memorandum 2 Jun.
        ("ru", "crimea-recognition"): Held(
            "accepts", "2025-04-22", 2, "2025-06-02", CONFIRMED, False
        ),
        ("ru", "occupied-territories"): Held(
            "accepts", "2025-04-22", 2, "2025-06-02", CONFIRMED, False
        ),
        ("ru", "prisoner-exchange"): Held(
            "accepts", "2025-05-16", 1, "2025-05-16", CONFIRMED, True
        ),
        ("ru", "army-size-cap"): Held("accepts", "2025-06-02", 1, "2025-06-02", CONFIRMED, False),
        ("eu", "security-guarantees"): Held(
            "accepts", "2025-03-06", 1, "2025-03-06", CONFIRMED, True
        ),
        ("eu", "foreign-troops"): Split({"uk": "conditional", "fr": "accepts"}),
        ("uk", "foreign-troops"): Held(
            "conditional", "2025-03-02", 1, "2025-03-02", CONFIRMED, True, UK_BACKSTOP
        ),
        ("uk", "security-guarantees"): Held(
            "accepts", "2025-03-02", 1, "2025-03-02", CONFIRMED, True
        ),
        ("fr", "foreign-troops"): Held("accepts", "2025-03-11", 1, "2025-03-11", CONFIRMED, True),
        ("fr", "security-guarantees"): Held(
            "accepts", "2025-03-11", 1, "2025-03-11", CONFIRMED, True
        ),
        # Kallas 26 Jun: tagged, no position.
        ("eu-institutions", "eu-membership"): Unassessed(1),
        # tr: position from 16 May (Istanbul), restated 23 Jul; the March offer is tagged but not
        # cited, so it is not evidence of the run.
        ("tr", "prisoner-exchange"): Held(
            "accepts", "2025-05-16", 2, "2025-07-23", CONFIRMED, False
        ),
        ("cn", "ceasefire"): Unassessed(2),  # Munich 14 Feb, Rio 28 Apr
        ("hu", "eu-membership"): Unassessed(2),  # 24 Apr (reported), 26 Jun
    },
    DEC: {
        # us nato: 12 Feb, restated by the 28-point plan 20 Nov.
        ("us", "nato-membership"): Held("rejects", "2025-02-12", 2, "2025-11-20", CONFIRMED, False),
        # us guarantees: 12 Feb, restated 18 Aug; newest 18 Aug is before 1 Nov: stale.
        ("us", "security-guarantees"): Held(
            "accepts", "2025-02-12", 2, "2025-08-18", CONFIRMED, True
        ),
        ("us", "foreign-troops"): Held("accepts", "2025-02-12", 1, "2025-02-12", CONFIRMED, True),
        # us elections: 19 Feb, restated 9 Dec.
        ("us", "elections"): Held("accepts", "2025-02-19", 2, "2025-12-09", CONFIRMED, False),
        # us ceasefire: accepts 11 Mar, rejects 16 Aug, accepts 17 Oct: the run starts 17 Oct.
        ("us", "ceasefire"): Held("accepts", "2025-10-17", 1, "2025-10-17", CONFIRMED, True),
        # us plant: 19 Mar, restated 20 Nov (the plan's provision is only reported; Trump's
        # words are confirmed, so the run is confirmed).
        ("us", "zaporizhzhia-npp"): Held(
            "accepts", "2025-03-19", 2, "2025-11-20", CONFIRMED, False
        ),
        # us crimea: 23 Apr, restated 20 Nov; both quotes only reported.
        ("us", "crimea-recognition"): Held(
            "accepts", "2025-04-23", 2, "2025-11-20", UNCONFIRMED, False
        ),
        # us occupied: accepts 23 Apr, rejects 23 Sep, accepts 20 Nov, ambiguous 30 Nov.
        ("us", "occupied-territories"): Held(
            "ambiguous", "2025-11-30", 1, "2025-11-30", CONFIRMED, False
        ),
        ("us", "prisoner-exchange"): Held(
            "accepts", "2025-05-19", 1, "2025-05-19", CONFIRMED, True
        ),
        # us sanctions: rejects 22 Oct, conditional (plan, reported) 20 Nov.
        ("us", "sanctions-relief"): Held(
            "conditional", "2025-11-20", 1, "2025-11-20", UNCONFIRMED, False, US_STAGES
        ),
        ("us", "eu-membership"): Held("accepts", "2025-11-20", 1, "2025-11-20", UNCONFIRMED, False),
        ("us", "army-size-cap"): Held("accepts", "2025-11-20", 1, "2025-11-20", UNCONFIRMED, False),
        ("us", "amnesty"): Held("accepts", "2025-11-20", 1, "2025-11-20", UNCONFIRMED, False),
        ("us", "frozen-assets"): Unassessed(1),  # the plan's assets provision, no position
        ("ua", "occupied-territories"): Held(
            "rejects", "2025-02-15", 2, "2025-04-22", CONFIRMED, True
        ),
        # ua nato: accepts 15 Feb, ambiguous 14 Dec.
        ("ua", "nato-membership"): Held(
            "ambiguous", "2025-12-14", 1, "2025-12-14", CONFIRMED, False
        ),
        # ua elections: the condition changed on 9 Dec, so the run starts there.
        ("ua", "elections"): Held(
            "conditional", "2025-12-09", 1, "2025-12-09", CONFIRMED, False, UA_VOTE_2
        ),
        # ua guarantees: 2 Mar, restated by Umerov (now NSDC Secretary) 23 Nov.
        ("ua", "security-guarantees"): Held(
            "accepts", "2025-03-02", 2, "2025-11-23", CONFIRMED, False
        ),
        ("ua", "foreign-troops"): Held("accepts", "2025-03-02", 1, "2025-03-02", CONFIRMED, True),
        # ua ceasefire: 11 Mar, restated 10 May and 21 Oct: three quotes, newest before 1 Nov.
        ("ua", "ceasefire"): Held("accepts", "2025-03-11", 3, "2025-10-21", CONFIRMED, True),
        ("ua", "eu-membership"): Held("accepts", "2025-03-18", 1, "2025-03-18", CONFIRMED, True),
        ("ua", "zaporizhzhia-npp"): Held(
            "ambiguous", "2025-03-19", 1, "2025-03-19", CONFIRMED, True
        ),
        ("ua", "sanctions-relief"): Held("rejects", "2025-03-25", 1, "2025-03-25", CONFIRMED, True),
        ("ua", "crimea-recognition"): Held(
            "rejects", "2025-04-22", 1, "2025-04-22", CONFIRMED, True
        ),
        ("ua", "prisoner-exchange"): Held(
            "accepts", "2025-05-16", 1, "2025-05-16", CONFIRMED, True
        ),
        ("ua", "army-size-cap"): Held("rejects", "2025-06-04", 1, "2025-06-04", CONFIRMED, True),
        ("ua", "frozen-assets"): Held("accepts", "2025-10-23", 1, "2025-10-23", CONFIRMED, True),
        ("ua", "amnesty"): Unassessed(1),  # Yermak 22 Nov, no position
        # ru nato: 18 Feb, restated 16 May, 2 Jun, 27 Nov: one run, four quotes.
        ("ru", "nato-membership"): Held("rejects", "2025-02-18", 4, "2025-11-27", CONFIRMED, False),
        # ru troops: 18 Feb, restated 5 Sep.
        ("ru", "foreign-troops"): Held("rejects", "2025-02-18", 2, "2025-09-05", CONFIRMED, True),
        ("ru", "eu-membership"): Held("accepts", "2025-02-25", 1, "2025-02-25", CONFIRMED, True),
        ("ru", "ceasefire"): Held("rejects", "2025-05-11", 1, "2025-05-11", CONFIRMED, True),
        ("ru", "zaporizhzhia-npp"): Held("rejects", "2025-03-20", 1, "2025-03-20", CONFIRMED, True),
        ("ru", "sanctions-relief"): Held("accepts", "2025-03-25", 1, "2025-03-25", CONFIRMED, True),
        ("ru", "elections"): Held("accepts", "2025-03-28", 1, "2025-03-28", CONFIRMED, True),
        ("ru", "crimea-recognition"): Held(
            "accepts", "2025-04-22", 2, "2025-06-02", CONFIRMED, True
        ),
        ("ru", "occupied-territories"): Held(
            "accepts", "2025-04-22", 2, "2025-06-02", CONFIRMED, True
        ),
        ("ru", "prisoner-exchange"): Held(
            "accepts", "2025-05-16", 1, "2025-05-16", CONFIRMED, True
        ),
        ("ru", "army-size-cap"): Held("accepts", "2025-06-02", 1, "2025-06-02", CONFIRMED, True),
        # ru guarantees: the US envoy's claim of 17 Aug, denied by Lavrov on 20 Aug.
        ("ru", "security-guarantees"): Held("accepts", "2025-08-17", 1, "2025-08-17", DENIED, True),
        ("ru", "frozen-assets"): Held("rejects", "2025-10-23", 1, "2025-10-23", CONFIRMED, True),
        # Europe's own position: 6 Mar, restated by the Paris declaration 4 Sep; Germany is
        # conditional from 18 Aug, so its members now differ.
        ("eu", "security-guarantees"): Held(
            "accepts",
            "2025-03-06",
            2,
            "2025-09-04",
            CONFIRMED,
            True,
            members={"uk": "accepts", "fr": "accepts", "de": "conditional"},
        ),
        ("eu", "foreign-troops"): Split({"uk": "conditional", "fr": "accepts", "de": "ambiguous"}),
        ("eu", "frozen-assets"): Split(
            {"fr": "ambiguous", "de": "accepts", "eu-institutions": "accepts", "pl": "accepts"}
        ),
        ("eu", "army-size-cap"): Unassessed(1),  # the European counter-proposal, 23 Nov
        ("uk", "foreign-troops"): Held(
            "conditional", "2025-03-02", 1, "2025-03-02", CONFIRMED, True, UK_BACKSTOP
        ),
        ("uk", "security-guarantees"): Held(
            "accepts", "2025-03-02", 1, "2025-03-02", CONFIRMED, True
        ),
        ("fr", "foreign-troops"): Held("accepts", "2025-03-11", 1, "2025-03-11", CONFIRMED, True),
        ("fr", "security-guarantees"): Held(
            "accepts", "2025-03-11", 1, "2025-03-11", CONFIRMED, True
        ),
        # Macron's remark of 23 Oct is only reported.
        ("fr", "frozen-assets"): Held(
            "ambiguous", "2025-10-23", 1, "2025-10-23", UNCONFIRMED, True
        ),
        ("de", "security-guarantees"): Held(
            "conditional", "2025-08-18", 1, "2025-08-18", CONFIRMED, True, DE_WITH_US
        ),
        ("de", "foreign-troops"): Held("ambiguous", "2025-08-18", 1, "2025-08-18", CONFIRMED, True),
        ("de", "frozen-assets"): Held("accepts", "2025-09-25", 1, "2025-09-25", CONFIRMED, True),
        ("eu-institutions", "frozen-assets"): Held(
            "accepts", "2025-09-10", 1, "2025-09-10", CONFIRMED, True
        ),
        ("eu-institutions", "eu-membership"): Unassessed(1),
        ("pl", "frozen-assets"): Held("accepts", "2025-10-23", 1, "2025-10-23", CONFIRMED, True),
        ("tr", "prisoner-exchange"): Held(
            "accepts", "2025-05-16", 2, "2025-07-23", CONFIRMED, True
        ),
        ("cn", "ceasefire"): Unassessed(3),  # Munich, Rio, Beijing 3 Sep
        # hu: position from 10 Oct citing all three of Orbán's quotes (one only reported).
        ("hu", "eu-membership"): Held("rejects", "2025-10-10", 3, "2025-10-10", CONFIRMED, True),
    },
}

# ---------------------------------------------------------------------------------------------
# Changes: (effective_from, party, issue, old stance, new stance, new condition), per window.

Change = tuple[str, str, str, str | None, str, str | None]
CHANGES: dict[str, list[Change]] = {
    MAR: [  # (31 Jan, 31 Mar]: every first position
        ("2025-02-12", "us", "nato-membership", None, "rejects", None),
        ("2025-02-12", "us", "security-guarantees", None, "accepts", None),
        ("2025-02-12", "us", "foreign-troops", None, "accepts", None),
        ("2025-02-15", "ua", "occupied-territories", None, "rejects", None),
        ("2025-02-15", "ua", "nato-membership", None, "accepts", None),
        ("2025-02-18", "ru", "nato-membership", None, "rejects", None),
        ("2025-02-18", "ru", "foreign-troops", None, "rejects", None),
        ("2025-02-19", "us", "elections", None, "accepts", None),
        ("2025-02-19", "ua", "elections", None, "conditional", UA_VOTE_1),
        ("2025-02-25", "ru", "eu-membership", None, "accepts", None),
        ("2025-03-02", "ua", "security-guarantees", None, "accepts", None),
        ("2025-03-02", "ua", "foreign-troops", None, "accepts", None),
        ("2025-03-02", "uk", "foreign-troops", None, "conditional", UK_BACKSTOP),
        ("2025-03-02", "uk", "security-guarantees", None, "accepts", None),
        ("2025-03-06", "eu", "security-guarantees", None, "accepts", None),
        ("2025-03-11", "us", "ceasefire", None, "accepts", None),
        ("2025-03-11", "ua", "ceasefire", None, "accepts", None),
        ("2025-03-11", "fr", "foreign-troops", None, "accepts", None),
        ("2025-03-11", "fr", "security-guarantees", None, "accepts", None),
        ("2025-03-13", "ru", "ceasefire", None, "conditional", RU_TRUCE),
        ("2025-03-18", "ua", "eu-membership", None, "accepts", None),
        ("2025-03-19", "us", "zaporizhzhia-npp", None, "accepts", None),
        ("2025-03-19", "ua", "zaporizhzhia-npp", None, "ambiguous", None),
        ("2025-03-20", "ru", "zaporizhzhia-npp", None, "rejects", None),
        ("2025-03-25", "ua", "sanctions-relief", None, "rejects", None),
        ("2025-03-25", "ru", "sanctions-relief", None, "accepts", None),
        ("2025-03-28", "ru", "elections", None, "accepts", None),
    ],
    JUL: [  # (31 Mar, 31 Jul]
        ("2025-04-22", "ua", "crimea-recognition", None, "rejects", None),
        ("2025-04-22", "ru", "crimea-recognition", None, "accepts", None),
        ("2025-04-22", "ru", "occupied-territories", None, "accepts", None),
        ("2025-04-23", "us", "crimea-recognition", None, "accepts", None),
        ("2025-04-23", "us", "occupied-territories", None, "accepts", None),
        ("2025-05-11", "ru", "ceasefire", "conditional", "rejects", None),
        ("2025-05-16", "ua", "prisoner-exchange", None, "accepts", None),
        ("2025-05-16", "ru", "prisoner-exchange", None, "accepts", None),
        ("2025-05-16", "tr", "prisoner-exchange", None, "accepts", None),
        ("2025-05-19", "us", "prisoner-exchange", None, "accepts", None),
        ("2025-06-02", "ru", "army-size-cap", None, "accepts", None),
        ("2025-06-04", "ua", "army-size-cap", None, "rejects", None),
    ],
    DEC: [  # (31 Jul, 31 Dec]: the US changes twice on a ceasefire and three times on territory
        ("2025-08-16", "us", "ceasefire", "accepts", "rejects", None),
        ("2025-08-17", "ru", "security-guarantees", None, "accepts", None),
        ("2025-08-18", "de", "security-guarantees", None, "conditional", DE_WITH_US),
        ("2025-08-18", "de", "foreign-troops", None, "ambiguous", None),
        ("2025-09-10", "eu-institutions", "frozen-assets", None, "accepts", None),
        ("2025-09-23", "us", "occupied-territories", "accepts", "rejects", None),
        ("2025-09-25", "de", "frozen-assets", None, "accepts", None),
        ("2025-10-10", "hu", "eu-membership", None, "rejects", None),
        ("2025-10-17", "us", "ceasefire", "rejects", "accepts", None),
        ("2025-10-22", "us", "sanctions-relief", None, "rejects", None),
        ("2025-10-23", "ua", "frozen-assets", None, "accepts", None),
        ("2025-10-23", "ru", "frozen-assets", None, "rejects", None),
        ("2025-10-23", "fr", "frozen-assets", None, "ambiguous", None),
        ("2025-10-23", "pl", "frozen-assets", None, "accepts", None),
        ("2025-11-20", "us", "occupied-territories", "rejects", "accepts", None),
        ("2025-11-20", "us", "sanctions-relief", "rejects", "conditional", US_STAGES),
        ("2025-11-20", "us", "eu-membership", None, "accepts", None),
        ("2025-11-20", "us", "army-size-cap", None, "accepts", None),
        ("2025-11-20", "us", "amnesty", None, "accepts", None),
        ("2025-11-30", "us", "occupied-territories", "accepts", "ambiguous", None),
        ("2025-12-09", "ua", "elections", "conditional", "conditional", UA_VOTE_2),
        ("2025-12-14", "ua", "nato-membership", "accepts", "ambiguous", None),
    ],
}
ALL_CHANGES = CHANGES[MAR] + CHANGES[JUL] + CHANGES[DEC]

# Restatements in each window (same stance and condition as the run they join): never listed.
RESTATEMENTS: dict[str, list[tuple[str, str, str]]] = {
    MAR: [],
    JUL: [
        ("2025-04-10", "ru", "elections"),
        ("2025-04-22", "ua", "occupied-territories"),
        ("2025-05-10", "ua", "ceasefire"),
        ("2025-05-16", "ru", "nato-membership"),
        ("2025-05-20", "ua", "elections"),
        ("2025-06-02", "ru", "nato-membership"),
        ("2025-06-02", "ru", "crimea-recognition"),
        ("2025-06-02", "ru", "occupied-territories"),
        ("2025-07-23", "tr", "prisoner-exchange"),
    ],
    DEC: [
        ("2025-08-18", "us", "security-guarantees"),
        ("2025-09-04", "eu", "security-guarantees"),
        ("2025-09-05", "ru", "foreign-troops"),
        ("2025-10-21", "ua", "ceasefire"),
        ("2025-11-20", "us", "crimea-recognition"),
        ("2025-11-20", "us", "nato-membership"),
        ("2025-11-20", "us", "zaporizhzhia-npp"),
        ("2025-11-23", "ua", "security-guarantees"),
        ("2025-11-27", "ru", "nato-membership"),
        ("2025-12-09", "us", "elections"),
    ],
}

# Held cells whose "changed since" flag is left unasserted: the US ceasefire was accepts on
# 31 Jul and is accepts again on 31 Dec, through a change away and back (a new run); whether
# that highlights the cell is not settled by the rules above.
CHANGED_UNSETTLED = {DEC: {("us", "ceasefire")}}


def changed_since(as_of: str, key: tuple[str, str]) -> bool | None:
    """Whether a held cell is highlighted as changed since SINCE[as_of] (None: unasserted).

    A held cell changed when its stance or condition on SINCE[as_of] differs (no position then
    counts as different): exactly the cells with a change listed in the window, except
    CHANGED_UNSETTLED.
    """
    if key in CHANGED_UNSETTLED.get(as_of, set()):
        return None
    return any((party, issue) == key for _, party, issue, *_ in CHANGES[as_of])


# ---------------------------------------------------------------------------------------------
# Compare us, ua, ru: the verdict per issue, written from EXPECTED above.

COMPARE: dict[str, dict[str, str]] = {
    MAR: {
        "crimea-recognition": "not comparable",  # nobody holds a position yet
        "occupied-territories": "not comparable",  # the US has none yet
        "nato-membership": "differ",  # us rejects, ua accepts, ru rejects, all confirmed
        "eu-membership": "not comparable",  # the US has none
        "sanctions-relief": "not comparable",  # the US has none
        "ceasefire": "differ",  # us accepts, ua accepts, ru conditional
        "security-guarantees": "not comparable",  # Russia has none
        "frozen-assets": "not comparable",
        "zaporizhzhia-npp": "unclear",  # Ukraine ambiguous
        "army-size-cap": "not comparable",
        "elections": "differ",  # us accepts, ua conditional, ru accepts
        "prisoner-exchange": "not comparable",
        "foreign-troops": "differ",  # us accepts, ua accepts, ru rejects
        "amnesty": "not comparable",
    },
    JUL: {
        "crimea-recognition": "unclear",  # the US's evidence is only reported
        "occupied-territories": "differ",  # us accepts, ua rejects, ru accepts
        "nato-membership": "differ",
        "eu-membership": "not comparable",  # the US has none
        "sanctions-relief": "not comparable",  # the US has none
        "ceasefire": "differ",  # us accepts, ua accepts, ru rejects
        "security-guarantees": "not comparable",  # Russia has none
        "frozen-assets": "not comparable",
        "zaporizhzhia-npp": "unclear",  # Ukraine ambiguous
        "army-size-cap": "not comparable",  # the US has none
        "elections": "differ",
        "prisoner-exchange": "agree",  # all three accept, all confirmed
        "foreign-troops": "differ",
        "amnesty": "not comparable",
    },
    DEC: {
        "crimea-recognition": "unclear",  # the US's evidence is only reported
        "occupied-territories": "unclear",  # the US is ambiguous
        "nato-membership": "unclear",  # Ukraine is ambiguous
        "eu-membership": "unclear",  # all accept, but the US's evidence is only reported
        "sanctions-relief": "unclear",  # the US's evidence is only reported
        "ceasefire": "differ",  # us accepts, ua accepts, ru rejects
        "security-guarantees": "unclear",  # all accept, but Russia's evidence was denied
        "frozen-assets": "not comparable",  # the US's quote is not assessed
        "zaporizhzhia-npp": "unclear",  # Ukraine ambiguous
        "army-size-cap": "unclear",  # the US's evidence is only reported
        "elections": "differ",
        "prisoner-exchange": "agree",
        "foreign-troops": "differ",
        "amnesty": "not comparable",  # Ukraine's quote is not assessed, Russia has nothing
    },
}
COMPARE_SUMMARY = {
    MAR: "0 agree, 4 differ, 1 unclear, 9 not comparable",
    JUL: "1 agree, 5 differ, 2 unclear, 6 not comparable",
    DEC: "1 agree, 3 differ, 8 unclear, 2 not comparable",
}

# ---------------------------------------------------------------------------------------------
# Reading helpers (formatting only; no expectation comes from the app).


def day(iso: str) -> str:
    """A date as the app prints it: 3 Mar 2025."""
    value = date.fromisoformat(iso)
    return f"{value.day} {value:%b %Y}"


def quotes_phrase(count: int) -> str:
    return f"{count} quote{'s' if count != 1 else ''}"


def members_words(members: dict[str, str]) -> str:
    """Members as a cell lists them: "UK conditional; France accepts"."""
    return "; ".join(f"{PARTIES[slug][1]} {stance}" for slug, stance in members.items())


def members_csv(members: dict[str, str]) -> str:
    return "; ".join(f"{slug}:{stance}" for slug, stance in members.items())


def has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, re.IGNORECASE) is not None


def has_count(text: str, count: int) -> bool:
    """True when the text says "N quote(s)" for exactly this N."""
    return re.search(rf"(?<!\d){quotes_phrase(count)}(?!\w)", text) is not None


def all_cells(as_of: str) -> Iterator[tuple[tuple[str, str], Expected | None]]:
    for party in PARTIES:
        for issue in ISSUES:
            yield (party, issue), EXPECTED[as_of].get((party, issue))


# ---------------------------------------------------------------------------------------------
# The world: the fixture imported once per database, read by every test of this module.


@dataclass
class World:
    session: Session
    client: TestClient


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        transfer.import_file(session, FIXTURE)
        session.commit()  # a savepoint: requests that fail later roll back only themselves
        application = create_app()  # with caches of its own

        application.dependency_overrides[get_session] = joined_requests(session)
        application.dependency_overrides[briefing_routes.generation_time] = lambda: FIXED_NOW
        with TestClient(application) as client:
            yield World(session, client)
        session.close()
        outer.rollback()


def get(world: World, url: str, **headers: str) -> str:
    response = world.client.get(url, headers=headers)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:500]}"
    return response.text


# =============================================================================================
# The fixture itself


def test_fixture_imports_cleanly_and_holds_the_year(world: World) -> None:
    session = world.session
    counts = {
        model.__name__: session.scalar(select(func.count()).select_from(model))
        for model in (Party, Issue, Speaker, Source, Quote, Position)
    }
    assert counts == {
        "Party": 12,
        "Issue": 14,
        "Speaker": 22,
        "Source": 61,
        "Quote": 78,
        "Position": 80,
    }
    # A second import of the same file adds nothing (the import is idempotent).
    assert sum(transfer.import_file(session, FIXTURE).values()) == 0
    europe = session.scalar(select(Party).where(Party.slug == "eu"))
    assert europe is not None
    members = session.scalars(select(Party.slug).where(Party.parent_id == europe.id)).all()
    assert sorted(members) == ["de", "eu-institutions", "fr", "pl", "uk"]
    # Document provisions carry no speaker.
    provisions = session.scalars(
        select(Quote).where(Quote.kind == "document_provision", Quote.speaker_id.is_not(None))
    ).all()
    assert provisions == []


# =============================================================================================
# Matrix page and fragment


def matrix_cells(html: str) -> dict[tuple[str, str], Element]:
    """Each matrix cell (td) by (party, issue), read from the column and row headings."""
    table = parse(html).find_all("table", lambda e: e.has_class("matrix"))
    assert len(table) == 1
    head = table[0].find_all("thead")[0]
    issues = [
        href.split("?")[0].removeprefix("/issues/")
        for href in head.links()
        if href.startswith("/issues/")
    ]
    assert issues == list(ISSUES)
    cells: dict[tuple[str, str], Element] = {}
    for row in table[0].find_all("tbody")[0].find_all("tr"):
        party_links = [h for h in row.find_all("th")[0].links() if h.startswith("/parties/")]
        party = party_links[0].split("?")[0].removeprefix("/parties/")
        tds = [c for c in row.children if isinstance(c, Element) and c.tag == "td"]
        assert len(tds) == len(issues), party
        for issue, td in zip(issues, tds, strict=True):
            cells[(party, issue)] = td
    assert list(dict.fromkeys(p for p, _ in cells)) == list(PARTIES)
    return cells


def check_matrix_cell(
    key: tuple[str, str], td: Element, want: Expected | None, changed: bool | None
) -> None:
    text = td.text()
    where = f"{key}: {text!r}"
    if want is None:
        assert text == "—", where
        return
    if isinstance(want, Unassessed):
        assert f"{quotes_phrase(want.quotes)}, not assessed" in text, where
        assert any(h.startswith(f"/cells/{key[0]}/{key[1]}") for h in td.links()), where
        return
    if isinstance(want, Split):
        assert "Split" in text, where
        assert members_words(want.members) in text, where
        return
    assert f"{LABELS[want.stance]} since {day(want.since)}" in text, where
    assert has_count(text, want.evidence), where
    assert has_word(text, "unconfirmed") == (want.confirmation == UNCONFIRMED), where
    assert has_word(text, "denied") == (want.confirmation == DENIED), where
    assert has_word(text, "stale") == want.stale, where
    if want.members:
        assert members_words(want.members) in text, where
    if changed is not None:
        assert has_word(text, "changed") == changed, where


@pytest.mark.parametrize("as_of", DATES)
@pytest.mark.parametrize("fragment", [False, True], ids=["page", "fragment"])
def test_matrix_cells_read_as_an_analyst_expects(world: World, as_of: str, fragment: bool) -> None:
    headers = {"HX-Request": "true"} if fragment else {}
    html = get(world, f"/?as_of={as_of}&view=detailed", **headers)
    if fragment:
        assert "<html" not in html.lower()
    cells = matrix_cells(html)
    for key, want in all_cells(as_of):
        check_matrix_cell(key, cells[key], want, changed=False if isinstance(want, Held) else None)


@pytest.mark.parametrize("as_of", DATES)
def test_matrix_highlights_real_changes_never_restatements(world: World, as_of: str) -> None:
    cells = matrix_cells(get(world, f"/?as_of={as_of}&since={SINCE[as_of]}&view=detailed"))
    for key, want in all_cells(as_of):
        changed = changed_since(as_of, key) if isinstance(want, Held) else None
        check_matrix_cell(key, cells[key], want, changed)
    for _, party, issue in RESTATEMENTS[as_of]:
        # A cell restated in the window, with no real change there, is not highlighted.
        if changed_since(as_of, (party, issue)) is False:
            assert not has_word(cells[(party, issue)].text(), "changed"), (party, issue)


# =============================================================================================
# JSON API


def api_cells(world: World, query: str) -> dict[tuple[str, str], dict[str, Any]]:
    response = world.client.get(f"/api/v1/matrix?{query}")
    assert response.status_code == 200, response.text
    cells = response.json()["cells"]
    keyed = {(c["party"], c["issue"]): c for c in cells}
    assert len(keyed) == len(cells)
    return keyed


def check_api_cell(key: tuple[str, str], got: dict[str, Any], want: Expected) -> None:
    where = f"{key}: {got}"
    if isinstance(want, Unassessed):
        assert got["state"] == "not_assessed", where
        assert got["stance"] is None, where
        assert got["unassessed_quotes"] == want.quotes, where
        return
    if isinstance(want, Split):
        assert got["state"] == "split", where
        assert got["stance"] is None, where
        assert got["split"] is True, where
        assert got["members"] == want.members, where
        return
    expected = {
        "state": "position",
        "stance": want.stance,
        "condition": want.condition,
        "since": want.since,
        "effective_from": want.since,
        "evidence_count": want.evidence,
        "latest_evidence_on": want.latest,
        "confirmation": want.confirmation,
        "stale": want.stale,
        "unassessed_quotes": 0,
    }
    assert {k: got.get(k) for k in expected} == expected, where
    if want.members:
        assert got["split"] is True and got["members"] == want.members, where
    elif key[0] != "eu":
        assert got["split"] is False and got["members"] is None, where
    else:  # Europe's own position while its members agree
        assert got["split"] is False, where


@pytest.mark.parametrize("as_of", DATES)
def test_api_matrix_cells(world: World, as_of: str) -> None:
    cells = api_cells(world, f"as_of={as_of}")
    assert set(cells) == set(EXPECTED[as_of]), "cells with no evidence must be absent"
    for key, want in EXPECTED[as_of].items():
        check_api_cell(key, cells[key], want)
        if isinstance(want, Held):
            assert cells[key]["changed"] is False, key  # no `since`: nothing is highlighted


@pytest.mark.parametrize("as_of", DATES)
def test_api_flags_real_changes_since_a_date(world: World, as_of: str) -> None:
    cells = api_cells(world, f"as_of={as_of}&since={SINCE[as_of]}")
    assert set(cells) == set(EXPECTED[as_of])
    for key, want in EXPECTED[as_of].items():
        check_api_cell(key, cells[key], want)
        changed = changed_since(as_of, key) if isinstance(want, Held) else None
        if changed is not None:
            assert cells[key]["changed"] is changed, key


# =============================================================================================
# CSV export


@pytest.mark.parametrize("as_of", DATES)
def test_matrix_csv_has_one_row_per_party_and_issue(world: World, as_of: str) -> None:
    response = world.client.get(f"/exports/matrix.csv?as_of={as_of}")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
    assert [(r["party"], r["issue"]) for r in rows] == [key for key, _ in all_cells(as_of)]
    for row, (key, want) in zip(rows, all_cells(as_of), strict=True):
        where = f"{key}: {row}"
        assert row["as_of"] == as_of, where
        assert row["party_name"] == PARTIES[key[0]][0], where
        assert row["issue_title"] == ISSUES[key[1]], where
        if want is None:
            assert (row["state"], row["stance"], row["since"], row["members"]) == (
                "none",
                "",
                "",
                "",
            ), where
        elif isinstance(want, Unassessed):
            assert (row["state"], row["stance"], row["unassessed_quotes"]) == (
                "not_assessed",
                "",
                str(want.quotes),
            ), where
        elif isinstance(want, Split):
            assert (row["state"], row["stance"], row["members"]) == (
                "split",
                "",
                members_csv(want.members),
            ), where
        else:
            got = {
                k: row[k]
                for k in (
                    "state", "stance", "condition", "since", "evidence_count",
                    "latest_evidence_on", "confirmation", "members", "unassessed_quotes",
                )
            }  # fmt: skip
            assert got == {
                "state": "position",
                "stance": want.stance,
                "condition": want.condition or "",
                "since": want.since,
                "evidence_count": str(want.evidence),
                "latest_evidence_on": want.latest,
                "confirmation": want.confirmation,
                "members": members_csv(want.members) if want.members else row["members"],
                "unassessed_quotes": "0",
            }, where
            if key[0] != "eu":  # only a bloc lists members (Europe's agreeing ones: unasserted)
                assert row["members"] == "", where
            assert row["stale"].lower() == str(want.stale).lower(), where


# =============================================================================================
# Cell pages


def cell_page(world: World, party: str, issue: str, as_of: str) -> str:
    root = parse(get(world, f"/cells/{party}/{issue}?as_of={as_of}"))
    main = root.find_all("main")
    return (main[0] if main else root).text()


def held_phrase(want: Held) -> str:
    """The "<Stance> since <run start>" phrase as a regex (a condition may follow the stance)."""
    label = LABELS[want.stance]
    condition = f"(?: if {re.escape(want.condition)})?" if want.condition else ""
    return f"{label}{condition} since {re.escape(day(want.since))}"


@pytest.mark.parametrize("as_of", DATES)
@pytest.mark.parametrize(
    ("party", "issue"),
    [
        ("ru", "nato-membership"),  # restated three times: one run from 18 Feb
        ("ua", "elections"),  # restated with the same condition, then a new condition
        ("us", "occupied-territories"),  # changes twice within a month (December)
        ("us", "ceasefire"),  # back to accepts in October: a new run
        ("ua", "ceasefire"),  # restated twice
        ("ru", "elections"),  # restated citing a retracted report
        ("tr", "prisoner-exchange"),  # not assessed in March, held later
        ("hu", "eu-membership"),  # nothing, not assessed, then held
    ],
)
def test_cell_page_says_the_stance_since_the_run_start(
    world: World, party: str, issue: str, as_of: str
) -> None:
    text = cell_page(world, party, issue, as_of)
    want = EXPECTED[as_of].get((party, issue))
    if isinstance(want, Held):
        assert re.search(held_phrase(want), text), text[:600]
    elif isinstance(want, Unassessed):
        assert has_word(text, "not assessed"), text[:600]
        assert quotes_phrase(want.quotes) in text, text[:600]
    else:
        assert want is None
        assert not has_word(text, "not assessed"), text[:600]


@pytest.mark.parametrize("as_of", DATES)
def test_split_cell_page_links_each_members_cell(world: World, as_of: str) -> None:
    want = EXPECTED[as_of][("eu", "foreign-troops")]
    assert isinstance(want, Split)
    root = parse(get(world, f"/cells/eu/foreign-troops?as_of={as_of}"))
    text = root.text()
    assert "Split" in text
    assert members_words(want.members) in text
    links = {href.split("?")[0] for href in root.links()}
    for member in want.members:
        assert f"/cells/{member}/foreign-troops" in links, member


def test_not_assessed_cell_page_lists_the_quotes(world: World) -> None:
    # China on a ceasefire, 31 Dec: Wang Yi in Munich (14 Feb), Rio (28 Apr), Beijing (3 Sep).
    text = cell_page(world, "cn", "ceasefire", DEC)
    assert has_word(text, "not assessed")
    for fragment in (
        "China supports all efforts conducive to peace",
        "A comprehensive and lasting ceasefire is the first step",
        "The root causes of the crisis must be addressed",
    ):
        assert fragment in text, fragment
    # On 31 Jul the Beijing remarks were not yet said.
    july = cell_page(world, "cn", "ceasefire", JUL)
    assert "2 quotes" in july and "The root causes of the crisis" not in july


def test_denied_claim_cell_page_shows_who_denied_it(world: World) -> None:
    # Russia on guarantees, 31 Dec: the US envoy's claim (17 Aug), denied by Lavrov (20 Aug).
    text = cell_page(world, "ru", "security-guarantees", DEC)
    assert "Accepts since 17 Aug 2025" in text
    assert has_word(text, "denied")
    assert "Sergei Lavrov" in text and "road to nowhere" in text


def test_speaker_whose_role_changed_is_one_speaker_across_the_year(world: World) -> None:
    # Umerov speaks in Istanbul (16 May, as Defence Minister) and Geneva (23 Nov, as NSDC
    # Secretary): both quotes show under the same name and role on Ukraine's page.
    root = parse(get(world, f"/parties/ua?as_of={DEC}"))
    text = root.text()
    assert "a thousand prisoners for a thousand" in text
    assert "produced an updated framework" in text
    assert text.count("Rustem Umerov, Secretary of the National Security and Defence Council") == 2


# =============================================================================================
# Party and issue pages


def check_row(row_text: str, want: Expected | None, where: str) -> None:
    if want is None:
        assert not has_word(row_text, "not assessed"), where
        assert "Split" not in row_text, where
        assert not any(re.search(rf"\b{label}\b", row_text) for label in LABELS.values()), where
    elif isinstance(want, Unassessed):
        assert f"{quotes_phrase(want.quotes)}, not assessed" in row_text, where
    elif isinstance(want, Split):
        assert "Split" in row_text, where
        assert members_words(want.members) in row_text, where
    else:
        assert re.search(rf"\b{LABELS[want.stance]}\b", row_text), where
        assert day(want.since) in row_text, where
        assert has_count(row_text, want.evidence), where
        if want.members:
            assert members_words(want.members) in row_text, where


@pytest.mark.parametrize("as_of", DATES)
@pytest.mark.parametrize("party", list(PARTIES))
def test_party_page_states_per_issue(world: World, party: str, as_of: str) -> None:
    root = parse(get(world, f"/parties/{party}?as_of={as_of}"))
    for issue in ISSUES:
        row = row_headed_by(root, f"/cells/{party}/{issue}")
        check_row(row.text(), EXPECTED[as_of].get((party, issue)), f"{party}/{issue}: {row.text()}")


def timeline_bars(html: str) -> list[str]:
    """The title of every bar of the issue's timeline chart ("Party: stance from A to B")."""
    return re.findall(r'<g class="tl-segment[^"]*">\s*<title>([^<]*)</title>', html)


# One bar per run, per party, on the issue page's chart: (stance, run start) in order.
RUNS: dict[tuple[str, str], dict[str, list[tuple[str, str]]]] = {
    (MAR, "nato-membership"): {
        "us": [("rejects", "2025-02-12")],
        "ua": [("accepts", "2025-02-15")],
        "ru": [("rejects", "2025-02-18")],
    },
    (JUL, "nato-membership"): {
        "us": [("rejects", "2025-02-12")],
        "ua": [("accepts", "2025-02-15")],
        "ru": [("rejects", "2025-02-18")],  # restated 16 May and 2 Jun
    },
    (DEC, "nato-membership"): {
        "us": [("rejects", "2025-02-12")],  # restated 20 Nov
        "ua": [("accepts", "2025-02-15"), ("ambiguous", "2025-12-14")],
        "ru": [("rejects", "2025-02-18")],  # restated 16 May, 2 Jun, 27 Nov
    },
    (DEC, "ceasefire"): {
        "us": [("accepts", "2025-03-11"), ("rejects", "2025-08-16"), ("accepts", "2025-10-17")],
        "ua": [("accepts", "2025-03-11")],  # restated 10 May, 21 Oct
        "ru": [("conditional", "2025-03-13"), ("rejects", "2025-05-11")],
    },
    (DEC, "elections"): {
        "us": [("accepts", "2025-02-19")],  # restated 9 Dec
        "ua": [("conditional", "2025-02-19"), ("conditional", "2025-12-09")],  # new condition
        "ru": [("accepts", "2025-03-28")],  # restated 10 Apr
    },
    (DEC, "occupied-territories"): {
        "us": [
            ("accepts", "2025-04-23"),
            ("rejects", "2025-09-23"),
            ("accepts", "2025-11-20"),
            ("ambiguous", "2025-11-30"),
        ],
        "ua": [("rejects", "2025-02-15")],  # restated 22 Apr
        "ru": [("accepts", "2025-04-22")],  # restated 2 Jun
    },
    (DEC, "security-guarantees"): {
        "us": [("accepts", "2025-02-12")],  # restated 18 Aug
        "ua": [("accepts", "2025-03-02")],  # restated 23 Nov
        "ru": [("accepts", "2025-08-17")],
        "eu": [("accepts", "2025-03-06")],  # restated 4 Sep
        "uk": [("accepts", "2025-03-02")],
        "fr": [("accepts", "2025-03-11")],
        "de": [("conditional", "2025-08-18")],
    },
}


@pytest.mark.parametrize("as_of", DATES)
@pytest.mark.parametrize("issue", list(ISSUES))
def test_issue_page_states_per_party(world: World, issue: str, as_of: str) -> None:
    html = get(world, f"/issues/{issue}?as_of={as_of}")
    root = parse(html)
    for party in PARTIES:
        row = row_headed_by(root, f"/cells/{party}/{issue}")
        check_row(row.text(), EXPECTED[as_of].get((party, issue)), f"{party}/{issue}: {row.text()}")
    runs = RUNS.get((as_of, issue))
    if runs is None:
        return
    bars = timeline_bars(html)
    for party, expected in runs.items():
        name = PARTIES[party][0]
        mine = [b for b in bars if b.startswith(f"{name}: ")]
        got = [
            (b.split(": ", 1)[1].split(" from ")[0], b.split(" from ")[1].split(" to ")[0])
            for b in mine
        ]
        assert got == [(stance, day(start)) for stance, start in expected], (party, mine)


# =============================================================================================
# Compare


def compare_rows(html: str) -> dict[str, tuple[str, str]]:
    """Per issue slug: (verdict, the row's text), the verdict read from the row's last cell."""
    root = parse(html)
    rows: dict[str, tuple[str, str]] = {}
    for tr in root.find_all("tr"):
        issue_links = [h for h in tr.links() if h.startswith("/issues/")]
        if not issue_links:
            continue
        slug = issue_links[0].split("?")[0].removeprefix("/issues/")
        cells = [c for c in tr.children if isinstance(c, Element) and c.tag in {"td", "th"}]
        last = cells[-1].text().lower()
        found = [w for w in ("not comparable", "agree", "differ", "unclear") if has_word(last, w)]
        assert len(found) == 1, (slug, last)
        rows[slug] = (found[0], tr.text())
    return rows


@pytest.mark.parametrize("as_of", DATES)
def test_compare_three_parties(world: World, as_of: str) -> None:
    html = get(world, f"/compare?parties=us,ua,ru&as_of={as_of}")
    rows = compare_rows(html)
    assert {slug: verdict for slug, (verdict, _) in rows.items()} == COMPARE[as_of]
    assert COMPARE_SUMMARY[as_of] in parse(html).text()
    if as_of == DEC:
        assert "Russia's evidence was denied" in rows["security-guarantees"][1]


@pytest.mark.parametrize("as_of", DATES)
def test_compare_only_differences(world: World, as_of: str) -> None:
    html = get(world, f"/compare?parties=us,ua,ru&as_of={as_of}&only=differences")
    rows = compare_rows(html)
    assert {slug: verdict for slug, (verdict, _) in rows.items()} == {
        slug: verdict
        for slug, verdict in COMPARE[as_of].items()
        if verdict in {"differ", "unclear"}
    }


def test_compare_the_same_party_twice_is_a_400(world: World) -> None:
    response = world.client.get(f"/compare?parties=us,us&as_of={DEC}")
    assert response.status_code == 400


# =============================================================================================
# Changes: the page and the API


@pytest.mark.parametrize("as_of", DATES)
def test_changes_page_lists_real_changes_only(world: World, as_of: str) -> None:
    root = parse(get(world, f"/changes?from={SINCE[as_of]}&to={as_of}"))
    listed: list[tuple[str, str, str]] = []
    for li in root.find_all("li"):
        cell_links = [h for h in li.links() if h.startswith("/cells/")]
        times = li.find_all("time")
        if len(cell_links) != 1 or not times or len(li.find_all("li")) > 1:
            continue
        party, issue = cell_links[0].split("?")[0].removeprefix("/cells/").split("/")
        listed.append((times[0].attrs["datetime"], party, issue))
    expected = [(when, party, issue) for when, party, issue, *_ in CHANGES[as_of]]
    assert Counter(listed) == Counter(expected)
    for restated in RESTATEMENTS[as_of]:
        assert restated not in listed


@pytest.mark.parametrize("as_of", DATES)
def test_changes_api_lists_real_changes_with_old_and_new_stance(world: World, as_of: str) -> None:
    response = world.client.get(f"/api/v1/changes?from={SINCE[as_of]}&to={as_of}")
    assert response.status_code == 200, response.text
    got = [
        (
            c["effective_from"],
            c["party"],
            c["issue"],
            c["old_stance"],
            c["new_stance"],
            c["condition"],
        )
        for c in response.json()
    ]
    assert Counter(got) == Counter(CHANGES[as_of])
    dates = [c[0] for c in got]
    assert dates == sorted(dates, reverse=True), "newest first"


# =============================================================================================
# Atom feeds

ATOM = "{http://www.w3.org/2005/Atom}"


def feed_entries(world: World, path: str) -> list[tuple[str, str, date, datetime]]:
    """(party, issue, published day, updated instant) of each entry, in feed order."""
    response = world.client.get(path)
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    entries = []
    for entry in root.findall(f"{ATOM}entry"):
        link = entry.find(f"{ATOM}link")
        assert link is not None
        party, issue = link.get("href", "").split("/cells/")[1].split("?")[0].split("/")
        published = datetime.fromisoformat(
            (entry.findtext(f"{ATOM}published") or "").replace("Z", "+00:00")
        )
        updated = datetime.fromisoformat(
            (entry.findtext(f"{ATOM}updated") or "").replace("Z", "+00:00")
        )
        assert published.time() == datetime.min.time()
        entries.append((party, issue, published.date(), updated))
    return entries


def recorded(effective_from: str) -> datetime:
    """When the fixture recorded a position: the day after it took effect, 09:00 UTC."""
    return datetime.combine(
        date.fromisoformat(effective_from) + timedelta(days=1), datetime.min.time(), UTC
    ).replace(hour=9)


def expected_entries(changes: list[Change]) -> Counter[tuple[str, str, date, datetime]]:
    return Counter(
        (party, issue, date.fromisoformat(when), recorded(when))
        for when, party, issue, *_ in changes
    )


@pytest.mark.parametrize("party", ["us", "ua", "ru", "hu", "de"])
def test_party_feed_has_one_entry_per_real_change(world: World, party: str) -> None:
    entries = feed_entries(world, f"/feeds/parties/{party}.atom")
    assert Counter(entries) == expected_entries([c for c in ALL_CHANGES if c[1] == party])
    published = [e[2] for e in entries]
    assert published == sorted(published, reverse=True)


@pytest.mark.parametrize(
    "issue", ["nato-membership", "ceasefire", "elections", "occupied-territories", "frozen-assets"]
)
def test_issue_feed_has_one_entry_per_real_change(world: World, issue: str) -> None:
    entries = feed_entries(world, f"/feeds/issues/{issue}.atom")
    assert Counter(entries) == expected_entries([c for c in ALL_CHANGES if c[2] == issue])


def test_all_changes_feed_holds_the_newest_fifty_real_changes(world: World) -> None:
    # 61 real changes in the year; the feed holds the newest 50 (FEED_SIZE): every change from
    # 3 Mar on (47 of them) and 3 of the 4 of 2 Mar, whichever the tie goes to.
    entries = feed_entries(world, "/feeds/changes.atom")
    assert len(ALL_CHANGES) == 61 and len(entries) == 50
    later = [c for c in ALL_CHANGES if c[0] >= "2025-03-03"]
    assert len(later) == 47
    assert Counter(e for e in entries if e[2] >= date(2025, 3, 3)) == expected_entries(later)
    on_the_second = [e for e in entries if e[2] == date(2025, 3, 2)]
    assert len(on_the_second) == 3
    assert set(on_the_second) <= set(
        expected_entries([c for c in ALL_CHANGES if c[0] == "2025-03-02"])
    )


# =============================================================================================
# Briefing PDF

RUNNING_HEAD = re.compile(r"Ukraine peace talks: positions briefing As of .*? Page \d+ of \d+")


def briefing_text(world: World, as_of: str) -> str:
    response = world.client.get(f"/briefing.pdf?as_of={as_of}&since={SINCE[as_of]}")
    assert response.status_code == 200, response.text[:500]
    pages = [
        " ".join((page.extract_text() or "").split())
        for page in PdfReader(io.BytesIO(response.content)).pages
    ]
    return " ".join(RUNNING_HEAD.sub(" ", page) for page in pages)


def change_heads(text: str) -> list[str]:
    """Every "<date> <Party> on <Issue>:" head in the "What changed" section."""
    start = text.index("What changed between")
    end = text.index("Proposition: “Crimea is recognised as part of Russia”", start)
    names = "|".join(re.escape(name) for name, _ in PARTIES.values())
    titles = "|".join(re.escape(title) for title in ISSUES.values())
    return re.findall(
        rf"\d{{1,2}} [A-Z][a-z]{{2}} 2025 (?:{names}) on (?:{titles}):",
        " ".join(text[start:end].split()),
    )


@pytest.mark.parametrize("as_of", DATES)
def test_briefing_pdf_lists_changes_never_restatements_and_the_split(
    world: World, as_of: str
) -> None:
    text = briefing_text(world, as_of)
    assert f"What changed between {day(SINCE[as_of])} and {day(as_of)}" in text
    heads = change_heads(text)
    expected = [
        f"{day(when)} {PARTIES[party][0]} on {ISSUES[issue]}:"
        for when, party, issue, *_ in CHANGES[as_of]
    ]
    assert Counter(heads) == Counter(expected)
    for when, party, issue in RESTATEMENTS[as_of]:
        assert f"{day(when)} {PARTIES[party][0]} on {ISSUES[issue]}:" not in heads
    split = EXPECTED[as_of][("eu", "foreign-troops")]
    assert isinstance(split, Split)
    # The matrix cell lists the members in short words; the issue's section in full.
    short = {"accepts": "acc.", "conditional": "cond.", "ambiguous": "uncl.", "rejects": "rej."}
    tiny = " · ".join(f"{PARTIES[slug][1]} {short[st]}" for slug, st in split.members.items())
    assert f"Split {tiny}" in text
