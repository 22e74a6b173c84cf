"""The routing page: the current routing document in an editor checked as you type, publish, simulate a lead,
version history with a diff and one-click roll back, and a backtest of the draft over the last days' leads
with the predicted % within SLA (draft against what actually happened)."""

from __future__ import annotations

import difflib
import time
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.http import ClockDep, SessionDep
from shared.logging import get_logger
from sla_monitor.console.auth import CsrfDep
from sla_monitor.console.auth import SessionDep as ConsoleSession
from sla_monitor.console.pages import render, templates
from sla_monitor.console.upstream import Upstream, UpstreamDep, UpstreamFailed
from sla_monitor.domain.prediction import Demand
from sla_monitor.predictions import predict_sla

log = get_logger(__name__)
router = APIRouter(prefix="/routing")
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
DocumentField = Annotated[str, Form(max_length=1024 * 1024)]
YAML = {"Content-Type": "application/yaml"}
SIMULATED_FIELDS = ("country", "region", "postal_code", "industry", "employees", "source", "intent")


def as_yaml(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def _problems(exc: UpstreamFailed) -> list[dict[str, str]]:
    """The router's list of problems (``field``, ``message``) from a 422, else the failure as one problem."""
    if exc.status == 422 and isinstance(exc.body, dict) and isinstance(exc.body.get("errors"), list):
        return [{"field": str(e.get("field", "")), "message": str(e.get("message", ""))} for e in exc.body["errors"]
                if isinstance(e, dict)]
    return [{"field": "", "message": str(exc)}]


async def _page_context(upstream: Upstream) -> dict[str, Any]:
    current = await upstream.get("router", "/v1/routing/config")
    versions = (await upstream.get("router", "/v1/routing/config/versions"))["versions"]
    return {"version": current["version"], "draft": as_yaml(current["document"]), "versions": versions,
            "error": None, "problems": None}


@router.get("", include_in_schema=False)
async def routing_page(request: Request, console: ConsoleSession, upstream: UpstreamDep,
                       published: int | None = None, restored: int | None = None) -> HTMLResponse:
    try:
        context = await _page_context(upstream)
    except UpstreamFailed as exc:
        context = {"error": str(exc), "version": None, "draft": "", "versions": [], "problems": None}
    notice = None
    if published is not None:
        notice = f"Published: version {published} routes every lead from now on."
    elif restored is not None:
        notice = f"Rolled back: version {context['version']} is version {restored}'s document again."
    return render(request, "routing.html", {**context, "notice": notice}, session=console, active="routing")


@router.post("/validate", include_in_schema=False)
async def validate(request: Request, _console: CsrfDep, upstream: UpstreamDep,
                   document: DocumentField = "") -> HTMLResponse:
    """The draft's problems, each with its path, as the router's validation (PUT's) finds them."""
    problems: list[dict[str, str]] = []
    try:
        await upstream.post("router", "/v1/routing/validate", content=document.encode(), headers=YAML)
    except UpstreamFailed as exc:
        problems = _problems(exc)
    return templates.TemplateResponse(request, "_routing_validation.html", {"problems": problems})


@router.post("/publish", include_in_schema=False)
async def publish(request: Request, console: CsrfDep, upstream: UpstreamDep,
                  document: DocumentField = "") -> Response:
    """PUT the draft as the new routing document; the page again with the problems when it is refused."""
    try:
        answer = await upstream.json("router", "PUT", "/v1/routing/config", content=document.encode(), headers=YAML)
    except UpstreamFailed as exc:
        try:
            context = await _page_context(upstream)
        except UpstreamFailed as again:
            context = {"error": str(again), "version": None, "versions": []}
        context.update(draft=document, problems=_problems(exc), notice=None)
        return render(request, "routing.html", context, session=console, active="routing", status_code=422)
    log.info("console.routing_published", version=answer["version"])
    return RedirectResponse(f"/ops/routing?published={int(answer['version'])}", status_code=303)


@router.post("/versions/{version}/restore", include_in_schema=False)
async def restore(version: VersionPath, request: Request, console: CsrfDep, upstream: UpstreamDep) -> Response:
    """Roll back: the router stores version ``version``'s document again as the newest version."""
    try:
        await upstream.post("router", f"/v1/routing/config/versions/{version}/restore")
    except UpstreamFailed as exc:
        try:
            context = await _page_context(upstream)
        except UpstreamFailed:
            context = {"version": None, "draft": "", "versions": [], "problems": None}
        context.update(error=str(exc), notice=None)
        return render(request, "routing.html", context, session=console, active="routing", status_code=502)
    log.info("console.routing_restored", version=version)
    return RedirectResponse(f"/ops/routing?restored={version}", status_code=303)


@router.get("/versions/{version}/diff", include_in_schema=False)
async def diff(version: VersionPath, request: Request, _console: ConsoleSession,
               upstream: UpstreamDep) -> HTMLResponse:
    """Version ``version`` against the current one, line by line (server-rendered, escaped)."""
    try:
        old = await upstream.get("router", f"/v1/routing/config/versions/{version}")
        current = await upstream.get("router", "/v1/routing/config")
    except UpstreamFailed as exc:
        return templates.TemplateResponse(request, "_routing_diff.html", {"error": str(exc), "lines": []})
    lines = list(difflib.unified_diff(as_yaml(old["document"]).splitlines(), as_yaml(current["document"]).splitlines(),
                                      fromfile=f"version {version}", tofile=f"version {current['version']} (current)",
                                      lineterm=""))
    return templates.TemplateResponse(request, "_routing_diff.html", {
        "error": None, "version": version, "current": current["version"],
        "lines": [(_line_kind(line), line) for line in lines]})


def _line_kind(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "added", "-": "removed"}.get(line[:1], "same")


@router.post("/simulate", include_in_schema=False)
async def simulate(request: Request, _console: CsrfDep, upstream: UpstreamDep) -> HTMLResponse:
    """The decision the current document makes for a lead given by a few fields, with its explanation."""
    form = await request.form()
    lead: dict[str, Any] = {}
    for name in SIMULATED_FIELDS:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            lead[name] = value.strip()
    context: dict[str, Any] = {"decision": None, "problems": None}
    try:
        context["decision"] = await upstream.post("router", "/v1/routing/simulate", json=lead)
    except UpstreamFailed as exc:
        context["problems"] = _problems(exc)
    return templates.TemplateResponse(request, "_routing_simulation.html", context)


@router.post("/backtest", include_in_schema=False)
async def backtest(request: Request, _console: CsrfDep, upstream: UpstreamDep, session: SessionDep,
                   clock: ClockDep, document: DocumentField = "", days: Annotated[int, Form(ge=1, le=90)] = 30,
                   ) -> HTMLResponse:
    """Replay the last ``days`` days' leads through the draft (router), then predict % within SLA for the draft's
    spread and the actual one from each rep's observed responses (here, in-process)."""
    started = time.perf_counter()
    try:
        result = await upstream.post("router", "/v1/routing/backtest", json={"document": document, "days": days})
    except UpstreamFailed as exc:
        return templates.TemplateResponse(request, "_routing_backtest.html", {"result": None,
                                                                             "problems": _problems(exc)})
    scenarios = {name: [Demand(r["rep_id"], r["team"], r["urgency"], r["count"]) for r in rows]
                 for name, rows in result["by_rep_urgency"].items()}
    prediction = await predict_sla(session, policies=request.app.state.policies, scenarios=scenarios, days=days,
                                   now=clock.now())
    await session.rollback()
    predicted = {(r["team"], r["rep_id"]): r["predicted_within_sla_pct"]
                 for r in prediction["scenarios"]["draft"]["reps"]}
    predicted_actual = {(r["team"], r["rep_id"]): r["predicted_within_sla_pct"]
                        for r in prediction["scenarios"]["actual"]["reps"]}
    reps = [{**r, "predicted_draft": predicted.get((r["team"], r["rep_id"])),
             "predicted_actual": predicted_actual.get((r["team"], r["rep_id"]))} for r in result["reps"]]
    biggest = max([1, *(max(t["actual"], t["draft"]) for t in result["teams"])])
    log.info("console.backtest_run", days=days, leads=result["leads"], changed=result["changed"])
    return templates.TemplateResponse(request, "_routing_backtest.html", {
        "result": result, "reps": reps, "biggest": biggest, "prediction": prediction, "problems": None,
        "total_ms": round((time.perf_counter() - started) * 1000)})
