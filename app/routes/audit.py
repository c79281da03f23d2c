"""The audit log for editors: who changed what, when, newest first; read-only."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from app.db import SessionDep
from app.security import EditorDep
from app.services import audit, users
from app.templating import render

router = APIRouter(tags=["audit"])


@router.get("/audit", response_class=HTMLResponse, summary="The audit log")
def audit_page(
    request: Request,
    db: SessionDep,
    user: EditorDep,
    entity: Annotated[str, Query(max_length=40, description="Only this entity type.")] = "",
    actor: Annotated[
        str, Query(max_length=20, description='Only this user\'s id, or "system".')
    ] = "",
    page: Annotated[int, Query(ge=1, le=100_000, description="Page number, from 1.")] = 1,
) -> HTMLResponse:
    """Audit entries newest first, filterable by entity type and by user, 50 a page."""
    result = audit.list_entries(db, entity_type=entity or None, actor=actor or None, page=page)
    filters = {k: v for k, v in {"entity": entity, "actor": actor}.items() if v}

    def page_url(number: int) -> str:
        return "/audit?" + urlencode({**filters, "page": number})

    return render(
        request,
        "audit/page.html",
        {
            "result": result,
            "entity": entity,
            "actor": actor,
            "entity_types": audit.entity_types(db),
            "users": users.list_users(db),
            "system_actor": audit.SYSTEM_ACTOR,
            "changes": audit.changes,
            "prev_url": page_url(page - 1) if page > 1 else None,
            "next_url": page_url(page + 1) if page < result.pages else None,
        },
        fragment="audit/_log.html",
    )
