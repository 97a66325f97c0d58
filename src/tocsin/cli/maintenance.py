"""``tocsin maintenance ...``: services in maintenance, whose alerts open no incident."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.cli.common import JsonOpt, api
from tocsin.cli.output import emit_json, table, when

app = typer.Typer(
    help="Maintenance windows: a service's alerts are kept but open no incident (nobody is paged).",
    no_args_is_help=True,
)


def describe(window: dict[str, Any]) -> str:
    """One line for a window: the service, until when, why."""
    state = "until" if window["active"] else f"from {when(window['starts_at'])} to"
    reason = f": {window['reason']}" if window["reason"] else ""
    ends = when(window["ends_at"])
    return f"{window['service']} in maintenance {state} {ends}{reason} [{window['id']}]"


@app.command("add")
def add(
    service: Annotated[
        str, typer.Argument(help="The service (as integrations and routes name it).")
    ],
    duration: Annotated[
        str | None, typer.Option("--for", help="How long, e.g. 2h or 1h30m.")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="Start, e.g. '2026-02-01 22:00' (policy time zone) or ISO 8601; default now."
        ),
    ] = None,
    end: Annotated[str | None, typer.Option(help="End, same format (or --for).")] = None,
    reason: Annotated[str, typer.Option(help="Why, for the people who see it.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Put a service in maintenance."""
    body = {
        "service": service,
        "starts_at": start,
        "ends_at": end,
        "duration": duration,
        "reason": reason,
    }
    window = api("POST", "/maintenance-windows", json=body)
    if as_json:
        emit_json(window)
    else:
        typer.echo(f"Added maintenance window {window['id']}: {describe(window)}")


@app.command("list")
def list_(
    past: Annotated[bool, typer.Option("--all", help="Also windows that have ended.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Maintenance windows that have not ended (the policy's too), soonest first."""
    rows = api("GET", "/maintenance-windows", params={"all": "true"} if past else None)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("No maintenance windows.")
        return
    table(
        [
            (
                w["id"],
                w["service"],
                when(w["starts_at"]),
                when(w["ends_at"]),
                "active" if w["active"] else "",
                w["created_by"] or w["origin"],
                w["reason"],
            )
            for w in rows
        ],
        ["id", "service", "starts", "ends", "now", "by", "reason"],
    )


@app.command("end")
def end(
    window: Annotated[str, typer.Argument(help="The window's id (see `tocsin maintenance list`).")],
    as_json: JsonOpt = False,
) -> None:
    """End a window now (one that has not started is cancelled)."""
    ended = api("POST", f"/maintenance-windows/{window}/end")
    if as_json:
        emit_json(ended)
    else:
        typer.echo(f"Ended maintenance window {ended['id']} ({ended['service']}).")
