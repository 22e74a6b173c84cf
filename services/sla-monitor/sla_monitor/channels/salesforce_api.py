"""Salesforce's REST API as the write-back uses it: a client-credentials token, cached and renewed once on a
``401``, and every answer other than a ``2xx`` turned into the outcome it means (``ApiFailure``).

- ``5xx``, no answer, the token endpoint refusing, a ``401`` even with a fresh token, an org-level refusal an admin
  fixes (API disabled): retried with backoff;
- ``429`` and ``403 REQUEST_LIMIT_EXCEEDED``: throttled for ``Retry-After`` (Salesforce rarely sends it: a minute);
- another ``4xx``: that record is refused for good, with Salesforce's ``errorCode`` only — never its message,
  which can quote the lead's data.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx

from sla_monitor.channels.base import Outcome

#: When a rate limit answer carries no Retry-After.
DEFAULT_RETRY_AFTER = 60.0
#: How long a refused token request is not repeated (each write-back waiting on it fails with its reason).
TOKEN_RETRY_SECONDS = 5.0
#: Org-level refusals an admin fixes: retried, unlike a refusal of one record.
ORG_ERRORS = frozenset({"API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED"})
_ERROR_CODE = re.compile(r"^[A-Z0-9_]{1,64}$")


class ApiFailure(Exception):
    """A request that did not succeed, and the write-back's outcome because of it."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "ERROR"
    first = body[0] if isinstance(body, list) and body else body
    code = first.get("errorCode") if isinstance(first, dict) else None
    return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else "ERROR"


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("retry-after", "")), 1.0), 3600.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER


class SalesforceApi:
    """Requests to one org's REST API (``/services/data/{version}``) as the app's run-as user."""

    def __init__(self, *, http: httpx.AsyncClient, instance_url: str, client_id: str, client_secret: str,
                 api_version: str, timeout: float) -> None:
        self._http = http
        self._instance = instance_url.rstrip("/")
        self._base = f"{self._instance}/services/data/{api_version}"
        self._credentials = {"grant_type": "client_credentials", "client_id": client_id,
                             "client_secret": client_secret}
        self._timeout = timeout
        self._token_lock = asyncio.Lock()
        self._token: str | None = None
        self._token_refused: tuple[float, Outcome] | None = None

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to ``path`` under ``/services/data/{version}`` with the cached token (a fresh one after a
        401); anything but a 2xx raises ``ApiFailure``."""
        url = self._base + path
        token = await self._access_token(stale=None)
        response = await self._request(method, url, token, **kwargs)
        if response.status_code == 401:
            response = await self._request(method, url, await self._access_token(stale=token), **kwargs)
            if response.status_code == 401:
                raise ApiFailure(Outcome(False, 401, f"Salesforce refused a fresh access token (401 "
                                                f"{_error_code(response)}); check the app's run-as user"))
        status = response.status_code
        if status < 300:
            return response
        code = _error_code(response)
        if status == 429 or code == "REQUEST_LIMIT_EXCEEDED":
            wait = _retry_after(response)
            raise ApiFailure(Outcome(False, status, f"Salesforce API limit ({status} {code}); retrying after {wait:g}s",
                                retry_after=wait, throttled=True))
        if status >= 500 or code in ORG_ERRORS:
            raise ApiFailure(Outcome(False, status, f"Salesforce answered {status} {code}"))
        raise ApiFailure(Outcome(False, status, f"Salesforce refused the Lead ({status} {code})", permanent=True))

    async def _request(self, method: str, url: str, token: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}", "accept": "application/json", "sforce-auto-assign": "FALSE"}
        try:
            async with asyncio.timeout(self._timeout):
                return await self._http.request(method, url, headers=headers, timeout=self._timeout, **kwargs)
        except TimeoutError:
            raise ApiFailure(Outcome(False, None, f"Salesforce gave no answer within {self._timeout:g}s")) from None
        except httpx.HTTPError as exc:
            raise ApiFailure(Outcome(False, None, f"Salesforce unreachable ({type(exc).__name__})")) from None

    async def _access_token(self, *, stale: str | None) -> str:
        """The cached token, or a new one when there is none or ``stale`` (refused with a 401) is still cached."""
        async with self._token_lock:
            if self._token is not None and self._token != stale:
                return self._token
            if self._token_refused is not None and time.monotonic() < self._token_refused[0]:
                raise ApiFailure(self._token_refused[1])
            try:
                self._token = await self._new_token()
            except ApiFailure as stop:
                self._token, self._token_refused = None, (time.monotonic() + TOKEN_RETRY_SECONDS, stop.outcome)
                raise
            return self._token

    async def _new_token(self) -> str:
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._http.post(f"{self._instance}/services/oauth2/token", data=self._credentials,
                                                 headers={"accept": "application/json"}, timeout=self._timeout)
        except TimeoutError:
            raise ApiFailure(Outcome(False, None, "Salesforce's token endpoint gave no answer within "
                                             f"{self._timeout:g}s")) from None
        except httpx.HTTPError as exc:
            raise ApiFailure(Outcome(False, None, f"Salesforce's token endpoint unreachable ({type(exc).__name__})")
                        ) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code == 200 and isinstance(token, str) and token:
            return token
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, str) and re.fullmatch(r"[a-z_]{1,64}", error) else "no token"
        raise ApiFailure(Outcome(False, response.status_code, f"Salesforce refused the client credentials "
                                                         f"({response.status_code} {error}); check "
                                                         "SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET and the "
                                                         "app's client credentials flow"))
