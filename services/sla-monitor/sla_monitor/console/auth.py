"""Signing in to the ops console with the admin token, signing out, and the dependencies every page uses:
``require_session`` (a signed-in operator) and ``require_csrf`` (that, plus the CSRF token, on every non-GET)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from shared.auth_throttle import FailedAttempts, too_many_failures
from shared.http import ClockDep, client_address, token_matches
from shared.logging import get_logger
from sla_monitor.console import session as sessions
from sla_monitor.console.pages import render
from sla_monitor.console.session import COOKIE_NAME, Session

log = get_logger(__name__)
router = APIRouter()
LOGIN_PATH = "/ops/login"
HOME_PATH = "/ops/"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def _keys(request: Request) -> tuple[bytes, ...]:
    return sessions.signing_keys(request.app.state.settings.admin_tokens)


async def current_session(request: Request, clock: ClockDep) -> Session | None:
    return sessions.verify(request.cookies.get(COOKIE_NAME), _keys(request), now=clock.now())


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def require_session(request: Request, session: Annotated[Session | None, Depends(current_session)]) -> Session:
    """The signed-in operator. A page (GET) without one is sent to the sign-in page, and comes back after it;
    an htmx request or a form post answers 401 (htmx follows ``HX-Redirect`` to the sign-in page)."""
    if session is not None:
        return session
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = f"{LOGIN_PATH}?next={quote(target, safe='')}"
    if request.method == "GET" and not _is_htmx(request):
        raise HTTPException(303, detail="Sign in first.", headers={"Location": login})
    raise HTTPException(401, detail="Your console session has ended; sign in again.", headers={"HX-Redirect": login})


SessionDep = Annotated[Session, Depends(require_session)]


async def require_csrf(request: Request, session: SessionDep) -> Session:
    """The signed-in operator, if the request carries the session's CSRF token (header ``X-CSRF-Token``, which
    htmx sends on every request, or the form field ``csrf_token``); 403 otherwise."""
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not sessions.csrf_matches(session, given):
        raise HTTPException(403, detail="The form's CSRF token is missing or stale; reload the page and try again.")
    return session


CsrfDep = Annotated[Session, Depends(require_csrf)]


def safe_next(target: str | None) -> str:
    """``target`` if it is a console path on this site (no open redirect), else the board."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return HOME_PATH
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not (parts.path == "/ops" or parts.path.startswith("/ops/")):
        return HOME_PATH
    return target


def _same_origin(request: Request) -> bool:
    """A browser's post from another site names that site in ``Origin``; one without it (curl) is let through."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


@router.get("/login", include_in_schema=False)
async def login_page(request: Request, session: Annotated[Session | None, Depends(current_session)],
                     next: str | None = None) -> Response:
    if session is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None}, session=None)


@router.post("/login", include_in_schema=False)
async def login(request: Request, clock: ClockDep, token: Annotated[str, Form(max_length=1024)] = "",
                next: Annotated[str, Form(max_length=2048)] = HOME_PATH) -> Response:
    """Sign in with the admin token: a session cookie (``HttpOnly``, ``SameSite=Strict``, ``Path=/ops``,
    ``Secure`` over https) valid for ``CONSOLE_SESSION_HOURS``. Refused tokens count against the client's address
    with the API's (``AUTH_FAILURE_LIMIT``): past the limit, 429 until the window has passed."""
    if not _same_origin(request):
        raise HTTPException(403, detail="Sign-in is only accepted from the console's own page.")
    settings = request.app.state.settings
    throttle: FailedAttempts = request.app.state.failed_attempts
    client, now = client_address(request.scope), time.monotonic()
    wait = throttle.retry_after(client, now)
    if wait is not None:  # not even a right token is checked while blocked: guessing gains nothing
        log.info("console.sign_in_throttled", retry_after=wait)
        refused = render(request, "login.html", {"next": safe_next(next), "error": too_many_failures(wait)},
                         session=None, status_code=429)
        refused.headers["Retry-After"] = str(wait)
        return refused
    if not token_matches(token, settings.admin_tokens):
        throttle.failed(client, now)
        log.info("console.sign_in_refused")
        return render(request, "login.html", {"next": safe_next(next),
                                              "error": "That is not the admin token. Try again."},
                      session=None, status_code=401)
    lifetime = timedelta(hours=settings.console_session_hours)
    value, _ = sessions.issue(_keys(request), now=clock.now(), lifetime=lifetime)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE_NAME, value, max_age=int(lifetime.total_seconds()), path="/ops", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    log.info("console.signed_in")
    return response


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, _session: CsrfDep) -> Response:
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/ops", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response
