"""``tocsin report``: incident figures of a period, or of one incident."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from tocsin.cli.common import api
from tocsin.cli.output import emit_json, fields, when


def report(
    period: Annotated[
        str | None,
        typer.Option(help="A month (2026-01), an ISO week (2026-W03) or a quarter (2026-Q1)."),
    ] = None,
    first: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First day of a custom range."),
    ] = None,
    last: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last day of a custom range (inclusive)."),
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Break down by severity, type, team or service.")
    ] = None,
    format_: Annotated[
        str, typer.Option("--format", help="table, json, csv or md (Markdown).")
    ] = "table",
    incident: Annotated[
        str | None, typer.Option(help="The figures of one incident instead (its reference).")
    ] = None,
) -> None:
    """Incident figures: counts, time to detect/acknowledge/mitigate/resolve (mean, median,
    p90), SLA compliance, downtime, user impact, root causes, postmortem and action-item
    completion, and the change against the previous period. Days are the policy's."""
    if incident is not None:
        _incident(incident, as_json=format_ == "json")
        return
    params: dict[str, Any] = {"format": format_}
    if period is not None:
        params["period"] = period
    if first is not None:
        params["from"] = first.date().isoformat()
    if last is not None:
        params["to"] = last.date().isoformat()
    if by is not None:
        params["by"] = by
    if format_ == "json":
        emit_json(api("GET", "/reports/period", params=params))
    else:
        typer.echo(api("GET", "/reports/period", params=params, text=True), nl=False)


def _incident(ref: str, *, as_json: bool) -> None:
    data = api("GET", f"/reports/incidents/{ref}")
    if as_json:
        emit_json(data)
        return

    def seconds(key: str) -> str | None:
        value = data[key]
        return None if value is None else f"{value:g} s ({value / 60:g} min)"

    fields(
        [
            ("incident", f"{data['id']} ({data['severity']}, {data['status']})"),
            ("team / service", f"{data['team'] or '-'} / {data['service'] or '-'}"),
            ("impact started", when(data["started_at"])),
            ("detected", when(data["detected_at"])),
            ("time to detect", seconds("ttd_seconds")),
            ("time to acknowledge", seconds("tta_seconds")),
            ("time to mitigate", seconds("ttm_seconds")),
            ("time to resolve", seconds("ttr_seconds")),
            ("duration", seconds("duration_seconds")),
            *((f"SLA {s['target']}", s["text"]) for s in data["sla"]),
            ("SLA met", {True: "yes", False: "no", None: "pending"}[data["sla_met"]]),
            ("users affected", data["users_affected"]),
            ("user impact (user-hours)", data["user_impact_hours"]),
            ("root cause", data["root_cause"]),
            ("excluded from metrics", "yes" if data["excluded_from_metrics"] else None),
        ]
    )
