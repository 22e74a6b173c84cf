"""The ``leadrouter`` command: global options (where the services are, credentials) and the command groups."""

from __future__ import annotations

from typing import Annotated

import typer

from leadrouter_cli import backtest, deliveries, dlq, importing, simulate, tail
from leadrouter_cli.api import DEFAULT_URLS, Endpoints

app = typer.Typer(
    name="leadrouter", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Operate a leadrouter deployment over its HTTP APIs: import leads, simulate and backtest routing, "
         "dead-letter queues, deliveries, live events. Works against a remote deployment too: set the URLs and "
         "credentials by flag or environment.")


@app.callback()
def configure(
    ctx: typer.Context,
    intake_url: Annotated[str, typer.Option(envvar="LEADROUTER_INTAKE_URL", help="Intake's base URL.")]
    = DEFAULT_URLS["intake"],
    router_url: Annotated[str, typer.Option(envvar="LEADROUTER_ROUTER_URL", help="The router's base URL.")]
    = DEFAULT_URLS["router"],
    sla_url: Annotated[str, typer.Option(envvar="LEADROUTER_SLA_URL", help="The sla-monitor's base URL.")]
    = DEFAULT_URLS["sla-monitor"],
    token: Annotated[str | None, typer.Option(envvar=["LEADROUTER_ADMIN_TOKEN", "ADMIN_TOKEN"], show_envvar=True,
                                              help="Admin token (bearer) for the admin APIs.")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="LEADROUTER_API_KEY", show_envvar=True,
                                                help="Intake API key, for import.")] = None,
) -> None:
    ctx.obj = Endpoints(urls={"intake": intake_url, "router": router_url, "sla-monitor": sla_url}, token=token,
                        api_key=api_key)


app.command("import")(importing.import_leads)
app.command("simulate")(simulate.simulate)
app.command("backtest")(backtest.backtest)
app.command("tail")(tail.tail)
app.add_typer(dlq.app, name="dlq")
app.add_typer(deliveries.app, name="deliveries")


def run() -> None:
    app()
