"""``tocsin incident ...``: declare and run incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from tocsin.cli.common import JsonOpt, api
from tocsin.cli.maintenance import describe as describe_window
from tocsin.cli.output import emit_json, fields, table, when

app = typer.Typer(
    help="Declare incidents and move them through their lifecycle.", no_args_is_help=True
)

Ref = Annotated[str, typer.Argument(help="Incident id, e.g. INC-2026-01-15-001.")]
ISO_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]


def _show(incident: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(incident)
        return
    fields(
        [
            ("ID", incident["id"]),
            ("Title", incident["title"]),
            ("Severity", f"{incident['severity']} ({incident['severity_name']})"),
            ("Type", incident["type"]),
            ("Status", incident["status"] + ("  [restricted]" if incident["restricted"] else "")),
            ("Components", ", ".join(incident["components"])),
            ("Detected", when(incident["detected_at"])),
            ("Declared", when(incident["declared_at"])),
            ("Acknowledged", when(incident["acknowledged_at"])),
            ("Identified", when(incident["identified_at"])),
            ("Mitigated", when(incident["mitigated_at"])),
            ("Resolved", when(incident["resolved_at"])),
            ("Closed", when(incident["closed_at"])),
            ("Roles", ", ".join(f"{r['role']}: {r['name']}" for r in incident["roles"])),
            ("Alerts", incident.get("alert_count", 0)),
            ("Maintenance", "; ".join(describe_window(w) for w in incident.get("maintenance", []))),
            ("Policy version", incident["policy_version"]),
        ]
    )
    if incident["sla"]:
        typer.echo("\nSLA")
        table(
            [(t["target"], when(t["due_at"]), t["text"]) for t in incident["sla"]],
            ["target", "due", "verdict"],
        )
    items = incident.get("checklists") or []
    if items:
        typer.echo("\nChecklists")
        table(
            [
                (i["id"], i["checklist_name"], "x" if i["checked_at"] else " ", i["text"])
                for i in items
            ],
            ["item", "checklist", "done", "text"],
        )


@app.command()
def declare(
    title: Annotated[str, typer.Argument(help="What is wrong, in a few words.")],
    severity: Annotated[
        str, typer.Option("--severity", "-s", help="A severity key of the policy (e.g. SEV1, P0).")
    ],
    type_: Annotated[
        str | None, typer.Option("--type", "-t", help="An incident type of the policy.")
    ] = None,
    summary: Annotated[str, typer.Option(help="Longer description.")] = "",
    component: Annotated[
        list[str] | None, typer.Option("--component", "-c", help="Affected component (repeatable).")
    ] = None,
    users_affected: Annotated[int | None, typer.Option(help="How many users are affected.")] = None,
    users_affected_pct: Annotated[
        float | None, typer.Option(help="Share of users affected, in percent.")
    ] = None,
    business_impact: Annotated[str, typer.Option(help="Business impact, in words.")] = "",
    detected_at: Annotated[
        datetime | None,
        typer.Option(
            help="When it was detected (ISO 8601 with zone); default now.",
            formats=ISO_FORMATS,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Declare an incident."""
    body: dict[str, Any] = {
        "title": title,
        "severity": severity,
        "type": type_,
        "summary": summary,
        "components": component or [],
        "impact": {
            "users_affected": users_affected,
            "users_affected_pct": users_affected_pct,
            "business_impact": business_impact,
        },
    }
    if detected_at is not None:
        body["detected_at"] = detected_at.isoformat()
    incident = api("POST", "/incidents", json=body)
    if as_json:
        emit_json(incident)
    else:
        typer.echo(f"Declared {incident['id']} ({incident['severity']}): {incident['title']}")


