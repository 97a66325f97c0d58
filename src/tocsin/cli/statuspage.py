"""``tocsin statuspage ...``: the public status page."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from tocsin.cli.common import TARGET, JsonOpt, api
from tocsin.cli.output import emit_json, fields, table, when
from tocsin.clock import SystemClock
from tocsin.db import Database
from tocsin.settings import Settings
from tocsin.statuspage import export as exporting

app = typer.Typer(
    help="The public status page: components, public incidents, maintenance, export.",
    no_args_is_help=True,
)


# --- components, public incidents, maintenance, subscribers (through the API) ------------

Json = JsonOpt
component_app = typer.Typer(help="Components and groups on the page, and their status.")
incident_app = typer.Typer(help="Public incidents: publish, update, draft from an incident.")
maintenance_app = typer.Typer(help="Scheduled maintenance, moving on by itself at its times.")
subscriber_app = typer.Typer(help="People and webhooks that subscribed to the page.")
app.add_typer(component_app, name="component", no_args_is_help=True)
app.add_typer(incident_app, name="incident", no_args_is_help=True)
app.add_typer(maintenance_app, name="maintenance", no_args_is_help=True)
app.add_typer(subscriber_app, name="subscriber", no_args_is_help=True)

ComponentOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--component",
        "-c",
        metavar="KEY=STATUS",
        help="An affected component and its new status (repeatable): operational, "
        "degraded_performance, partial_outage, major_outage, under_maintenance.",
    ),
]
PublicIdArg = Annotated[str, typer.Argument(help="The public id (12 characters).")]
NotifyOpt = Annotated[
    bool | None,
    typer.Option(
        "--notify/--no-notify",
        help="Tell subscribers (default: when you may: permission send-subscriber-email).",
    ),
]


def _pairs(pairs: list[str] | None, option: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs or []:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise typer.BadParameter(f"{pair!r}: write KEY=VALUE", param_hint=option)
        values[name.strip()] = value.strip()
    return values


def _show_incident(item: dict[str, Any]) -> None:
    fields(
        [
            ("id", item["id"]),
            ("name", item["name"]),
            ("status", item["status"]),
            ("impact", item["impact"]),
            ("components", ", ".join(item["components"])),
            ("incident", item["incident"]),
            ("scheduled", f"{when(item['scheduled_for'])} to {when(item['scheduled_until'])}")
            if item["kind"] == "maintenance"
            else ("started", when(item["started_at"])),
        ]
    )
    for update in item["updates"]:
        changes = ", ".join(
            f"{a['code']} {a['old_status']}→{a['new_status']}"
            for a in update["affected_components"]
        )
        typer.echo(
            f"\n{when(update['created_at'])}  {update['status']}"
            + (f"  ({changes})" if changes else "")
        )
        typer.echo(update["body"].rstrip())


def _show(path: str, as_json: bool) -> None:
    item = api("GET", path)
    if as_json:
        emit_json(item)
        return
    _show_incident(item)


def _list_incidents(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (
                r["id"],
                r["status"],
                r["impact"],
                when(r["scheduled_for"] or r["created_at"]),
                r["name"],
            )
            for r in rows
        ],
        ["id", "status", "impact", "when", "name"],
    )


@component_app.command("list")
def component_list(as_json: Json = False) -> None:
    """Every component and group, in page order, with its status."""
    rows = api("GET", "/statuspage/components")
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (
                r["key"],
                r["status"],
                r["group"] or ("(group)" if r["is_group"] else ""),
                r["source"],
                r["name"],
            )
            for r in rows
        ],
        ["component", "status", "group", "from", "name"],
    )


@component_app.command("status")
def component_status(
    key: Annotated[str, typer.Argument(help="The component's key.")],
    status: Annotated[
        str,
        typer.Argument(
            help="operational, degraded_performance, partial_outage, major_outage or under_maintenance."
        ),
    ],
    as_json: Json = False,
) -> None:
    """Set a component's status by hand, outside any incident."""
    row = api("PUT", f"/statuspage/components/{key}/status", json={"status": status})
    if as_json:
        emit_json(row)
        return
    typer.echo(f"{row['key']} is {row['status']}")


@component_app.command("add")
def component_add(
    key: Annotated[str, typer.Argument(help="A short key (a slug), its public id.")],
    name: Annotated[str, typer.Argument(help="The name the public sees.")],
    group: Annotated[str | None, typer.Option(help="The group's name (made if new).")] = None,
    description: Annotated[str, typer.Option(help="A line under the name.")] = "",
    as_json: Json = False,
) -> None:
    """Add a component of your own (the policy's come from its components: section)."""
    body = {"key": key, "name": name, "group": group, "description": description}
    row = api("POST", "/statuspage/components", json=body)
    if as_json:
        emit_json(row)
        return
    typer.echo(f"Added {row['key']} ({row['name']})")


