"""A small HTTP client for the three services' APIs: where they are, how to authenticate, readable errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

SERVICES = ("intake", "router", "sla-monitor")
DEFAULT_URLS = {"intake": "http://127.0.0.1:8000", "router": "http://127.0.0.1:8001",
                "sla-monitor": "http://127.0.0.1:8002"}
#: Which flag and variable set each service's address, for error messages that say how to fix it.
URL_SETTING = {"intake": "--intake-url / LEADROUTER_INTAKE_URL", "router": "--router-url / LEADROUTER_ROUTER_URL",
               "sla-monitor": "--sla-url / LEADROUTER_SLA_URL"}


class ApiError(Exception):
    """A request that did not succeed, with a message fit to show an operator (no traceback, no lead data)."""

    def __init__(self, message: str, *, status_code: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


@dataclass(frozen=True)
class Endpoints:
    """Where the services are and the credentials to use (from flags or the environment)."""

    urls: Mapping[str, str]
    token: str | None = None
    api_key: str | None = None

    def url(self, service: str) -> str:
        return self.urls[service].rstrip("/")


def describe_failure(service: str, method: str, path: str, status_code: int, body: Any) -> str:
    """One readable sentence (plus the problems by field) for a refused request."""
    what = f"{service} answered {status_code} to {method} {path}"
    if status_code == 401:
        credential = "the API key (--api-key / LEADROUTER_API_KEY)" if service == "intake" and path.startswith(
            "/v1/leads") else "the admin token (--token / LEADROUTER_ADMIN_TOKEN)"
        return f"{what}: it did not accept {credential}."
    detail = body.get("detail") if isinstance(body, dict) else None
    lines = [f"{what}: {detail}" if isinstance(detail, str) and detail else f"{what}."]
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(detail, list) and not errors:  # FastAPI's own validation shape
        errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                  for e in detail if isinstance(e, dict)]
    for error in errors or ():
        if isinstance(error, dict):
            field = error.get("field") or error.get("path") or "body"
            lines.append(f"  {field}: {error.get('message', 'is invalid')}")
    return "\n".join(lines)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class Api:
    """Synchronous calls to one deployment. ``transport`` lets tests route requests without sockets."""

    def __init__(self, endpoints: Endpoints, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.endpoints = endpoints
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()

    def headers(self, service: str, path: str) -> dict[str, str]:
        if service == "intake" and path.startswith("/v1/leads"):
            if not self.endpoints.api_key:
                raise ApiError("Intake needs an API key: pass --api-key or set LEADROUTER_API_KEY.")
            return {"X-API-Key": self.endpoints.api_key}
        if not self.endpoints.token:
            raise ApiError("The admin API needs the admin token: pass --token or set LEADROUTER_ADMIN_TOKEN "
                           "(or ADMIN_TOKEN).")
        return {"Authorization": f"Bearer {self.endpoints.token}"}

    def request(self, service: str, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 202),
                headers: Mapping[str, str] | None = None, timeout: float | None = None, **kwargs: Any) -> Any:
        """The JSON answer; anything but ``ok`` statuses, or no answer at all, raises ``ApiError``."""
        url = self.endpoints.url(service) + path
        sent = {**self.headers(service, path), **(headers or {})}
        try:
            response = self._client.request(method, url, headers=sent,
                                            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                                            **kwargs)
        except httpx.HTTPError as exc:
            raise unreachable(service, self.endpoints.url(service), exc) from None
        body = _json(response)
        if response.status_code not in ok:
            raise ApiError(describe_failure(service, method, path, response.status_code, body),
                           status_code=response.status_code, body=body)
        return body

    def get(self, service: str, path: str, **kwargs: Any) -> Any:
        return self.request(service, "GET", path, **kwargs)

    def post(self, service: str, path: str, **kwargs: Any) -> Any:
        return self.request(service, "POST", path, **kwargs)

    @property
    def client(self) -> httpx.Client:
        return self._client


def unreachable(service: str, url: str, exc: httpx.HTTPError) -> ApiError:
    """``ApiError`` for a service that gave no answer: refused, timed out, or the connection dropped."""
    if isinstance(exc, httpx.ConnectError):
        why = "the connection was refused or the host is unknown"
    elif isinstance(exc, httpx.TimeoutException):
        why = "it did not answer in time"
    else:
        why = f"the connection failed ({type(exc).__name__})"
    return ApiError(f"Cannot reach {service} at {url}: {why}. Is it running? Its address is set with "
                    f"{URL_SETTING.get(service, 'the URL flags')}.")
