"""FastAPI dependencies of intake: settings and the caller's credentials (sessions and the clock come from
``shared.http``)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from intake.settings import IntakeSettings


def get_settings(request: Request) -> IntakeSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[IntakeSettings, Depends(get_settings)]


def _client_for_key(settings: IntakeSettings, given: str) -> str | None:
    """The client name of ``given``; every configured key is compared, in constant time."""
    match = None
    for key, name in settings.api_keys.items():
        if hmac.compare_digest(key.encode(), given.encode()):
            match = name
    return match


def require_api_key(settings: SettingsDep,
                    x_api_key: Annotated[str | None, Header(description="An intake API key.")] = None) -> str:
    client = _client_for_key(settings, x_api_key or "")
    if client is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="A valid X-API-Key header is required.")
    return client


def require_reader(settings: SettingsDep, request: Request,
                   x_api_key: Annotated[str | None, Header()] = None) -> str:
    """Reading a lead needs an intake API key or the admin bearer token."""
    if x_api_key and _client_for_key(settings, x_api_key) is not None:
        return "api-key"
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    given, matched = token.strip().encode(), False
    for admin in settings.admin_tokens:  # ADMIN_TOKEN and, while rotating, ADMIN_TOKEN_PREVIOUS; each compared
        matched |= hmac.compare_digest(given, admin)
    if scheme.lower() == "bearer" and given and matched:
        return "admin"
    raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                        detail="Reading leads needs an X-API-Key header or 'Authorization: Bearer <ADMIN_TOKEN>'.")


ApiClient = Annotated[str, Depends(require_api_key)]
Reader = Annotated[str, Depends(require_reader)]
