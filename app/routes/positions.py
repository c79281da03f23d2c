"""Editor pages: record a change of a party's position on an issue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from app.db import SessionDep
from app.forms import (
    MAX_EVIDENCE,
    POSITION_FIELD_LABELS,
    FormDep,
    parse_position_form,
    whole_number,
)
from app.models import Issue, Party, Stance
from app.security import EditorDep, Flash
from app.services import catalog, positions, rounds
from app.services.errors import ValidationFailed
from app.templating import redirect_after_post, render, stance_label

router = APIRouter(tags=["editor"])

Slug = Annotated[str | None, Query(max_length=60)]


def _selected(values: Sequence[str]) -> list[int]:
    ids = [whole_number(v, digits=11) for v in values]
    return [i for i in ids if i is not None][:MAX_EVIDENCE]


def _form_context(
    session: Session,
    *,
    values: Mapping[str, str],
    evidence: Sequence[str],
    errors: Mapping[str, str],
) -> dict[str, Any]:
    selected = _selected(evidence)
    return {
        "values": values,
        "errors": errors,
        "field_labels": POSITION_FIELD_LABELS,
        "selected": selected,
        "party_options": [(p.slug, p.name) for p in catalog.list_parties(session)],
        "issue_options": [(i.slug, i.title) for i in catalog.list_issues(session)],
        "stance_options": [(s.value, stance_label(s)) for s in Stance],
        "round_options": rounds.round_choices(session),
        "choices": positions.evidence_choices(
            session, party_slug=values.get("party"), q=values.get("q", ""), selected=selected
        ),
        "current": positions.current_stance(
            session,
            party_slug=values.get("party"),
            issue_slug=values.get("issue"),
            today=date.today(),
        ),
    }


@router.get("/positions/new", response_class=HTMLResponse, summary="Record position change form")
def new_position(
    request: Request,
    session: SessionDep,
    editor: EditorDep,
    party: Slug = None,
    issue: Slug = None,
) -> HTMLResponse:
    """The empty form; party and issue come prefilled from a cell's link."""
    values = {"party": party or "", "issue": issue or ""}
    context = _form_context(session, values=values, evidence=[], errors={})
    return render(request, "positions/form.html", context, fragment="positions/_form.html")


@router.post("/positions/new", response_class=HTMLResponse, summary="Record a position change")
def record_position(
    request: Request, session: SessionDep, editor: EditorDep, form: FormDep
) -> Response:
    """Record the position and go to its cell; 422 with each error beside its field otherwise."""
    values = {k: v for k, v in form.items() if k != "evidence"}
    evidence = form.every("evidence")
    try:
        data = parse_position_form({**values, "evidence": evidence})
        position = positions.record_position_from_input(session, actor=editor, data=data)
    except ValidationFailed as exc:
        context = _form_context(session, values=values, evidence=evidence, errors=exc.errors)
        return render(
            request,
            "positions/form.html",
            context,
            fragment="positions/_form.html",
            status_code=422,
        )
    url = f"/cells/{data.party}/{data.issue}"
    party, issue = session.get(Party, position.party_id), session.get(Issue, position.issue_id)
    text = f"Position recorded: {party.name if party else data.party} × "
    text += issue.title if issue else data.issue
    return redirect_after_post(request, url, flash=Flash(text=text, href=url, link="view it"))


@router.get(
    "/positions/evidence-options",
    response_class=HTMLResponse,
    summary="Quotes a position can cite, filtered",
)
def evidence_options(
    request: Request,
    session: SessionDep,
    editor: EditorDep,
    party: Slug = None,
    q: Annotated[str, Query(max_length=200)] = "",
    evidence: Annotated[list[str] | None, Query()] = None,
) -> HTMLResponse:
    """The evidence checkboxes for a party and filter text, keeping the ones already ticked."""
    selected = _selected(evidence or [])
    context = {
        "selected": selected,
        "values": {"party": party or "", "q": q},
        "choices": positions.evidence_choices(session, party_slug=party, q=q, selected=selected),
    }
    return render(request, "positions/_evidence_options.html", context)


@router.get(
    "/positions/current",
    response_class=HTMLResponse,
    summary="The stance in force for a party and issue",
)
def current_stance(
    request: Request, session: SessionDep, editor: EditorDep, party: Slug = None, issue: Slug = None
) -> HTMLResponse:
    """The party's position in force on the issue, with its evidence (the form's fragment)."""
    current = positions.current_stance(
        session, party_slug=party, issue_slug=issue, today=date.today()
    )
    return render(request, "positions/_current.html", {"current": current})
