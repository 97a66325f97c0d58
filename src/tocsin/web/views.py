"""The console's pages as plain data for templates: each function takes a session and a
viewer and returns a dict, so a test calls it without HTTP. Reads go through the domain
services, which check visibility (restricted incidents)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, get_args
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.alerts import service as alerts
from tocsin.clock import Clock
from tocsin.comms import service as comms
from tocsin.errors import InvalidInput
from tocsin.escalation import service as escalation
from tocsin.escalation.routes import _step as step_out
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.incidents.lifecycle import OPEN_STATUSES, STATUSES, TRANSITIONS
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy
from tocsin.statuspage import service as statuspage
from tocsin.statuspage.schemas import ComponentStatus
from tocsin.web import service
from tocsin.web.timeline import KINDS, kind_of
from tocsin.web.viewer import Viewer, may

#: A proposed mitigation's risk levels (the API's).
RISKS = ("Low", "Medium", "High")
#: What a status-page update may set a component to.
COMPONENT_STATUSES: tuple[str, ...] = get_args(ComponentStatus)

#: The list shows at most this many incidents (open ones first).
LIST_LIMIT = 100


@dataclass
class ListFilters:
    status: list[str] = field(default_factory=list)
    severity: list[str] = field(default_factory=list)
    type: list[str] = field(default_factory=list)
    team: list[str] = field(default_factory=list)
    q: str = ""
    since: str = ""
    until: str = ""


def _day_start(text: str, zone: str, name: str) -> datetime | None:
    """A ``YYYY-MM-DD`` from a date field, as the start of that day in the viewer's zone."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is not a date", details={"field": name}) from exc
    return datetime.combine(day, time(0), ZoneInfo(zone))


def commander_role(policy: Policy) -> str | None:
    """The role the list shows as commander: the first whose key names a commander."""
    return next((r.key for r in policy.roles if "commander" in r.key), None)


def _rank(policy: Policy, out: schemas.IncidentOut) -> tuple[int, int, float]:
    known = [s.key for s in policy.severities]
    level = known.index(out.severity) if out.severity in known else len(known)
    return (out.status not in OPEN_STATUSES, level, -out.declared_at.timestamp())


async def incident_list(
    session: AsyncSession, viewer: Viewer, filters: ListFilters, *, clock: Clock
) -> dict[str, Any]:
    """Open incidents first, most severe first, then the newest."""
    policy = await policies.current_policy(session)
    rows, total = await incidents.search(
        session,
        viewer.actor,
        limit=LIST_LIMIT,
        status=filters.status,
        severity=filters.severity,
        type_=filters.type,
        team=filters.team,
        search=filters.q or None,
        since=_day_start(filters.since, viewer.words.zone, "since"),
        until=_day_start(filters.until, viewer.words.zone, "until"),
    )
    windows = await incidents.maintenance_now(session, clock=clock)
    shown = await incidents.describe_many(session, rows, clock=clock, windows=windows)
    shown.sort(key=lambda out: _rank(policy, out))
    commander = commander_role(policy)
    return {
        "incidents": shown,
        "total": total,
        "commander": commander,
        "filters": filters,
        "policy": policy,
        "statuses": STATUSES,
        "teams": _teams(policy, await incidents.teams(session, viewer.actor)),
        "open_statuses": OPEN_STATUSES,
        "can_declare": "declare" in may(policy, viewer.actor),
        "last_event": await service.latest_event(session, viewer.actor),
    }


def _teams(policy: Policy, used: list[str]) -> list[tuple[str, str]]:
    """The team filter's choices: the policy's teams, then others named on incidents."""
    known = [(t.key, t.name) for t in policy.teams]
    keys = {key for key, _ in known}
    return known + [(t, t) for t in used if t not in keys]


async def declare_form(
    session: AsyncSession,
    viewer: Viewer,
    typed: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The declare form; after a rejected post, with what was typed and the errors."""
    policy = await policies.current_policy(session)
    default = policy.severities[-1].key if policy.severities else ""
    return {
        "policy": policy,
        "typed": typed or {"severity": default, "components": []},
        "errors": errors or {},
    }


async def room(
    session: AsyncSession,
    viewer: Viewer,
    ref: str,
    *,
    clock: Clock,
    show: list[str] | None = None,
) -> dict[str, Any]:
    """One incident: header, actions the viewer may take, timeline (only the kinds in
    ``show``, all by default), checklists by phase, alerts and escalation."""
    incident = await incidents.get(session, viewer.actor, ref)
    out = await incidents.describe(session, incident, clock=clock, detail=True)
    assert isinstance(out, schemas.IncidentDetailOut)
    current = await policies.current_policy(session)
    own = await incidents.incident_policy(session, incident)
    wanted = [k for k in (show or []) if k in KINDS] or list(KINDS)
    events = await incidents.timeline(session, viewer.actor, incident.ref)
    phases: dict[str, list[schemas.ChecklistItemOut]] = {}
    for item in out.checklists:
        phases.setdefault(item.phase, []).append(item)
    attached = await alerts.list_alerts(session, viewer.actor, incident=incident.ref, limit=50)
    ladder, rows = await escalation.state(session, incident)
    approvals = {incidents.approved_of(e): e for e in events if e.kind == "mitigation_approved"}
    proposals = [
        {"event": e, "approved": approvals.get(e.id)}
        for e in events
        if e.kind == "mitigation_proposed"
    ]
    public = None if incident.restricted else await statuspage.open_for_incident(session, incident)
    leaves = {c.key: c.name for c in await statuspage.list_components(session) if not c.is_group}
    steps = [step_out(row) for row in rows]
    return {
        "incident": out,
        "can": may(current, viewer.actor, out.roles),
        "policy": current,
        "phase_names": {p.key: p.name for p in own.phases},
        "severities": own.severities,
        "roles": current.roles,
        "people": [(p.email, p.name) for p in current.people],
        "next_statuses": sorted(TRANSITIONS.get(out.status, ()), key=STATUSES.index),  # type: ignore[call-overload]
        "events": [e for e in events if kind_of(e.kind) in wanted],
        "last_event": events[-1].id if events else 0,
        "kinds": KINDS,
        "show": wanted,
        "phases": phases,
        "alerts": attached.alerts,
        "templates": sorted({t.key for t in await comms.templates(session)}),
        "channels": [c.key for c in current.channels],
        "ladder": ladder,
        "steps": steps,
        "next_step": next((s for s in steps if s.status == "pending"), None),
        "paged": [e for e in events if e.kind == "page"],
        "proposals": proposals,
        "risks": RISKS,
        "open": out.status in OPEN_STATUSES,
        "public": None if public is None else await statuspage.describe(session, public),
        "public_statuses": list(statuspage.DRAFT_TEMPLATES),
        "public_components": [(k, leaves[k]) for k in out.components if k in leaves],
        "component_statuses": COMPONENT_STATUSES,
    }
