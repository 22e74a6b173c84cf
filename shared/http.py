"""HTTP pieces every service uses: ops endpoints, admin auth, body size limit, readable 422s."""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth_throttle import FailedAttempts, too_many_failures
from shared.clock import Clock, SystemClock

ReadinessCheck = Callable[[], Awaitable[dict[str, str]]]
LivenessCheck = Callable[[], dict[str, str]]


def ops_router(readiness: ReadinessCheck, liveness: LivenessCheck | None = None) -> APIRouter:
    """``/healthz`` (the process answers and none of its loops died), ``/readyz`` (every required check is
    ``ok``: DB and, where needed, broker reachable, consumers not held by a failure; a check reported as
    ``degraded: ...`` is information only), ``/metrics``."""
    router = APIRouter(tags=["ops"])

    @router.get("/healthz", responses={503: {"description": "A consumer or worker loop died."}})
    async def healthz() -> JSONResponse:
        dead = liveness() if liveness is not None else {}
        if dead:
            return JSONResponse({"status": "dead", "dead": dead,
                                 "detail": f"Loop(s) {', '.join(sorted(dead))} died and are not restarting."},
                                status_code=503)
        return JSONResponse({"status": "ok"})

    @router.get("/readyz", responses={503: {
        "description": "The database (or, where the service needs it, the broker) is unreachable."}})
    async def readyz() -> JSONResponse:
        checks = await readiness()
        ready = all(v == "ok" or v.startswith("degraded") for v in checks.values())
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


def token_matches(given: str, tokens: tuple[bytes, ...]) -> bool:
    """Whether ``given`` is one of ``tokens``; every token is compared, each in constant time."""
    encoded = given.strip().encode()
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(encoded, token)
    return matched and bool(encoded)


def bearer_token(headers: Any) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, given = (headers.get("authorization") or "").partition(" ")
    return given if scheme.lower() == "bearer" else None


ADMIN_TOKEN_NEEDED = "This endpoint needs 'Authorization: Bearer <ADMIN_TOKEN>'."


def bearer_token_dependency(tokens: tuple[bytes, ...] | SecretStr) -> Callable[[Request], Awaitable[None]]:
    """A dependency that requires ``Authorization: Bearer <token>`` with one of ``tokens`` (pass
    ``settings.admin_tokens``: the admin token and, while it is rotated, the previous one), compared in constant
    time. A single ``SecretStr`` is accepted as the only token."""
    accepted = (tokens.get_secret_value().encode(),) if isinstance(tokens, SecretStr) else tokens

    async def require_admin(request: Request) -> None:
        given = bearer_token(request.headers)
        if given is None or not token_matches(given, accepted):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=ADMIN_TOKEN_NEEDED,
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

    @app.exception_handler(StarletteHTTPException)
    async def _on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return await http_exception_handler(request, _named_body_problem(exc))


def _named_body_problem(exc: StarletteHTTPException) -> StarletteHTTPException:
    """FastAPI answers every unreadable JSON body with "There was an error parsing the body"; say which problem
    it was when it is one of Python's own limits (nesting, integer length)."""
    cause = exc.__cause__
    if exc.status_code != 400 or cause is None:
        return exc
    if isinstance(cause, RecursionError):
        return HTTPException(400, detail="The JSON body is nested too deeply.")
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return HTTPException(400, detail="The JSON body has an integer with more than 4300 digits.")
    return exc


class BodySizeLimit:
    """Answer 413 as soon as a request body grows past the limit for its path: a declared ``Content-Length``
    is refused before anything is read, a chunked body once the bytes received so far pass the limit."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and not declared.strip().isdigit():
            await _refuse(send, 400, "The Content-Length header is not a number of bytes.")
            return
        if declared is not None and int(declared) > limit:
            await _refuse(send, 413, _too_large(limit))
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await _refuse(send, 413, _too_large(limit))


def _too_large(limit: int) -> str:
    return f"The request body is larger than the limit of {limit} bytes."


class BodyTooLarge(HTTPException):
    """Raised from inside ``receive``: an HTTPException, so that FastAPI's body parsing passes it on as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=_too_large(limit), headers={"Connection": "close"})


Refusal = Callable[[Scope], str | None]


