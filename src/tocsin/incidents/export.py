"""Exports of an incident: the timeline as Markdown, times in the policy's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import Actor
from tocsin.clock import Clock
from tocsin.incidents.service import describe, get, incident_policy, timeline


def _local(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


async def timeline_markdown(session: AsyncSession, actor: Actor, ref: str, *, clock: Clock) -> str:
    """The incident and its timeline as Markdown, times in the policy's time zone."""
    incident = await get(session, actor, ref)
    policy = await incident_policy(session, incident)
    zone = ZoneInfo(policy.organization.timezone)
    described = await describe(session, incident, clock=clock)
    events = await timeline(session, actor, ref)
    lines = [
        f"# {incident.ref}: {incident.title}",
        "",
        f"- Severity: {described.severity} ({described.severity_name})",
        f"- Type: {incident.type or '-'}",
        f"- Status: {incident.status}",
        f"- Detected: {_local(incident.detected_at, zone)}",
        f"- Declared: {_local(incident.declared_at, zone)}",
    ]
    for stage in ("acknowledged_at", "identified_at", "mitigated_at", "resolved_at", "closed_at"):
        value = getattr(incident, stage)
        if value is not None:
            lines.append(f"- {stage.removesuffix('_at').capitalize()}: {_local(value, zone)}")
    if described.sla:
        lines += ["", "## SLA", "", "| Target | Due | Verdict |", "|---|---|---|"]
        for target in described.sla:
            due = _local(target.due_at, zone) if target.due_at else "-"
            lines.append(f"| {target.target} | {due} | {target.text} |")
    lines += ["", "## Timeline", "", "| Time | Who | What |", "|---|---|---|"]
    for event in events:
        text = event.summary.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {_local(event.at, zone)} | {event.actor} | {text} |")
    return "\n".join(lines) + "\n"
