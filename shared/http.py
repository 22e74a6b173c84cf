"""HTTP pieces every service uses: ops endpoints, admin auth, body size limit, readable 422s."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.clock import Clock, SystemClock

ReadinessCheck = Callable[[], Awaitable[dict[str, str]]]
LivenessCheck = Callable[[], dict[str, str]]


def ops_router(readiness: ReadinessCheck, liveness: LivenessCheck | None = None) -> APIRouter:
    """``/healthz`` (the process answers and none of its loops died), ``/readyz`` (DB and broker
    reachable, consumers not held by a failure), ``/metrics``."""
    router = APIRouter(tags=["ops"])

    @router.get("/healthz", responses={503: {"description": "A consumer or worker loop died."}})
    async def healthz() -> JSONResponse:
        dead = liveness() if liveness is not None else {}
        if dead:
            return JSONResponse({"status": "dead", "dead": dead,
                                 "detail": f"Loop(s) {', '.join(sorted(dead))} died and are not restarting."},
                                status_code=503)
        return JSONResponse({"status": "ok"})

    @router.get("/readyz", responses={503: {"description": "The database or the broker is unreachable."}})
    async def readyz() -> JSONResponse:
        checks = await readiness()
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                            status_code=200 if ready else 503)

    @router.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def check(name: str, probe: Callable[[], Awaitable[Any]], results: dict[str, str]) -> None:
    """Run one readiness probe and record ``ok`` or the error's class name."""
    try:
        await probe()
        results[name] = "ok"
    except Exception as exc:
        results[name] = f"unavailable ({type(exc).__name__})"


def bearer_token_dependency(token: SecretStr) -> Callable[[Request], None]:
    """A dependency that requires ``Authorization: Bearer <token>``, compared in constant time."""
    expected = token.get_secret_value().encode()

    def require_admin(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                                detail="This endpoint needs 'Authorization: Bearer <ADMIN_TOKEN>'.",
                                headers={"WWW-Authenticate": "Bearer"})

    return require_admin


def field_errors(exc: ValidationError | RequestValidationError, *,
                 drop_prefix: tuple[str, ...] = ("body",)) -> list[dict[str, str]]:
    """Turn pydantic errors into ``[{"field": "email", "message": "..."}]``."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if str(p) not in drop_prefix]
        msg = str(err.get("msg", "is invalid"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        out.append({"field": ".".join(loc) or "body", "message": msg})
    return out


def unprocessable(errors: list[dict[str, str]]) -> JSONResponse:
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return JSONResponse(status_code=422, content={
        "detail": f"The request has {len(errors)} problem(s) in: {fields}.", "errors": errors})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _on_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return unprocessable(field_errors(exc))


class BodySizeLimit:
    """Answer 413 as soon as a request body grows past the limit for its path (declared or streamed)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(send, limit)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._too_large(send, limit)

    @staticmethod
    async def _too_large(send: Send, limit: int) -> None:
        response = JSONResponse(status_code=413, content={
            "detail": f"The request body is larger than the limit of {limit} bytes."})
        await response({"type": "http"}, _empty_receive, send)


class _BodyTooLarge(Exception):
    pass


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


def publish_schemas(app: FastAPI, *models: type[Any]) -> None:
    """Add models that routes parse by hand (several content types) to the OpenAPI components."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(model_schema.pop("$defs", {}))
                components[model.__name__] = model_schema
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def service_app(*, title: str, description: str, lifespan: Any, engine: Any, publisher: Any,
                supervisor: Any = None, **state: Any) -> FastAPI:
    """A service's FastAPI app: readable 422s, the ops endpoints (readiness = database and broker, and the
    supervised loops' states; liveness = no loop dead) and ``state`` on ``app.state``."""
    from shared.db import ping

    async def readiness() -> dict[str, str]:
        results: dict[str, str] = {}
        await check("database", lambda: ping(engine), results)
        await check("broker", publisher.ping, results)
        if supervisor is not None:
            results.update(supervisor.readiness())
        return results

    app = FastAPI(title=title, version="1.0.0", description=description, lifespan=lifespan)
    for name, value in state.items():
        setattr(app.state, name, value)
    install_error_handlers(app)
    app.include_router(ops_router(readiness, supervisor.dead if supervisor is not None else None))
    app.state.supervisor = supervisor
    return app


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A database session from the app's session factory, closed after the request."""
    async with request.app.state.session_factory() as session:
        yield session


def get_clock(request: Request) -> Clock:
    return getattr(request.app.state, "clock", None) or SystemClock()


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
