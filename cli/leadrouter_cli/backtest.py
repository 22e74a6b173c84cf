"""``leadrouter backtest DRAFT.yaml``: how a draft routing document would have spread the last N days' leads,
against what happened, with each rep's predicted % within SLA (router backtest + sla-monitor prediction)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from leadrouter_cli.api import Api, ApiError
from leadrouter_cli.console import err, fail, handles_api_errors, out, percent, print_json, text


def prediction_request(backtest: dict[str, Any], days: int) -> dict[str, Any]:
    """The sla-monitor's ``predict-sla`` body for a backtest answer: both scenarios' leads per rep and urgency."""
    by_rep = backtest.get("by_rep_urgency") or {}
    return {"days": days, "scenarios": {"draft": list(by_rep.get("draft", ())),
                                        "actual": list(by_rep.get("actual", ()))}}


def _change(actual: int, draft: int) -> str:
    delta = draft - actual
    if delta == 0:
        return "0"
    return f"[green]+{delta}[/]" if delta > 0 else f"[red]{delta}[/]"


def teams_table(backtest: dict[str, Any]) -> Table:
    table = Table(title="Leads per team: actual vs draft", title_justify="left")
    for column in ("Team", "Actual", "Draft", "Change"):
        table.add_column(column, justify="left" if column == "Team" else "right")
    for row in backtest.get("teams", ()):
        actual, draft = int(row.get("actual", 0)), int(row.get("draft", 0))
        table.add_row(text(row.get("team")), str(actual), str(draft), _change(actual, draft))
    return table


def _predicted(prediction: dict[str, Any] | None, scenario: str) -> dict[tuple[str, str | None], dict[str, Any]]:
    reps = ((prediction or {}).get("scenarios", {}).get(scenario) or {}).get("reps", ())
    return {(str(r.get("team")), r.get("rep_id")): r for r in reps}


def reps_table(backtest: dict[str, Any], prediction: dict[str, Any] | None) -> Table:
    """Per rep: leads actual vs draft and the predicted % within SLA of each (a rep of none: the team's queue)."""
    draft_pred, actual_pred = _predicted(prediction, "draft"), _predicted(prediction, "actual")
    table = Table(title="Leads per rep: actual vs draft, predicted % within SLA", title_justify="left")
    for column in ("Rep", "Team", "Actual", "Draft", "Change", "Within SLA (actual)", "Within SLA (draft)",
                   "Samples"):
        table.add_column(column, justify="left" if column in {"Rep", "Team"} else "right")
    for row in backtest.get("reps", ()):
        key = (str(row.get("team")), row.get("rep_id"))
        actual, draft = int(row.get("actual", 0)), int(row.get("draft", 0))
        drafted, happened = draft_pred.get(key, {}), actual_pred.get(key, {})
        samples = drafted.get("samples", happened.get("samples"))
        table.add_row(text(row.get("rep_id") or "(queued, no rep)"), text(row.get("team")), str(actual), str(draft),
                      _change(actual, draft), percent(happened.get("predicted_within_sla_pct")),
                      percent(drafted.get("predicted_within_sla_pct")), text(samples))
    return table


def summary_lines(backtest: dict[str, Any], prediction: dict[str, Any] | None, *,
                  prediction_ms: float | None) -> list[str]:
    leads, changed = int(backtest.get("leads", 0)), int(backtest.get("changed", 0))
    share = f" ({changed / leads * 100:.1f}%)" if leads else ""
    lines = [f"Backtest over {backtest.get('days')} days ({text(backtest.get('from'))} → {text(backtest.get('to'))}) "
             f"against routing document version {text(backtest.get('current_version'))}: {leads} leads, "
             f"[bold]{changed}[/] would go to another team or rep{share}."]
    if prediction is not None:
        scenarios = prediction.get("scenarios", {})
        draft = (scenarios.get("draft") or {}).get("predicted_within_sla_pct")
        actual = (scenarios.get("actual") or {}).get("predicted_within_sla_pct")
        lines.append(f"Predicted within SLA: draft [bold]{percent(draft)}[/] vs actual {percent(actual)} "
                     f"(observed: {percent(prediction.get('observed_within_sla_pct'))}).")
    timing = f"Run time: backtest {float(backtest.get('duration_ms', 0)):.0f} ms (router)"
    if prediction_ms is not None:
        timing += f", prediction {prediction_ms:.0f} ms (sla-monitor, round trip)"
    lines.append(timing + ".")
    return lines


@handles_api_errors
def backtest(
    ctx: typer.Context,
    draft: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                          help="The draft routing document (YAML or JSON).")],
    days: Annotated[int, typer.Option(min=1, max=90, help="How many days of real leads to replay.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print both answers as one JSON object.")] = False,
) -> None:
    """Replay the last N days of real leads through a draft routing document, with predicted SLA.

    Nothing is published: leads per team and rep versus what happened, how many change, and the predicted % within
    SLA of each (from each rep's observed first-response times).
    """
    try:
        document = draft.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"Cannot read {draft}: {exc}.")
    with Api(ctx.obj, timeout=300) as api:
        result = api.post("router", "/v1/routing/backtest", json={"document": document, "days": days})
        prediction: dict[str, Any] | None = None
        prediction_ms: float | None = None
        problem: ApiError | None = None
        started = time.perf_counter()
        try:
            prediction = api.post("sla-monitor", "/v1/reports/predict-sla", json=prediction_request(result, days))
            prediction_ms = (time.perf_counter() - started) * 1000
        except ApiError as exc:
            problem = exc
    if as_json:
        print_json({"backtest": result, "prediction": prediction})
    else:
        out.print(teams_table(result))
        out.print(reps_table(result, prediction))
        for line in summary_lines(result, prediction, prediction_ms=prediction_ms):
            out.print(line)
    if problem is not None:
        err.print("The backtest ran, but the SLA prediction is missing:")
        fail(str(problem))
