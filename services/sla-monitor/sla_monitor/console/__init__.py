"""The ops console, served under ``/ops/``: server-rendered pages (Jinja2, htmx, Server-Sent Events) with a
session of their own (signed in with the admin token), not behind the API's bearer gate.

A page is one module with an ``APIRouter`` included below. Its GET routes take ``auth.SessionDep`` (a signed-in
operator, else a redirect to sign-in), its other routes ``auth.CsrfDep`` (that, plus the CSRF token that
``base.html`` makes htmx send and every form carries as ``csrf_token``); it renders with
``pages.render(request, "its.html", context, session=..., active="its-nav-key")`` (a partial for htmx with
``pages.templates.TemplateResponse``), and calls the router or intake through ``upstream.UpstreamDep``, showing
an ``UpstreamFailed``'s message instead of failing. No inline script or style: the CSP forbids them."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from sla_monitor.console import auth, board, plumbing, reports, reps, routing
from sla_monitor.console.headers import ConsoleHeaders
from sla_monitor.console.pages import STATIC
from sla_monitor.settings import SlaMonitorSettings


def console_router(settings: SlaMonitorSettings) -> APIRouter:
    """Every console page under ``/ops`` (each page module adds one ``include_router`` line here)."""
    router = APIRouter(prefix="/ops", include_in_schema=False)
    router.include_router(auth.router)
    router.include_router(board.router)
    router.include_router(plumbing.router)
    router.include_router(reps.router)
    router.include_router(reports.router)
    router.include_router(routing.router)
    return router


def install_console(app: FastAPI, settings: SlaMonitorSettings) -> None:
    """Serve the console on ``app``: its pages, its static files under ``/ops/static`` (mounted on the app:
    FastAPI does not carry a mount through ``include_router``), and its security headers (CSP etc.) on every
    ``/ops`` response."""
    app.include_router(console_router(settings))
    app.mount("/ops/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_middleware(ConsoleHeaders)  # type: ignore[arg-type]