@component_app.command("remove")
def component_remove(key: Annotated[str, typer.Argument(help="The component's key.")]) -> None:
    """Take a component added with `component add` off the page (its history stays)."""
    api("DELETE", f"/statuspage/components/{key}", text=True)
    typer.echo(f"Removed {key}")


@component_app.command("history")
def component_history(
    key: Annotated[str, typer.Argument(help="The component's key.")], as_json: Json = False
) -> None:
    """The component's status changes, newest first."""
    rows = api("GET", f"/statuspage/components/{key}/history")
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (when(r["at"]), r["old_status"], r["new_status"], r["incident"], r["actor"])
            for r in rows
        ],
        ["at", "from", "to", "public incident", "by"],
    )


@incident_app.command("list")
def incident_list(
    open_only: Annotated[bool, typer.Option("--open", help="Unresolved ones only.")] = False,
    as_json: Json = False,
) -> None:
    """Public incidents, newest first."""
    _list_incidents(api("GET", "/statuspage/incidents", params={"open": open_only}), as_json)


@incident_app.command("show")
def incident_show(public_id: PublicIdArg, as_json: Json = False) -> None:
    """A public incident with its updates (and the internal incident it reports on)."""
    _show(f"/statuspage/incidents/{public_id}", as_json)


@incident_app.command("publish")
def incident_publish(
    name: Annotated[str, typer.Option(help="The title the public sees.")],
    body: Annotated[str, typer.Option(help="The first update's reviewed wording.")],
    status: Annotated[
        str, typer.Option(help="investigating, identified or monitoring.")
    ] = "investigating",
    component: ComponentOpt = None,
    incident: Annotated[
        str | None, typer.Option(help="The internal incident it reports on (never shown publicly).")
    ] = None,
    impact: Annotated[
        str | None,
        typer.Option(help="none, minor, major or critical (default: from the components)."),
    ] = None,
    notify: NotifyOpt = None,
    as_json: Json = False,
) -> None:
    """Publish a public incident (permission update-status-page)."""
    data = {
        "name": name,
        "body": body,
        "status": status,
        "components": _pairs(component, "--component"),
        "incident": incident,
        "impact": impact,
        "deliver_notifications": notify,
    }
    item = api("POST", "/statuspage/incidents", json=data)
    if as_json:
        emit_json(item)
        return
    typer.echo(
        f"Published {item['id']}: {item['name']} ({item['status']}, impact {item['impact']})"
    )


@incident_app.command("update")
def incident_update(
    public_id: PublicIdArg,
    status: Annotated[
        str, typer.Option(help="investigating, identified, monitoring, resolved or postmortem.")
    ],
    body: Annotated[str, typer.Option(help="The update's reviewed wording.")],
    component: ComponentOpt = None,
    notify: NotifyOpt = None,
    as_json: Json = False,
) -> None:
    """Post an update; resolving puts the incident's components back to operational
    unless --component says otherwise."""
    data = {
        "status": status,
        "body": body,
        "components": _pairs(component, "--component"),
        "deliver_notifications": notify,
    }
    item = api("POST", f"/statuspage/incidents/{public_id}/updates", json=data)
    if as_json:
        emit_json(item)
        return
    typer.echo(f"{item['id']} is {item['status']}")


@incident_app.command("draft")
def incident_draft(
    ref: Annotated[str, typer.Argument(help="The internal incident, e.g. INC-2026-01-15-001.")],
    status: Annotated[
        str, typer.Option(help="investigating, identified, monitoring or resolved.")
    ] = "investigating",
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            metavar="NAME=VALUE",
            help="A template field (repeatable): customer_impact, root_cause, next_steps, eta, progress, summary...",
        ),
    ] = None,
    locale: Annotated[str | None, typer.Option(help="en or nl (default: the page's).")] = None,
    as_json: Json = False,
) -> None:
    """Draft a public update from an internal incident with the policy's status-page
    template; review it, then publish it with `incident publish` or `incident update`."""
    data = {"incident": ref, "status": status, "locale": locale, "fields": _pairs(set_, "--set")}
    draft = api("POST", "/statuspage/drafts", json=data)
    if as_json:
        emit_json(draft)
        return
    typer.echo(f"Name: {draft['name']}")
    changes = ", ".join(f"{k}={v}" for k, v in draft["components"].items())
    typer.echo(f"Components: {changes or '-'}  (template {draft['template']}, {draft['locale']})\n")
    typer.echo(draft["body"].rstrip())


@maintenance_app.command("list")
def maintenance_list(
    open_only: Annotated[bool, typer.Option("--open", help="Not completed ones only.")] = False,
    as_json: Json = False,
) -> None:
    """Scheduled maintenance, newest first."""
    _list_incidents(api("GET", "/statuspage/maintenances", params={"open": open_only}), as_json)


@maintenance_app.command("show")
def maintenance_show(public_id: PublicIdArg, as_json: Json = False) -> None:
    """A maintenance with its updates."""
    _show(f"/statuspage/maintenances/{public_id}", as_json)


