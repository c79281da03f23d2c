"""The parties, issues, themes, rounds and speakers of the newest data version, held per worker.

Every matrix reads the whole catalog (its rows and columns, and the themes that head the
columns): three small queries, yet on a matrix miss under load they were a sixth of a worker's
samples, waiting on the database and building the same 70 objects again. The catalog changes
only with a write, and every write moves the data version on (app.services.versioning), so a
worker reads it once per version and hands every later view of that version the same lists.
The rounds (their first days and names, which a cell's timeline marks), the speakers (the
search form's choices) and the documents and rounds a search matches by name are held the same way, each read when a view first asks for it in a
version: a query each that every cell page and every search page ran again.

What is held are plain copies (transient instances made from each row's columns), attached to
no session: a view reads their columns and never their relationships (which load only on
request, `lazy="raise_on_sql"`), and nothing writes to them. A version private to a
transaction with changes of its own (at or above versioning.PRIVATE_BASE) is read from that
transaction and never held.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from app.models import Issue, Party, Theme
from app.services import catalog, search_texts, themes, versioning

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Listing:
    """The catalog in display order: parties (blocs followed by their members), issues, themes."""

    parties: list[Party]
    issues: list[Issue]
    themes: list[Theme]


def read(session: Session) -> Listing:
    """The catalog as the session sees it (three queries)."""
    return Listing(
        catalog.list_parties(session), catalog.list_issues(session), themes.list_themes(session)
    )


def _copy(row: T) -> T:
    """A transient copy of a loaded row: its columns, no session."""
    kind = type(row)
    columns = inspect(kind).column_attrs
    values: dict[str, Any] = {attr.key: getattr(row, attr.key) for attr in columns}
    return kind(**values)


class _PerVersion(Generic[T]):
    """One value per data version, read by `read` the first time a version is asked for and
    then shared. Thread-safe; two requests reading a new version at once both read it, and the
    newer version wins. A version private to a transaction (or None) is read and not held."""

    def __init__(self, read: Callable[[Session], T]) -> None:
        self._read = read
        self._held: tuple[int, T] | None = None
        self._lock = threading.Lock()

    def get(self, session: Session, version: int | None) -> T:
        with self._lock:
            held = self._held
        if held is not None and held[0] == version:
            return held[1]
        value = self._read(session)
        if version is not None and version < versioning.PRIVATE_BASE:
            with self._lock:
                if self._held is None or self._held[0] < version:
                    self._held = (version, value)
        return value


class HeldCatalog:
    """Per worker (`app.state.held_catalog`): the listing of the newest data version read, and
    its rounds and speakers.

    `listing(session, version)` reads the database the first time a version is asked for and
    keeps copies; later requests for that version get the same lists (callers must not change
    them). So do `rounds_until` and `speakers`, each on its own.
    """

    def __init__(self) -> None:
        self._listing = _PerVersion(self._read_copies)
        self._rounds = _PerVersion(catalog.round_marks)
        self._speakers = _PerVersion(catalog.speaker_options)
        self._texts = _PerVersion(search_texts.text_rows)
        self.reads = 0
        """How many times the database was read for the catalog (tests count them)."""

    def _read_copies(self, session: Session) -> Listing:
        found = read(session)
        self.reads += 1
        return Listing(
            [_copy(p) for p in found.parties],
            [_copy(i) for i in found.issues],
            [_copy(t) for t in found.themes],
        )

    def listing(self, session: Session, version: int | None) -> Listing:
        """The catalog for `version` (the data version a view renders for; None: unknown)."""
        if version is None or version >= versioning.PRIVATE_BASE:
            self.reads += 1
            return read(session)  # the transaction's own rows, its changes among them
        return self._listing.get(session, version)

    def rounds_until(
        self, session: Session, version: int | None, until: date
    ) -> list[tuple[date, str]]:
        """The rounds that began by `until` as a timeline marks them (rounds.on_axis), from
        every round of `version` (catalog.round_marks)."""
        return [(day, name) for day, name in self._rounds.get(session, version) if day <= until]

    def speakers(self, session: Session, version: int | None) -> list[tuple[str, str]]:
        """Every speaker of `version` as the search form lists them (catalog.speaker_options)."""
        return self._speakers.get(session, version)

    def texts(self, session: Session, version: int | None) -> list[search_texts.TextRow]:
        """Every document and round of `version` as the search matches them by name
        (search_texts.text_rows)."""
        return self._texts.get(session, version)
