"""``tocsin integration ...``: where alerts come from, and their keys."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.cli.common import JsonOpt, api
from tocsin.cli.output import emit_json, table, when
from tocsin.policy.schema_alerts import INTEGRATION_TYPES

app = typer.Typer(
    help="Add and list alert integrations (monitoring tools that send alerts) and rotate their keys.",
    no_args_is_help=True,
)

Ident = Annotated[str, typer.Argument(help="The integration's id (its key in the policy).")]


def _made(integration: dict[str, Any], verb: str, as_json: bool) -> None:
    """An integration with its new key: shown once."""
    if as_json:
        emit_json(integration)
        return
    typer.echo(f"{verb} integration {integration['id']} ({integration['type']}).")
    typer.echo("Its key, shown this once (store it now):")
    typer.echo(f"  key:  {integration['key']}")
    if integration["url"]:
        typer.echo(f"  url:  {integration['url']}")
        typer.echo(_HINTS.get(integration["type"], ""))
    else:
        typer.echo(f"  (no {integration['type']} endpoint in this version yet)")


#: What to do with the key and URL in each tool (``docs/alerts.md`` has the details).
_HINTS = {
    "pagerduty": "Give the source this key as its PagerDuty integration (routing) key, and "
    "this URL in place of https://events.pagerduty.com/v2/enqueue.",
    "alertmanager": "Give Alertmanager this URL in a webhook_configs receiver (or the URL "
    "without the key, with the key in http_config.authorization.credentials).",
    "grafana": "Give a Grafana webhook contact point this URL (or the URL without the key, "
    "with the key as its Authorization header credentials).",
    "sentry": "Give a Sentry internal integration this webhook URL; declare the integration "
    "in the policy with signing_secret_env to check Sentry's signatures.",
    "generic": "POST JSON to this URL; the policy's mapping turns it into alerts (docs/alerts.md).",
}


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A name, e.g. 'Datadog production'.")],
    type_: Annotated[
        str, typer.Option("--type", "-t", help=f"One of: {', '.join(INTEGRATION_TYPES)}.")
    ],
    ident: Annotated[
        str | None, typer.Option("--id", help="Its id (default: made from the name).")
    ] = None,
    service: Annotated[str | None, typer.Option(help="The service its alerts are about.")] = None,
    team: Annotated[str | None, typer.Option(help="The team that owns it (a policy team).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an integration; prints its key (once) and the URL to give the source."""
    body = {"name": name, "type": type_, "id": ident, "service": service, "team": team}
    _made(api("POST", "/integrations", json=body), "Added", as_json)


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Every integration: those of the policy and those added here."""
    rows = api("GET", "/integrations")
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo(
            "No integrations yet: add one with `tocsin integration add NAME --type pagerduty`."
        )
        return
    table(
        [
            (
                i["id"],
                i["name"],
                i["type"],
                i["team"] or i["service"],
                i["origin"],
                f"${i['key_env']}"
                if i["key_env"]
                else (f"{i['key_prefix']}…" if i["has_key"] else "none yet"),
                when(i["rotated_at"] or i["created_at"]),
            )
            for i in rows
        ],
        ["id", "name", "type", "team/service", "from", "key", "key made"],
    )


@app.command("rotate-key")
def rotate_key(ident: Ident, as_json: JsonOpt = False) -> None:
    """A new key (the first, for one declared in the policy); the old key stops working."""
    _made(api("POST", f"/integrations/{ident}/rotate-key"), "New key for", as_json)
