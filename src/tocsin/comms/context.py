"""The fields a template sees: an incident's real data as plain, display-ready values.

``incident_context`` is the one place they are built, for previews, sends, routes and
pages alike. Times are shown in the organisation's zone with the zone named
(``2026-11-23 14:05 CET``); ``update`` holds what a sender supplies for this one message
(progress, next steps, ETA, ...), which Tocsin cannot know by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.comms import fields
from tocsin.errors import InvalidInput
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.policy.schema import Policy
from tocsin.policy.spans import Span

#: What a sender may fill in for one message (``--set progress=...``); all optional.
UPDATE_FIELDS = tuple(fields.UPDATE_FIELDS)


def format_time(value: datetime | None, zone: str) -> str | None:
    if value is None:
        return None
    local = value.astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def format_duration(length: timedelta) -> str:
    """``1 h 25 min``, ``12 min``, ``2 d 3 h``: what people write in an update."""
    minutes = int(length.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    if days or hours:
        parts[2] = f"{minutes} min" if minutes else ""
    return " ".join(p for p in parts if p) or "0 min"


def check_update_fields(update: Mapping[str, Any], root: str = "update") -> dict[str, str]:
    """The sender's fields of ``root`` (``update``, or an optional root such as
    ``notice``) as strings; an unknown name is an error that lists the known."""
    known = fields.FIELDS[root].fields
    unknown = sorted(set(update) - set(known))
    if unknown:
        raise InvalidInput(
            f"unknown {root} field(s) {', '.join(unknown)} (known: {', '.join(known)})",
            details={"field": root, "unknown": unknown},
        )
    return {key: str(value) for key, value in update.items() if value is not None}


def _cadence(policy: Policy, severity_key: str) -> Span | None:
    severity = policy.severity(severity_key)
    return severity.update_every if severity is not None else None


async def incident_context(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    *,
    clock: Clock,
    update: Mapping[str, Any] | None = None,
    public_url: str = "",
    page: Mapping[str, Any] | None = None,
    notice: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything a template may name, for ``incident`` as it is now: the roots of
    :data:`tocsin.comms.fields.ROOTS`, plus ``page`` and ``notice`` when given."""
    now = clock.now()
    zone = policy.organization.timezone
    out = await incidents.describe(session, incident, clock=clock)
    severity = policy.severity(incident.severity)
    itype = policy.incident_type(incident.type) if incident.type else None
    names = {c.key: c.name for c in policy.components}
    end = incident.resolved_at or now
    holders: dict[str, str | None] = {role.key: None for role in policy.roles}
    for holder in out.roles:
        holders[holder.role] = holders.get(holder.role) or holder.name
    commander = next((holders[r.key] for r in policy.roles if r.exclusive and holders[r.key]), None)
    acknowledged_by = policy.person(out.acknowledged_by) if out.acknowledged_by else None
    declared_by = policy.person(out.declared_by) if out.declared_by else None
    given = check_update_fields(update or {})
    cadence = _cadence(policy, incident.severity)
    every = None
    if cadence is not None:
        every = (
            f"{cadence.business_days} bd"
            if cadence.business_days
            else format_duration(cadence.time)
        )
    next_update = now + cadence.time if cadence is not None and not cadence.business_days else None
    context: dict[str, Any] = {
        "org": {"name": policy.organization.name, "timezone": zone},
        "now": format_time(now, zone),
        "incident": {
            "ref": incident.ref,
            "title": incident.title,
            "summary": incident.summary,
            "severity": incident.severity,
            "severity_name": severity.name if severity else incident.severity,
            "severity_definition": severity.definition if severity else "",
            "type": incident.type,
            "type_name": itype.name if itype else None,
            "status": incident.status,
            "impact": incident.business_impact,
            "users_affected": incident.users_affected,
            "users_affected_pct": incident.users_affected_pct,
            "components": ", ".join(names.get(c, c) for c in incident.components),
            "detected_at": format_time(incident.detected_at, zone),
            "declared_at": format_time(incident.declared_at, zone),
            "acknowledged_at": format_time(incident.acknowledged_at, zone),
            "identified_at": format_time(incident.identified_at, zone),
            "mitigated_at": format_time(incident.mitigated_at, zone),
            "resolved_at": format_time(incident.resolved_at, zone),
            "duration": format_duration(end - incident.detected_at),
            "duration_minutes": int((end - incident.detected_at).total_seconds() // 60),
            "update_every": every,
            "next_update_at": format_time(next_update, zone),
            "declared_by": declared_by.name if declared_by else out.declared_by,
            "acknowledged_by": acknowledged_by.name if acknowledged_by else out.acknowledged_by,
            #: Who holds the policy's first exclusive role (the incident commander).
            "commander": commander,
            "roles": holders,
            "url": f"{public_url.rstrip('/')}/incidents/{incident.ref}" if public_url else None,
        },
        "update": {key: given.get(key) for key in UPDATE_FIELDS},
    }
    for root, values in (("page", page), ("notice", notice)):
        if values is not None:
            filled = check_update_fields(values, root)
            context[root] = {key: filled.get(key) for key in fields.FIELDS[root].fields}
    return context