@maintenance_app.command("schedule")
def maintenance_schedule(
    name: Annotated[str, typer.Option(help="The title the public sees.")],
    body: Annotated[str, typer.Option(help="What will happen and what people will notice.")],
    start: Annotated[
        str, typer.Option(help="When it starts, with a time zone: 2026-02-01T22:00:00+01:00.")
    ],
    end: Annotated[str, typer.Option(help="When it ends, with a time zone.")],
    component: Annotated[
        list[str] | None,
        typer.Option("--component", "-c", help="A component it affects (repeatable)."),
    ] = None,
    manual: Annotated[
        bool, typer.Option("--manual", help="Do not start and complete it by itself.")
    ] = False,
    notify: NotifyOpt = None,
    as_json: Json = False,
) -> None:
    """Announce maintenance; it moves to in progress at START and to completed at END."""
    data = {
        "name": name,
        "body": body,
        "scheduled_for": start,
        "scheduled_until": end,
        "components": component or [],
        "auto_transition": not manual,
        "deliver_notifications": notify,
    }
    item = api("POST", "/statuspage/maintenances", json=data)
    if as_json:
        emit_json(item)
        return
    typer.echo(
        f"Scheduled {item['id']}: {item['name']} ({when(item['scheduled_for'])} to {when(item['scheduled_until'])})"
    )


@maintenance_app.command("move")
def maintenance_move(
    public_id: PublicIdArg,
    status: Annotated[str, typer.Argument(help="in_progress, verifying or completed.")],
    body: Annotated[
        str | None, typer.Option(help="The update's wording (default: a standard line).")
    ] = None,
    notify: NotifyOpt = None,
    as_json: Json = False,
) -> None:
    """Move a maintenance on by hand."""
    data = {"status": status, "body": body, "deliver_notifications": notify}
    item = api("POST", f"/statuspage/maintenances/{public_id}/status", json=data)
    if as_json:
        emit_json(item)
        return
    typer.echo(f"{item['id']} is {item['status']}")


@subscriber_app.command("list")
def subscriber_list(as_json: Json = False) -> None:
    """Every subscriber: confirmed, waiting for confirmation, and gone."""
    rows = api("GET", "/statuspage/subscribers")
    if as_json:
        emit_json(rows)
        return
    table(
        [
            (
                r["id"],
                r["kind"],
                r["address"],
                ", ".join(r["components"]) or "all",
                "unsubscribed"
                if r["unsubscribed_at"]
                else "confirmed"
                if r["confirmed_at"]
                else "waiting",
            )
            for r in rows
        ],
        ["id", "kind", "address", "components", "state"],
    )


@subscriber_app.command("remove")
def subscriber_remove(
    subscriber_id: Annotated[
        int, typer.Argument(help="The subscriber's id (see `subscriber list`).")
    ],
) -> None:
    """Unsubscribe someone who asked by another way than the link."""
    row = api("DELETE", f"/statuspage/subscribers/{subscriber_id}")
    typer.echo(f"Unsubscribed {row['address']}")


# --- export (the static site) --------------------------------------------------------------


def _said(done: exporting.Exported, directory: Path) -> None:
    what = f"{len(done.changed)} changed" + (
        f", {len(done.removed)} removed" if done.removed else ""
    )
    typer.echo(
        f"Exported status page version {done.version} to {directory}: "
        f"{len(done.files)} files ({what})"
    )


@app.command("export")
def export(
    directory: Annotated[
        Path, typer.Argument(help="Folder to write into (made if missing).", file_okay=False)
    ],
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Keep running and export again after every public change (debounced), "
            "until Ctrl-C or SIGTERM.",
        ),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            help="Where the export will be served, for the feeds' links "
            "(default: the status page's url from the policy)."
        ),
    ] = None,
    interval: Annotated[
        float,
        typer.Option(min=0.1, help="--watch: seconds between two looks for changes."),
    ] = exporting.POLL_SECONDS,
) -> None:
    """Write the whole public status page (HTML, /api/v2 JSON, RSS and Atom feeds, assets)
    as static files, for any static host or object store to serve without Tocsin.

    Reads the database (TOCSIN_DATABASE_URL) directly. Publishing the folder to a
    separate host is described in docs/statuspage.md.
    """
    if TARGET.server:
        typer.echo(
            "error: the export reads the database; run it where TOCSIN_DATABASE_URL "
            "reaches it (without --server)",
            err=True,
        )
        raise typer.Exit(2)

    async def run() -> None:
        db = Database(Settings())
        clock = SystemClock()
        try:
            if not watch:
                _said(await exporting.export(db, directory, clock=clock, base_url=url), directory)
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            typer.echo(f"Watching for changes every {interval:g} s (Ctrl-C stops)")
            await exporting.watch(
                db,
                directory,
                clock=clock,
                base_url=url,
                stop=stop,
                poll=interval,
                on_export=lambda done: _said(done, directory),
            )
        finally:
            await db.dispose()

    asyncio.run(run())