class AuthGate:
    """Refuse a request (401) from its headers alone, before the application reads a byte of its body.

    ``refuse(scope)`` returns the reason to refuse, or None to let the request through. FastAPI reads and
    parses a body before it runs dependencies, so a dependency alone checks the token too late. Each refusal is
    counted against the client's address in ``throttle``; a blocked address gets 429 on every path that needs
    credentials (one ``refuse`` would turn down without any), whatever it sends (see ``shared.auth_throttle``).
    """

    def __init__(self, app: ASGIApp, refuse: Refusal, throttle: FailedAttempts) -> None:
        self.app = app
        self.refuse = refuse
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = client_address(scope)
            now = time.monotonic()
            wait = self.throttle.retry_after(client, now)
            if wait is not None and self.refuse({**scope, "headers": []}) is not None:
                await _refuse(send, 429, too_many_failures(wait), {"Retry-After": str(wait)})
                return
            reason = self.refuse(scope)
            if reason is not None:
                self.throttle.failed(client, now)
                await _refuse(send, 401, reason, {"WWW-Authenticate": "Bearer"})
                return
        await self.app(scope, receive, send)


def client_address(scope: Scope) -> str:
    """The client's address as uvicorn reports it (a proxy's own, unless ``FORWARDED_ALLOW_IPS`` names the proxy,
    when uvicorn takes the client's from ``X-Forwarded-For``)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def admin_gate(tokens: tuple[bytes, ...], *, prefix: str = "/v1/") -> Refusal:
    """Every path under ``prefix`` needs the admin bearer token."""

    def refuse(scope: Scope) -> str | None:
        if not scope["path"].startswith(prefix) or scope.get("method") == "OPTIONS":
            return None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = bearer_token(headers)
        return None if given is not None and token_matches(given, tokens) else ADMIN_TOKEN_NEEDED

    return refuse


def guard(app: FastAPI, *, limit_for: Callable[[str], int], refuse: Refusal, throttle: FailedAttempts) -> None:
    """Check credentials first (401, or 429 for an address refused too often), then the body size (413), both
    before the body is read or parsed. ``throttle`` is kept as ``app.state.failed_attempts`` for routes that check
    credentials of their own (the console's sign-in)."""
    app.state.failed_attempts = throttle
    app.add_middleware(BodySizeLimit, limit_for=limit_for)  # type: ignore[arg-type]
    app.add_middleware(AuthGate, refuse=refuse, throttle=throttle)  # type: ignore[arg-type]
    _document_the_gate(app, refuse)


CREDENTIALS_REFUSED = {"description": "The credentials are missing or wrong."}
TOO_MANY_REFUSALS = {
    "description": "This address had too many credentials refused lately (AUTH_FAILURE_LIMIT); nothing was read.",
    "headers": {"Retry-After": {"description": "Seconds until the address may try again.",
                                "schema": {"type": "integer"}}}}


def _document_the_gate(app: FastAPI, refuse: Refusal) -> None:
    """Add the gate's answers (401, 429) to the OpenAPI document of every operation it guards: those it would
    refuse without credentials."""
    build = app.openapi
    documented = False

    def openapi() -> dict[str, Any]:
        nonlocal documented
        schema = build()
        if not documented:
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    if refuse({"type": "http", "path": path, "method": method.upper(), "headers": []}) is None:
                        continue
                    responses = operation.setdefault("responses", {})
                    responses.setdefault("401", CREDENTIALS_REFUSED)
                    responses.setdefault("429", TOO_MANY_REFUSALS)
            documented = True
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


async def _refuse(send: Send, status_code: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """Answer without reading the body, and close the connection so the unread body is never read."""
    response = JSONResponse(status_code=status_code, content={"detail": detail},
                            headers={"Connection": "close", **(headers or {})})
    await response({"type": "http"}, _empty_receive, send)


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
                broker_required: bool = True, supervisor: Any = None, **state: Any) -> FastAPI:
    """A service's FastAPI app: readable 422s, the ops endpoints and ``state`` on ``app.state``.

    Readiness is the database, the supervised loops' states, and the broker when ``broker_required``;
    otherwise (a service that stores first and publishes through its outbox) an unreachable broker is
    reported as ``degraded`` and the service stays ready, because it can still accept and store. Liveness
    is no loop dead."""
    from shared.db import ping

    async def readiness() -> dict[str, str]:
        results: dict[str, str] = {}
        await check("database", lambda: ping(engine), results)
        await check("broker", publisher.ping, results)
        if not broker_required and results["broker"] != "ok":
            results["broker"] = f"degraded: {results['broker']}; events wait in the outbox"
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


async def get_clock(request: Request) -> Clock:
    return getattr(request.app.state, "clock", None) or SystemClock()


SessionDep = Annotated[AsyncSession, Depends(get_session)]
#: An id in a path (lead, rep, subscription): printable text of bounded length. PostgreSQL refuses NUL bytes in
#: text with an error, so they are a 422 here instead of a 500 there.
IdPath = Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")]
ClockDep = Annotated[Clock, Depends(get_clock)]
