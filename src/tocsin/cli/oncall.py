"""``tocsin oncall ...``: who is on call, shifts, overrides and calendar feeds.

Times on the command line are ISO 8601 (``2026-03-29T09:00``, ``2026-03-29``); without an
offset they are wall-clock times in the schedule's zone. Tables show times in that zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from tocsin.cli.common import TARGET, JsonOpt, api
from tocsin.cli.output import emit_json, table
from tocsin.policy.spans import format_timedelta

app = typer.Typer(
    help="Who is on call: now, at a time, shifts of a schedule or person, overrides, calendar feeds.",
    no_args_is_help=True,
)
override = typer.Typer(help="Add, list and cancel on-call overrides.", no_args_is_help=True)
app.add_typer(override, name="override")

TIME_HELP = "ISO 8601, e.g. 2026-03-29T09:00 or 2026-03-29; without an offset: the schedule's zone"


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def local(value: str | None, zone: str) -> str:
    """An API time shown in ``zone``: ``Mon 2026-03-30 09:00 CEST``."""
    if not value:
        return "-"
    return _moment(value).astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M %Z")


def who(person: dict[str, Any] | None) -> str:
    if not person:
        return "-"
    if person["name"] == person["handle"]:
        return str(person["handle"])
    return f"{person['name']} ({person['handle']})"


def _on_call_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        typer.echo("The policy has no schedules (add a `schedules:` section).")
        return
    table(
        [
            (
                r["schedule"],
                ", ".join(who(p) for p in r["people"]) or "nobody",
                local(r["until"], r["timezone"]),
                r["timezone"],
            )
            for r in rows
        ],
        ["schedule", "on call", "until", "zone"],
    )


@app.command("now")
def now(
    schedule: Annotated[
        str | None, typer.Argument(help="A schedule key (default: every schedule).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Who is on call now, and until when."""
    rows = api("GET", "/oncall", params={"schedule": schedule} if schedule else None)
    if as_json:
        emit_json(rows)
    else:
        _on_call_table(rows)