@app.command("list")
def list_(
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only these statuses (repeatable).")
    ] = None,
    severity: Annotated[
        list[str] | None, typer.Option("--severity", "-s", help="Only these severities.")
    ] = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", "-t", help="Only these types.")
    ] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
    search: Annotated[
        str | None, typer.Option("--search", "-q", help="Text in id, title or summary.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List incidents, newest first."""
    params: dict[str, Any] = {
        "status": status or [],
        "severity": severity or [],
        "type": type_ or [],
        "limit": limit,
    }
    if open_only:
        params["open"] = "true"
    if search:
        params["q"] = search
    result = api("GET", "/incidents", params=params)
    if as_json:
        emit_json(result)
        return
    for window in result.get("maintenance", []):
        typer.echo(f"Maintenance: {describe_window(window)}")
    rows = [
        (
            i["id"],
            i["severity"],
            i["status"] + (" (maintenance)" if i.get("maintenance") else ""),
            i.get("alert_count", 0),
            when(i["declared_at"]),
            i["title"],
        )
        for i in result["incidents"]
    ]
    table(rows, ["id", "severity", "status", "alerts", "declared", "title"])
    typer.echo(f"\n{len(rows)} of {result['total']} incident(s)")


@app.command()
def show(
    ref: Ref,
    at: Annotated[
        datetime | None,
        typer.Option(
            help="Judge the SLA targets as of this instant (ISO 8601 with zone).",
            formats=ISO_FORMATS,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show an incident with its SLA clock, roles and checklists."""
    params = {"at": at.isoformat()} if at else None
    _show(api("GET", f"/incidents/{ref}", params=params), as_json)


@app.command()
def edit(
    ref: Ref,
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    summary: Annotated[str | None, typer.Option(help="New summary.")] = None,
    type_: Annotated[str | None, typer.Option("--type", "-t", help="New incident type.")] = None,
    component: Annotated[
        list[str] | None,
        typer.Option(
            "--component", "-c", help="Affected component (repeatable); replaces the list."
        ),
    ] = None,
    users_affected: Annotated[int | None, typer.Option(help="How many users are affected.")] = None,
    users_affected_pct: Annotated[
        float | None, typer.Option(help="Share of users affected, in percent.")
    ] = None,
    business_impact: Annotated[str | None, typer.Option(help="Business impact, in words.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Edit an incident's title, summary, type, components or impact."""
    body: dict[str, Any] = {
        k: v
        for k, v in {"title": title, "summary": summary, "components": component}.items()
        if v is not None
    }
    if type_ is not None:
        body["type"] = type_
    if (users_affected, users_affected_pct, business_impact) != (None, None, None):
        current = api("GET", f"/incidents/{ref}")["impact"]
        body["impact"] = {
            "users_affected": current["users_affected"]
            if users_affected is None
            else users_affected,
            "users_affected_pct": current["users_affected_pct"]
            if users_affected_pct is None
            else users_affected_pct,
            "business_impact": current["business_impact"]
            if business_impact is None
            else business_impact,
        }
    incident = api("PATCH", f"/incidents/{ref}", json=body)
    if as_json:
        emit_json(incident)
    else:
        typer.echo(f"{incident['id']} updated")


@app.command()
def invite(
    ref: Ref,
    email: Annotated[str, typer.Argument(help="Whom to let see a restricted incident.")],
    as_json: JsonOpt = False,
) -> None:
    """Add a participant (who may then see a restricted incident)."""
    _act(ref, "participants", {"email": email}, as_json, f"{email} now participates in {{id}}")


def _act(ref: str, path: str, body: Any, as_json: bool, said: str) -> None:
    incident = api("POST", f"/incidents/{ref}/{path}", json=body)
    if as_json:
        emit_json(incident)
    else:
        typer.echo(said.format(**incident))


@app.command()
def ack(ref: Ref, as_json: JsonOpt = False) -> None:
    """Acknowledge an incident."""
    _act(ref, "acknowledge", {"via": "cli"}, as_json, "{id} acknowledged")


@app.command()
def status(
    ref: Ref,
    new_status: Annotated[
        str,
        typer.Argument(
            metavar="STATUS", help="investigating, identified, monitoring, resolved or closed."
        ),
    ],
    note: Annotated[str, typer.Option(help="Why, for the timeline.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Move an incident to another status."""
    _act(ref, "status", {"status": new_status, "note": note}, as_json, "{id} is now {status}")


@app.command()
def severity(
    ref: Ref,
    new_severity: Annotated[
        str, typer.Argument(metavar="SEVERITY", help="A severity key of the policy.")
    ],
    reason: Annotated[str, typer.Option(help="Why, for the timeline.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Escalate or de-escalate an incident's severity."""
    _act(
        ref,
        "severity",
        {"severity": new_severity, "reason": reason},
        as_json,
        "{id} is now {severity}",
    )


@app.command()
def assign(
    ref: Ref,
    role: Annotated[str, typer.Argument(help="A role key of the policy, e.g. incident-commander.")],
    email: Annotated[str, typer.Argument(help="The person's e-mail.")],
    as_json: JsonOpt = False,
) -> None:
    """Put a person in an incident role (hands an exclusive role over)."""
    _act(ref, "roles", {"role": role, "email": email}, as_json, f"{email} is now {role} of {{id}}")


@app.command()
def relieve(
    ref: Ref,
    role: Annotated[str, typer.Argument(help="The role key.")],
    email: Annotated[
        str | None, typer.Argument(help="Whom to relieve (needed if several hold the role).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Relieve a person of an incident role."""
    _act(
        ref, "roles/relieve", {"role": role, "email": email}, as_json, f"{role} relieved on {{id}}"
    )


@app.command()
def note(
    ref: Ref, text: Annotated[str, typer.Argument(help="The note.")], as_json: JsonOpt = False
) -> None:
    """Add a note to the timeline."""
    event = api("POST", f"/incidents/{ref}/notes", json={"text": text})
    if as_json:
        emit_json(event)
    else:
        typer.echo(f"Note added to {ref.upper()}")


@app.command()
def escalation(ref: Ref, as_json: JsonOpt = False) -> None:
    """Show the incident's escalation: each step, who it targets, when, and what became of it."""
    state = api("GET", f"/incidents/{ref}/escalation")
    if as_json:
        emit_json(state)
        return
    if state["ladder"] is None:
        typer.echo(f"{state['incident']}: no escalation ladder applies")
        return
    typer.echo(f"{state['incident']}: ladder {state['ladder']} ({state['status']})")
    rows = [
        (
            s["step"] if not s["cycle"] else f"{s['step']} (repeat {s['cycle']})",
            s["action"],
            ", ".join(s["targets"]) or "-",
            s["condition"],
            when(s["due_at"]),
            s["status"],
            s["reason"] or "",
        )
        for s in state["steps"]
    ]
    table(rows, ["Step", "Action", "Targets", "If", "Due", "Status", "Why"])


@app.command("post-update")
def post_update(
    ref: Ref,
    text: Annotated[str, typer.Argument(help="The update for stakeholders.")],
    as_json: JsonOpt = False,
) -> None:
    """Post a status update; it restarts the clock of the severity's update reminders."""
    event = api("POST", f"/incidents/{ref}/updates", json={"text": text})
    if as_json:
        emit_json(event)
    else:
        typer.echo(f"Update posted to {ref.upper()}")


@app.command("propose-mitigation")
def propose_mitigation(
    ref: Ref,
    action: Annotated[
        str, typer.Argument(help="What to do, e.g. 'Roll back to v1.2.3'.", show_default=False)
    ],
    risk: Annotated[str | None, typer.Option(help="Low, Medium or High.")] = None,
    expected_impact: Annotated[str, typer.Option(help="What it should achieve.")] = "",
    rollback_plan: Annotated[str, typer.Option(help="What happens if it fails.")] = "",
    approval: Annotated[
        str, typer.Option(help="Who must approve, or who approved (default: awaiting the IC).")
    ] = "",
    as_json: JsonOpt = False,
) -> None:
    """Propose a mitigation for the incident commander to approve; comms routes
    `on: mitigation_proposed` send it."""
    body = {
        "action": action,
        "risk": risk,
        "expected_impact": expected_impact,
        "rollback_plan": rollback_plan,
        "approval": approval,
    }
    event = api("POST", f"/incidents/{ref}/mitigations", json=body)
    if as_json:
        emit_json(event)
    else:
        typer.echo(f"{ref.upper()}: {event['summary']} [proposal {event['id']}]")


@app.command("approve-mitigation")
def approve_mitigation(
    ref: Ref,
    proposal: Annotated[
        int,
        typer.Argument(
            help="The proposal's number (printed by `propose-mitigation`; its timeline event id).",
            show_default=False,
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Approve a proposed mitigation (needs `approve-rollback`, e.g. the incident
    commander); once per proposal, on an open incident."""
    event = api("POST", f"/incidents/{ref}/mitigations/{proposal}/approve")
    if as_json:
        emit_json(event)
    else:
        typer.echo(f"{ref.upper()}: {event['summary']}")


@app.command()
def check(
    ref: Ref,
    item: Annotated[int, typer.Argument(help="Checklist item number (see `incident show`).")],
    undo: Annotated[bool, typer.Option("--undo", help="Uncheck instead.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check off (or uncheck) a checklist item."""
    result = api("POST", f"/incidents/{ref}/checklists/{item}", json={"checked": not undo})
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"[{'x' if result['checked_at'] else ' '}] {result['text']}")


@app.command()
def resolve(ref: Ref, as_json: JsonOpt = False) -> None:
    """Mark an incident resolved."""
    _act(ref, "resolve", None, as_json, "{id} resolved")


@app.command()
def reopen(ref: Ref, as_json: JsonOpt = False) -> None:
    """Reopen a resolved incident (back to investigating)."""
    _act(ref, "reopen", None, as_json, "{id} reopened")


@app.command()
def close(ref: Ref, as_json: JsonOpt = False) -> None:
    """Close a resolved incident."""
    _act(ref, "close", None, as_json, "{id} closed")


@app.command()
def timeline(
    ref: Ref,
    markdown: Annotated[
        bool, typer.Option("--markdown", "--md", help="Export as Markdown.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show the timeline, in order."""
    if markdown:
        typer.echo(api("GET", f"/incidents/{ref}/timeline.md", text=True), nl=False)
        return
    events = api("GET", f"/incidents/{ref}/timeline")
    if as_json:
        emit_json(events)
        return
    table(
        [(when(e["at"]), e["actor"], e["kind"], e["summary"]) for e in events],
        ["time", "who", "kind", "what"],
    )
