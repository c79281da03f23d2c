"""The parties, issues and themes of the newest data version, held per worker.

Every matrix reads the whole catalog (its rows and columns, and the themes that head the
columns): three small queries, yet on a matrix miss under load they were a sixth of a worker's
samples, waiting on the database and building the same 70 objects again. The catalog changes
only with a write, and every write moves the data version on (app.services.versioning), so a
worker reads it once per version and hands every later view of that version the same lists.

What is held are plain copies (transient instances made from each row's columns), attached to
no session: a view reads their columns and never their relationships (which load only on
request, `lazy="raise_on_sql"`), and nothing writes to them. A version private to a
transaction with changes of its own (at or above versioning.PRIVATE_BASE) is read from that
transaction and never held.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from app.models import Issue, Party, Theme
from app.services import catalog, themes, versioning

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


class HeldCatalog:
    """Per worker (`app.state.held_catalog`): the listing of the newest data version read.

    `listing(session, version)` reads the database the first time a version is asked for and
    keeps copies; later requests for that version get the same lists (callers must not change
    them). Thread-safe; two requests reading a new version at once both read it, and the newer
    version wins.
    """

    def __init__(self) -> None:
        self._held: tuple[int, Listing] | None = None
        self._lock = threading.Lock()
        self.reads = 0
        """How many times the database was read for the catalog (tests count them)."""

    def listing(self, session: Session, version: int | None) -> Listing:
        """The catalog for `version` (the data version a view renders for; None: unknown)."""
        with self._lock:
            held = self._held
        if held is not None and held[0] == version:
            return held[1]
        found = read(session)
        self.reads += 1
        if version is None or version >= versioning.PRIVATE_BASE:
            return found
        copies = Listing(
            [_copy(p) for p in found.parties],
            [_copy(i) for i in found.issues],
            [_copy(t) for t in found.themes],
        )
        with self._lock:
            if self._held is None or self._held[0] < version:
                self._held = (version, copies)
        return copies