@app.command("at")
def at(
    time: Annotated[str, typer.Argument(help=f"The moment: {TIME_HELP}.")],
    schedule: Annotated[
        str | None, typer.Argument(help="A schedule key (default: every schedule).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Who is on call at TIME (without an offset: in the schedule's zone, or the policy's)."""
    params = {"at": time, **({"schedule": schedule} if schedule else {})}
    rows = api("GET", "/oncall", params=params)
    if as_json:
        emit_json(rows)
        return
    if rows:
        typer.echo(f"At {local(rows[0]['at'], rows[0]['timezone'])}:")
    _on_call_table(rows)


@app.command("list")
def list_schedules(as_json: JsonOpt = False) -> None:
    """The policy's schedules: layers, rotations and who is on call now."""
    rows = api("GET", "/schedules")
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("The policy has no schedules (add a `schedules:` section).")
    for n, s in enumerate(rows):
        typer.echo(("\n" if n else "") + f"{s['key']}: {s['name']}  ({s['timezone']})")
        typer.echo(f"  on call now: {', '.join(who(p) for p in s['on_call']) or 'nobody'}")
        for layer in s["layers"]:
            people = ", ".join(p["handle"] for p in layer["participants"])
            typer.echo(
                f"  layer {layer['name']}: {people}; {layer['shift']}, handoff "
                f"{layer['handoff']} from {layer['start']}; on call {layer['when']}"
            )


def _range(start: str | None, end: str | None) -> dict[str, str]:
    return {k: v for k, v in (("from", start), ("to", end)) if v is not None}


@app.command("show")
def show(
    schedule: Annotated[
        str | None, typer.Argument(help="A schedule key (or give --person).")
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(
            "--person", "-p", help="A person's handle or e-mail: their shifts on every schedule."
        ),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help=f"Start (default now): {TIME_HELP}.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End (default a week after the start).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A table of shifts: who is on call when, in the schedule's zone."""
    if (schedule is None) == (person is None):
        typer.echo("error: give a SCHEDULE or --person, not both", err=True)
        raise typer.Exit(2)
    path = f"/schedules/{schedule}/shifts" if schedule else f"/people/{person}/shifts"
    found = api("GET", path, params=_range(start, end))
    if as_json:
        emit_json(found)
        return
    zone = found["timezone"]
    subject = f"{found['schedule_name']} ({schedule})" if schedule else who(found["person"])
    typer.echo(f"Shifts of {subject}, times in {zone}")
    typer.echo(f"{local(found['start'], zone)} -> {local(found['end'], zone)}\n")
    rows = []
    for s in found["shifts"]:
        length = format_timedelta(_moment(s["end"]) - _moment(s["start"]))
        row = [local(s["start"], zone), local(s["end"], zone), length]
        rows.append([*row, s["schedule"] if person else who(s["person"])])
    table(rows, ["start", "end", "length", "schedule" if person else "on call"])
    if not rows:
        typer.echo("(nobody on call in this range)")


@override.command("add")
def add_override(
    schedule: Annotated[str, typer.Argument(help="The schedule key.")],
    person: Annotated[
        str, typer.Option("--person", "-p", help="Who goes on call (or off, with --action remove).")
    ],
    start: Annotated[str, typer.Option("--from", help=f"Start: {TIME_HELP}.")],
    end: Annotated[str, typer.Option("--to", help="End (exclusive), same format.")],
    action: Annotated[
        str,
        typer.Option(
            help="replace: instead of whoever is on call (or --replaces); add: as well; remove: off call."
        ),
    ] = "replace",
    replaces: Annotated[
        str | None, typer.Option(help="With replace: only instead of this person.")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why (shown in the list and the audit log).")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Put someone on call instead of, besides, or no longer, for a while.

    Needs the manage-schedules permission, except to put yourself on call.
    """
    body = {
        "person": person,
        "start": start,
        "end": end,
        "action": action,
        "replaces": replaces,
        "reason": reason,
    }
    made = api("POST", f"/schedules/{schedule}/overrides", json=body)
    if as_json:
        emit_json(made)
        return
    typer.echo(f"Override {made['id']} on {made['schedule']}: {_describe(made)}")


def _describe(o: dict[str, Any]) -> str:
    if o["action"] == "add":
        what = f"{who(o['person'])} on call as well"
    elif o["action"] == "remove":
        what = f"{who(o['person'])} off call"
    elif o["replaces"]:
        what = f"{who(o['person'])} instead of {who(o['replaces'])}"
    else:
        what = f"{who(o['person'])} instead of whoever is on call"
    return f"{what}, {local(o['start'], o['timezone'])} -> {local(o['end'], o['timezone'])}"


@override.command("list")
def list_overrides(
    schedule: Annotated[
        str | None, typer.Argument(help="A schedule key (default: every schedule).")
    ] = None,
    past: Annotated[bool, typer.Option("--past", help="Also overrides that have ended.")] = False,
    cancelled: Annotated[
        bool, typer.Option("--cancelled", help="Also cancelled overrides.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Current and coming overrides (times in the schedule's zone)."""
    params = {"past": str(past).lower(), "cancelled": str(cancelled).lower()}
    path = f"/schedules/{schedule}/overrides" if schedule else "/oncall/overrides"
    rows = api("GET", path, params=params)
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (
                o["id"],
                o["schedule"],
                o["action"],
                who(o["person"]),
                who(o["replaces"]) if o["replaces"] else "",
                local(o["start"], o["timezone"]),
                local(o["end"], o["timezone"]),
                "cancelled" if o["cancelled_at"] else "",
                o["reason"],
            )
            for o in rows
        ],
        ["id", "schedule", "action", "person", "replaces", "from", "to", "state", "reason"],
    )


@override.command("cancel")
def cancel_override(
    override_id: Annotated[int, typer.Argument(help="The override's id (see `override list`).")],
    as_json: JsonOpt = False,
) -> None:
    """Cancel an override that has not ended yet."""
    done = api("DELETE", f"/oncall/overrides/{override_id}")
    if as_json:
        emit_json(done)
    else:
        typer.echo(f"Override {done['id']} on {done['schedule']} cancelled")


@app.command("feed")
def feed(
    schedule: Annotated[
        str | None, typer.Argument(help="A schedule key (or give --person).")
    ] = None,
    person: Annotated[
        str | None, typer.Option("--person", "-p", help="A person's handle or e-mail.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a secret calendar (iCal) URL for a schedule or a person; shown once."""
    if (schedule is None) == (person is None):
        typer.echo("error: give a SCHEDULE or --person, not both", err=True)
        raise typer.Exit(2)
    made = api("POST", "/oncall/feeds", json={"schedule": schedule, "person": person})
    if as_json:
        emit_json(made)
        return
    subject = f"{made['kind']} {made['subject']}"
    typer.echo(f"Calendar feed {made['id']} for {subject}. Shown once; anyone with it can read it:")
    if TARGET.server:
        typer.echo(TARGET.server.rstrip("/") + made["path"])
    else:
        typer.echo(made["path"])
        typer.echo("(put your Tocsin server's address in front of this path)")


@app.command("feeds")
def feeds(as_json: JsonOpt = False) -> None:
    """Your calendar feeds (an admin sees everyone's); never their secrets."""
    rows = api("GET", "/oncall/feeds")
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (
                f["id"],
                f["kind"],
                f["subject"],
                f["created_by"],
                f["created_at"][:16].replace("T", " "),
                "revoked" if f["revoked_at"] else "active",
            )
            for f in rows
        ],
        ["id", "kind", "subject", "created by", "created (UTC)", "state"],
    )


@app.command("revoke-feed")
def revoke_feed(
    feed_id: Annotated[int, typer.Argument(help="The feed's id (see `oncall feeds`).")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a calendar feed: its URL stops working."""
    done = api("DELETE", f"/oncall/feeds/{feed_id}")
    if as_json:
        emit_json(done)
    else:
        typer.echo(f"Calendar feed {done['id']} ({done['kind']} {done['subject']}) revoked")
