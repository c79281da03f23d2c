"""Managing the issues, the matrix's columns (admins): list, add, edit, reorder and delete."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse

from app.db import SessionDep
from app.forms import IssueForm, NewIssueForm, parse_or_refuse
from app.models import Issue, User
from app.routes.manage.shared import Managed, Values, add_routes, router
from app.security import AdminDep, require_admin
from app.services import catalog, themes
from app.templating import render


def _values(session: Session, issue: Issue) -> dict[str, str]:
    return {
        "title": issue.title,
        "proposition": issue.proposition,
        "description": issue.description,
        "sort_order": str(issue.sort_order),
        "theme": issue.theme or "",
        "version": str(issue.version),
    }


def _fields(session: Session, form: IssueForm) -> dict[str, Any]:
    return {**form.model_dump(), "theme": themes.checked_theme(session, form.theme)}


def _add(session: Session, actor: User, data: Values) -> None:
    form = parse_or_refuse(NewIssueForm, data)
    catalog.add_issue(session, actor=actor, **_fields(session, form))


def _update(session: Session, actor: User, issue: Issue, version: int, data: Values) -> None:
    fields = _fields(session, parse_or_refuse(IssueForm, data))
    catalog.update_issue(session, actor=actor, issue=issue, expected_version=version, **fields)


ISSUES = Managed[Issue](
    noun="issue",
    plural="issues",
    guard=require_admin,
    fragment="manage/_issue_form.html",
    param="slug",
    find=lambda session, slug: catalog.get_issue(session, slug=slug),
    key=lambda issue: issue.slug,
    title=lambda issue: issue.title,
    values=_values,
    labels=[
        ("title", "Title"),
        ("proposition", "Proposition"),
        ("description", "Description"),
        ("sort_order", "Sort order"),
        ("theme", "Theme"),
    ],
    add=_add,
    update=_update,
    choices=lambda session, issue, values: {
        "themes": [(t.slug, t.title) for t in themes.list_themes(session)]
    },
    defaults=lambda session: {"sort_order": str(catalog.next_sort_order(session, Issue))},
    what=lambda issue: f"the issue {issue.title} ({issue.slug})",
    delete=lambda session, actor, issue: catalog.delete_issue(session, actor=actor, issue=issue),
    move=lambda session, actor, issue, way: catalog.move_issue(
        session, actor=actor, issue=issue, direction=way
    ),
)


@router.get("/issues", response_class=HTMLResponse, summary="Issues")
def list_issues(request: Request, session: SessionDep, admin: AdminDep) -> HTMLResponse:
    """Every issue in matrix column order."""
    return render(request, "manage/issues.html", {"issues": catalog.list_issues(session)})


add_routes(ISSUES)
