"""FastAPI dependencies of intake: settings and the caller's credentials (sessions and the clock come from
``shared.http``)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request, status
from pydantic import SecretStr

from intake.settings import IntakeSettings
from shared.http import Refusal, bearer_token, token_matches


# Dependencies are ``async def`` although none awaits: FastAPI runs a plain ``def`` dependency in a thread pool,
# and three thread hand-offs per request were a quarter of intake's CPU under load.
async def get_settings(request: Request) -> IntakeSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[IntakeSettings, Depends(get_settings)]


def _client_for_key(settings: IntakeSettings, given: str) -> str | None:
    """The client name of ``given``; every configured key is compared, in constant time."""
    match = None
    for key, name in settings.api_keys.items():
        if hmac.compare_digest(key.encode(), given.encode()):
            match = name
    return match


async def require_api_key(settings: SettingsDep,
                    x_api_key: Annotated[str | None, Header(description="An intake API key.")] = None) -> str:
    client = _client_for_key(settings, x_api_key or "")
    if client is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=API_KEY_NEEDED)
    return client


async def require_reader(settings: SettingsDep, request: Request,
                   x_api_key: Annotated[str | None, Header()] = None) -> str:
    """Reading a lead needs an intake API key or the admin bearer token."""
    if x_api_key and _client_for_key(settings, x_api_key) is not None:
        return "api-key"
    if _is_admin(settings, request.headers):
        return "admin"
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=READER_NEEDED)


async def require_admin(settings: SettingsDep, request: Request) -> None:
    if not _is_admin(settings, request.headers):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=ADMIN_NEEDED)


READER_NEEDED = "Reading leads needs an X-API-Key header or 'Authorization: Bearer <ADMIN_TOKEN>'."
ADMIN_NEEDED = "This endpoint needs 'Authorization: Bearer <ADMIN_TOKEN>'."
API_KEY_NEEDED = "A valid X-API-Key header is required."
SIGNATURE_NEEDED = "A CRM webhook needs the X-Webhook-Timestamp and X-Webhook-Signature headers."
HUBSPOT_SIGNATURE_NEEDED = "A HubSpot webhook needs the X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp headers."


def _is_set(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value())


def _is_admin(settings: IntakeSettings, headers: Any) -> bool:
    given = bearer_token(headers)
    return given is not None and token_matches(given, settings.admin_tokens)


def refuse_before_body(settings: IntakeSettings) -> Refusal:
    """The credentials check that runs on the headers alone, before any body is read (see ``AuthGate``):
    posting leads needs an API key, reading one a key or the admin token, a CRM webhook its signature
    headers (the signature itself covers the body, so the route checks it once the body, size-limited, is in).
    """

    def refuse(scope: Any) -> str | None:
        path, method = scope["path"], scope.get("method")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if path.startswith("/v1/leads") and method == "POST":
            return None if _client_for_key(settings, headers.get("x-api-key", "")) else API_KEY_NEEDED
        if path.startswith("/v1/leads/") and method == "GET":
            key_ok = _client_for_key(settings, headers.get("x-api-key", "")) is not None
            return None if key_ok or _is_admin(settings, headers) else READER_NEEDED
        if path.startswith("/v1/activities") and method == "POST":
            signed = headers.get("x-webhook-signature") and headers.get("x-webhook-timestamp")
            return None if signed else SIGNATURE_NEEDED
        if path == "/v1/integrations/hubspot" and method == "POST" and _is_set(settings.hubspot_client_secret):
            # (Unset, the route answers 404 naming HUBSPOT_CLIENT_SECRET.)
            signed = headers.get("x-hubspot-signature-v3") and headers.get("x-hubspot-request-timestamp")
            return None if signed else HUBSPOT_SIGNATURE_NEEDED
        if path == "/v1/integrations/unmatched" or path.startswith("/v1/admin/"):
            return None if _is_admin(settings, headers) else ADMIN_NEEDED
        return None

    return refuse


ApiClient = Annotated[str, Depends(require_api_key)]
Reader = Annotated[str, Depends(require_reader)]


def configured(secret: SecretStr | str | None, variable: str) -> str:
    """The value of an integration's secret, or 404 naming the variable to set (the integration is off)."""
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not value:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"This integration is not configured: set {variable} to enable it.")
    return value
