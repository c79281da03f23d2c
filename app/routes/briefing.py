"""The briefing: an HTML preview and a PDF for a decision maker (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
