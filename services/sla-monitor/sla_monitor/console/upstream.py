"""The router's and intake's admin APIs, as the console calls them (with the admin token).

A service that is down, or answers with an error, raises an exception whose message a page can show as it is
("The router is unreachable ..."): a page never turns an upstream failure into a 500."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
from fastapi import Depends, Request

Service = Literal["router", "intake"]
LABELS: dict[Service, str] = {"router": "router", "intake": "intake"}


class UpstreamFailed(Exception):
    """The service could not be reached, or answered with an error; ``str()`` says which, in a sentence."""

    def __init__(self, service: Service, message: str, *, status: int | None = None,
                 body: Any = None) -> None:
        super().__init__(message)
        self.service = service
        self.status = status
        self.body = body


class UpstreamUnavailable(UpstreamFailed):
    """No answer at all: refused, timed out, or not HTTP."""


class Upstream:
    """An ``httpx.AsyncClient`` for the router (``ROUTER_URL``) and intake (``INTAKE_URL``) with the admin token."""

    def __init__(self, *, router_url: str, intake_url: str, admin_token: str, timeout: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.urls: dict[Service, str] = {"router": router_url.rstrip("/"), "intake": intake_url.rstrip("/")}
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False, transport=transport,
                                       headers={"Authorization": f"Bearer {admin_token}"})

    async def request(self, service: Service, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The service's answer, whatever its status; :class:`UpstreamUnavailable` if there is none."""
        try:
            return await self._http.request(method, self.urls[service] + path, **kwargs)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(service, f"The {LABELS[service]} is unreachable at {self.urls[service]} "
                                               f"({type(exc).__name__}); try again when it is back.") from None

    async def json(self, service: Service, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a 2xx answer; :class:`UpstreamFailed` (with status and body) for any other."""
        response = await self.request(service, method, path, **kwargs)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if not response.is_success:
            detail = body.get("detail") if isinstance(body, dict) else None
            message = f"The {LABELS[service]} answered {response.status_code}"
            raise UpstreamFailed(service, f"{message}: {detail}" if isinstance(detail, str) else f"{message}.",
                                 status=response.status_code, body=body)
        return body

    async def get(self, service: Service, path: str, **kwargs: Any) -> Any:
        return await self.json(service, "GET", path, **kwargs)

    async def post(self, service: Service, path: str, **kwargs: Any) -> Any:
        return await self.json(service, "POST", path, **kwargs)

    async def aclose(self) -> None:
        await self._http.aclose()


async def get_upstream(request: Request) -> Upstream:
    upstream: Upstream = request.app.state.upstream
    return upstream


UpstreamDep = Annotated[Upstream, Depends(get_upstream)]
