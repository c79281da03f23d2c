"""Managing the themes that group the issues in the matrix (admins): list, add, edit, reorder
and delete."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse

from app.db import SessionDep
from app.forms import NewThemeForm, ThemeForm, parse_or_refuse
from app.models import Issue, Theme, User
from app.routes.manage.shared import Managed, Values, add_routes, router
from app.security import AdminDep, require_admin
from app.services import catalog, themes
from app.templating import render


def _values(session: Session, theme: Theme) -> dict[str, str]:
    return {
        "title": theme.title,
        "sort_order": str(theme.sort_order),
        "version": str(theme.version),
    }


def _update(session: Session, actor: User, theme: Theme, version: int, data: Values) -> None:
    form = parse_or_refuse(ThemeForm, data)
    themes.update_theme(
        session, actor=actor, theme=theme, expected_version=version, **form.model_dump()
    )


THEMES = Managed[Theme](
    noun="theme",
    plural="themes",
    guard=require_admin,
    fragment="manage/_theme_form.html",
    param="slug",
    find=lambda session, slug: themes.get_theme(session, slug=slug),
    key=lambda theme: theme.slug,
    title=lambda theme: theme.title,
    values=_values,
    labels=[("title", "Title"), ("sort_order", "Sort order")],
    add=lambda session, actor, data: themes.add_theme(
        session, actor=actor, **parse_or_refuse(NewThemeForm, data).model_dump()
    ),
    update=_update,
    what=lambda theme: f"the theme {theme.title} ({theme.slug})",
    delete=lambda session, actor, theme: themes.delete_theme(session, actor=actor, theme=theme),
    move=lambda session, actor, theme, way: themes.move_theme(
        session, actor=actor, theme=theme, direction=way
    ),
)


@router.get("/themes", response_class=HTMLResponse, summary="Themes")
def list_themes(request: Request, session: SessionDep, admin: AdminDep) -> HTMLResponse:
    """Every theme in matrix order, with the issues grouped under it."""
    issues: list[Issue] = catalog.list_issues(session)
    by_theme: dict[str, list[Issue]] = {}
    for issue in issues:
        if issue.theme:
            by_theme.setdefault(issue.theme, []).append(issue)
    context = {
        "themes": themes.list_themes(session),
        "issues_by_theme": by_theme,
        "unthemed": [i for i in issues if not i.theme],
    }
    return render(request, "manage/themes.html", context)


add_routes(THEMES)
