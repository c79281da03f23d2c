"""Themes: the headings that group issues in the matrix (territory, security, economy, process).

An issue names its theme by slug (`Issue.theme`); this module is what keeps that slug pointing at
a theme: a theme is added and edited here, an issue's theme is checked here, and a theme that
issues still use cannot be deleted.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Issue, Theme, User
from app.services import audit
from app.services.catalog import (
    SORT_STEP,
    check_version,
    move_in_order,
    slug_error,
    versioned_write,
)
from app.services.errors import InUse, NotFound, ValidationFailed


def list_themes(session: Session) -> list[Theme]:
    """Every theme in display order."""
    return list(session.scalars(select(Theme).order_by(Theme.sort_order, Theme.id)))


def get_theme(session: Session, *, slug: str) -> Theme:
    """The theme with this slug, or NotFound."""
    theme = session.scalar(select(Theme).where(Theme.slug == slug))
    if theme is None:
        raise NotFound("theme", slug)
    return theme


def checked_theme(session: Session, slug: str | None) -> str | None:
    """An issue's theme as submitted: blank is none; an unknown slug is a ValidationFailed."""
    slug = (slug or "").strip()
    if not slug:
        return None
    if session.scalar(select(Theme.id).where(Theme.slug == slug)) is None:
        raise ValidationFailed({"theme": "Choose a theme from the list."})
    return slug


def create_theme(
    session: Session, *, actor: User | None, slug: str, title: str, sort_order: int = 0
) -> Theme:
    """Store a theme (the slug is checked by `add_theme`; data files are checked on import)."""
    theme = Theme(slug=slug, title=title, sort_order=sort_order)
    session.add(theme)
    audit.record(session, actor=actor, action="create", entity=theme)
    return theme


def add_theme(
    session: Session, *, actor: User | None, slug: str, title: str, sort_order: int | None
) -> Theme:
    """Add a theme after checking its slug; without an order it goes last."""
    problem = slug_error(session, Theme, slug)
    if problem:
        raise ValidationFailed({"slug": problem})
    if sort_order is None:
        sort_order = (session.scalar(select(func.max(Theme.sort_order))) or 0) + SORT_STEP
    return create_theme(session, actor=actor, slug=slug, title=title, sort_order=sort_order)


def update_theme(
    session: Session,
    *,
    actor: User | None,
    theme: Theme,
    expected_version: int,
    title: str,
    sort_order: int,
) -> Theme:
    """Rename a theme or change its place (the slug never changes: issues refer to it)."""
    check_version(theme, expected_version)
    with versioned_write(session, theme):
        before = audit.snapshot(theme)
        theme.title = title
        theme.sort_order = sort_order
        audit.record(session, actor=actor, action="update", entity=theme, before=before)
    return theme


def delete_theme(session: Session, *, actor: User | None, theme: Theme) -> None:
    """Delete a theme no issue is grouped under; otherwise say how many are."""
    used = session.scalar(select(func.count()).select_from(Issue).where(Issue.theme == theme.slug))
    if used:
        noun = "issue is" if used == 1 else "issues are"
        raise InUse(
            f"{theme.title} ({theme.slug}) cannot be deleted: {used} {noun} grouped under it."
        )
    audit.record(session, actor=actor, action="delete", entity=theme, before=audit.snapshot(theme))
    session.delete(theme)
    session.flush()


def move_theme(session: Session, *, actor: User | None, theme: Theme, direction: str) -> None:
    """Move a theme one place earlier ("up") or later ("down") in the matrix."""
    move_in_order(
        session, actor=actor, siblings=list_themes(session), item=theme, direction=direction
    )
