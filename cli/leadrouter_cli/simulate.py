"""``leadrouter simulate``: what the router would decide for a lead now, and why (nothing is stored)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from leadrouter_cli.api import Api
from leadrouter_cli.console import fail, handles_api_errors, out, print_json, text


def lead_from(fields: dict[str, Any], json_text: str | None) -> dict[str, Any]:
    """The lead to simulate: the JSON object (if any), with the flags given on top of it."""
    lead: dict[str, Any] = {}
    if json_text is not None:
        try:
            parsed = json.loads(json_text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"The --json lead is not valid JSON ({exc.msg} at line {exc.lineno}).") from None
        if not isinstance(parsed, dict):
            raise ValueError("The --json lead must be a JSON object of lead fields.")
        lead.update(parsed)
    lead.update({name: value for name, value in fields.items() if value is not None})
    return lead


def render_decision(decision: dict[str, Any]) -> list[str]:
    """Rich-markup lines: the outcome, the rule and version, then the explanation in words."""
    rep = decision.get("rep_id")
    who = f"rep [bold]{text(rep)}[/]" if rep else "no rep yet"
    state = decision.get("state", "assigned")
    lines = [f"Team [bold]{text(decision.get('team'))}[/], {who} ({text(state)}), urgency "
             f"[bold]{text(decision.get('urgency'))}[/]",
             f"Rule {text(decision.get('rule_id') or 'fallback')}, routing document version "
             f"{text(decision.get('config_version'))}"]
    explanation = decision.get("explanation") or []
    if explanation:
        lines.append("Why:")
        lines.extend(f"  • {text(line)}" for line in explanation)
    return lines


@handles_api_errors
def simulate(
    ctx: typer.Context,
    country: Annotated[str | None, typer.Option(help="ISO code or English name.")] = None,
    region: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option()] = None,
    industry: Annotated[str | None, typer.Option()] = None,
    employees: Annotated[int | None, typer.Option(min=0)] = None,
    source: Annotated[str | None, typer.Option(help="web_form (default), badge_scan, webinar, …")] = None,
    intent: Annotated[str | None, typer.Option(help="demo_request, pricing, contact_us, …")] = None,
    campaign: Annotated[str | None, typer.Option()] = None,
    company: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option(help="Lets ownership (an existing owner) be simulated.")] = None,
    lead_id: Annotated[str | None, typer.Option()] = None,
    json_file: Annotated[str | None, typer.Option(
        "--json", help="A JSON object of lead fields, from a file or '-' for stdin; flags override it.")] = None,
    as_json: Annotated[bool, typer.Option("--output-json", help="Print the router's answer as JSON.")] = False,
) -> None:
    """Route a lead on paper: the team, rep and urgency the router would pick now, and the checks behind it."""
    json_text = None
    if json_file is not None:
        try:
            json_text = sys.stdin.read() if json_file == "-" else open(json_file, encoding="utf-8").read()
        except OSError as exc:
            fail(f"Cannot read {json_file}: {exc.strerror}.")
    flags = {"country": country, "region": region, "postal_code": postal_code, "industry": industry,
             "employees": employees, "source": source, "intent": intent, "campaign": campaign,
             "company": company, "email": email, "lead_id": lead_id}
    try:
        lead = lead_from(flags, json_text)
    except ValueError as exc:
        fail(str(exc))
    with Api(ctx.obj) as api:
        decision = api.post("router", "/v1/routing/simulate", json=lead)
    if as_json:
        print_json(decision)
        return
    for line in render_decision(decision):
        out.print(line)
