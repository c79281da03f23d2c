"""The admin pages under /manage: one module per list, one router for them all.

Speakers and sources are managed by editors; parties, issues, themes and users by admins. What the
pages share (the form page, the conflict, the delete confirmation) is in `shared`.
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import HTMLResponse

from app.models import Role
from app.routes.manage import issues, parties, sources, speakers, themes, users
from app.routes.manage.shared import router
from app.security import EditorDep
from app.templating import render

__all__ = ["issues", "parties", "router", "sources", "speakers", "themes", "users"]


@router.get("", response_class=HTMLResponse, summary="Manage the lists")
def manage_index(request: Request, editor: EditorDep) -> HTMLResponse:
    """Links to the lists this user may manage."""
    return render(request, "manage/index.html", {"is_admin": editor.role == Role.ADMIN})
