"""Rendering console pages: the Jinja2 environment (autoescape on everywhere) and the navigation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from sla_monitor.console.session import Session

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

#: The pages in the navigation: (key, label, path).
NAV = (
    ("board", "Board", "/ops/"),
    ("reps", "Reps", "/ops/reps"),
    ("routing", "Routing", "/ops/routing"),
    ("reports", "Reports", "/ops/reports"),
    ("plumbing", "Plumbing", "/ops/plumbing"),
)

# Every lead-supplied string lands in HTML: autoescape everything, whatever the template's file name.
templates = Jinja2Templates(env=jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True))


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, session: Session | None,
           active: str | None = None, status_code: int = 200) -> HTMLResponse:
    """Render ``name`` with the navigation, the CSRF token (for forms and htmx) and ``context``."""
    full = {"nav": NAV, "active": active, "session": session,
            "csrf_token": session.csrf_token if session is not None else "", **(context or {})}
    return templates.TemplateResponse(request, name, full, status_code=status_code)
