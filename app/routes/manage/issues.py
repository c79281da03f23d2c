"""Managing the issues, the matrix's columns (admins): list, add, edit, reorder and delete."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from starlette.responses import HTMLResponse, Response

from app.db import SessionDep
from app.forms import FormDep, IssueForm, NewIssueForm, form_version, parse_or_refuse
from app.models import Issue
from app.routes.manage.shared import (
    Deletion,
    Ordered,
    add_order_and_delete_routes,
    conflict,
    form_page,
    router,
)
from app.security import AdminDep
from app.services import catalog
from app.services.errors import EditConflict, ValidationFailed
from app.templating import redirect_after_post, render

LIST_URL = "/manage/issues"
FIELDS = [
    ("title", "Title"),
    ("proposition", "Proposition"),
    ("description", "Description"),
    ("sort_order", "Sort order"),
]


def _values(issue: Issue) -> dict[str, str]:
    return {
        "title": issue.title,
        "proposition": issue.proposition,
        "description": issue.description,
        "sort_order": str(issue.sort_order),
        "version": str(issue.version),
    }


def _form(
    request: Request,
    *,
    issue: Issue | None,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    return form_page(
        request,
        fragment="manage/_issue_form.html",
        heading=f"Edit {issue.title}" if issue else "Add an issue",
        back=(LIST_URL, "Issues"),
        context={
            "issue": issue,
            "action": f"{LIST_URL}/{issue.slug}/edit" if issue else f"{LIST_URL}/new",
            "values": values,
        },
        errors=errors,
    )


def _deletion(issue: Issue) -> Deletion:
    return Deletion(
        what=f"the issue {issue.title} ({issue.slug})",
        action=f"{LIST_URL}/{issue.slug}/delete",
        back=LIST_URL,
    )


@router.get("/issues", response_class=HTMLResponse, summary="Issues")
def list_issues(request: Request, session: SessionDep, admin: AdminDep) -> HTMLResponse:
    """Every issue in matrix column order."""
    return render(request, "manage/issues.html", {"issues": catalog.list_issues(session)})


@router.get("/issues/new", response_class=HTMLResponse, summary="Add an issue")
def new_issue_form(request: Request, session: SessionDep, admin: AdminDep) -> HTMLResponse:
    """The empty add-issue form."""
    values = {"sort_order": str(catalog.next_sort_order(session, Issue))}
    return _form(request, issue=None, values=values)


@router.post("/issues/new", response_class=HTMLResponse, summary="Add an issue")
def add_issue(request: Request, session: SessionDep, admin: AdminDep, data: FormDep) -> Response:
    """Add an issue, or show the form again with what is wrong."""
    try:
        form = parse_or_refuse(NewIssueForm, data)
        catalog.add_issue(
            session,
            actor=admin,
            slug=form.slug,
            title=form.title,
            proposition=form.proposition,
            description=form.description,
            sort_order=form.sort_order,
        )
    except ValidationFailed as exc:
        return _form(request, issue=None, values=data, errors=exc.errors)
    return redirect_after_post(request, LIST_URL)


@router.get("/issues/{slug}/edit", response_class=HTMLResponse, summary="Edit an issue")
def edit_issue_form(
    request: Request, session: SessionDep, admin: AdminDep, slug: str
) -> HTMLResponse:
    """The edit form, filled with the stored issue."""
    issue = catalog.get_issue(session, slug=slug)
    return _form(request, issue=issue, values=_values(issue))


@router.post("/issues/{slug}/edit", response_class=HTMLResponse, summary="Edit an issue")
def update_issue(
    request: Request, session: SessionDep, admin: AdminDep, data: FormDep, slug: str
) -> Response:
    """Save an issue's title, proposition, description or order; refuse a stale version with 409."""
    issue = catalog.get_issue(session, slug=slug)
    try:
        catalog.check_version(issue, form_version(data))  # stale beats invalid
        form = parse_or_refuse(IssueForm, data)
        catalog.update_issue(
            session,
            actor=admin,
            issue=issue,
            expected_version=form_version(data),
            title=form.title,
            proposition=form.proposition,
            description=form.description,
            sort_order=form.sort_order,
        )
    except EditConflict as exc:
        stored = _values(catalog.get_issue(session, slug=slug))
        raise conflict(exc, title="issue", labels=FIELDS, current=stored, submitted=data, retry_url=f"{LIST_URL}/{slug}/edit") from None  # fmt: skip
    except ValidationFailed as exc:
        return _form(request, issue=issue, values=data, errors=exc.errors)
    return redirect_after_post(request, LIST_URL)


ORDER = Ordered("issue", "issues", catalog.get_issue, catalog.move_issue, catalog.delete_issue)
add_order_and_delete_routes(ORDER, deletion=_deletion, move_summary="Move an issue left or right")
