"""``tocsin alerts ...``: the alerts monitoring tools sent, and what became of them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.cli.common import JsonOpt, api
from tocsin.cli.output import emit_json, fields, table, when

app = typer.Typer(help="List and show alerts.", no_args_is_help=True)


@app.command("list")
def list_(
    status: Annotated[
        list[str] | None,
        typer.Option("--status", "-s", help="triggered, acknowledged or resolved (repeatable)."),
    ] = None,
    integration: Annotated[
        str | None, typer.Option("--integration", "-i", help="Only this integration's.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Alerts, newest first."""
    params: dict[str, Any] = {"limit": limit, "status": status or []}
    if integration:
        params["integration"] = integration
    out = api("GET", "/alerts", params=params)
    if as_json:
        emit_json(out)
        return
    if not out["alerts"]:
        typer.echo("No alerts.")
        return
    table(
        [
            (
                a["id"],
                a["status"],
                a["severity"],
                a["count"],
                a["integration"],
                a["incident"] or "-",
                when(a["last_seen_at"]),
                a["summary"][:60],
            )
            for a in out["alerts"]
        ],
        ["id", "status", "severity", "count", "integration", "incident", "last seen", "summary"],
    )
    if out["total"] > len(out["alerts"]):
        typer.echo(f"({len(out['alerts'])} of {out['total']}; --limit for more)")


@app.command("show")
def show(
    alert_id: Annotated[int, typer.Argument(help="The alert's number.", min=1)],
    as_json: JsonOpt = False,
) -> None:
    """One alert and every event that applied to it."""
    alert = api("GET", f"/alerts/{alert_id}")
    if as_json:
        emit_json(alert)
        return
    fields(
        [
            ("Alert", alert["id"]),
            ("Summary", alert["summary"]),
            ("Status", alert["status"]),
            ("Severity", alert["severity"]),
            ("Integration", alert["integration"]),
            ("Dedup key", alert["dedup_key"]),
            ("Source", alert["source"]),
            ("Component", alert["component"]),
            ("Group", alert["group"]),
            ("Class", alert["class"]),
            ("Count", alert["count"]),
            ("Detected", when(alert["detected_at"])),
            ("First seen", when(alert["created_at"])),
            ("Last seen", when(alert["last_seen_at"])),
            ("Acknowledged", when(alert["acknowledged_at"])),
            ("Resolved", when(alert["resolved_at"])),
            ("Incident", alert["incident"]),
            ("Route", f"{alert['route']} ({alert['routing']})" if alert.get("route") else None),
            ("Service", alert.get("service")),
            ("Team", alert.get("team")),
        ]
    )
    events = alert.get("events") or []
    if events:
        typer.echo("\nEvents")
        table(
            [
                (e["id"], when(e["received_at"]), e["action"], e["outcome"] or "waiting")
                for e in events
            ],
            ["event", "received", "action", "outcome"],
        )
