"""Incident operations: declare, acknowledge, move, escalate, staff, note, check off.

Every change writes a timeline event and an audit row in the caller's transaction; the
caller (request, command, job) commits. Permissions come from the current policy; SLA
targets and checklists from the policy version the incident started under.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.alerts.schemas import MaintenanceWindowOut
from tocsin.auth import service as auth
from tocsin.auth.actor import Actor
from tocsin.auth.models import User
from tocsin.auth.permissions import allowed, require
from tocsin.clock import Clock
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.escalation import service as escalation
from tocsin.incidents import numbering, schemas, stage_clock
from tocsin.incidents.lifecycle import OPEN_STATUSES, STATUSES, TRANSITIONS, can_move
from tocsin.incidents.models import (
    ChecklistItem,
    Incident,
    IncidentEvent,
    IncidentParticipant,
    IncidentRole,
)
from tocsin.incidents.timeline import log as _log
from tocsin.policy import service as policies
from tocsin.policy.models import PolicyVersion
from tocsin.policy.schema import Policy, Severity

#: Who may approve a proposed mitigation (a rollback, configuration change or scaling).
APPROVE_PERMISSION = "approve-rollback"

# --- reading ---------------------------------------------------------------------------


def visible(query: Select[Any], actor: Actor) -> Select[Any]:
    """Restricted incidents only for their participants and admins."""
    if actor.is_admin:
        return query
    if actor.user_id is None:
        return query.where(Incident.restricted == false())
    mine = select(IncidentParticipant.incident_id).where(
        IncidentParticipant.user_id == actor.user_id
    )
    return query.where(or_(Incident.restricted == false(), Incident.id.in_(mine)))


async def get(session: AsyncSession, actor: Actor, ref: str) -> Incident:
    """The incident, or a 404 that does not reveal whether a restricted one exists."""
    query = visible(select(Incident), actor).where(Incident.ref == ref.strip().upper())
    incident: Incident | None = await session.scalar(query)
    if incident is None:
        raise NotFound(f"no incident {ref!r}", details={"incident": ref})
    return incident


def _filtered(
    query: Select[Any],
    *,
    status: Sequence[str] = (),
    severity: Sequence[str] = (),
    type_: Sequence[str] = (),
    team: Sequence[str] = (),
    open_only: bool = False,
    search: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[Any]:
    unknown = sorted(set(status) - set(STATUSES))
    if unknown:
        raise InvalidInput(
            f"unknown status {', '.join(map(repr, unknown))} (known: {', '.join(STATUSES)})",
            details={"field": "status", "unknown": unknown},
        )
    if status:
        query = query.where(Incident.status.in_(status))
    if open_only:
        query = query.where(Incident.status.in_(OPEN_STATUSES))
    if severity:
        query = query.where(Incident.severity.in_(severity))
    if type_:
        query = query.where(Incident.type.in_(type_))
    if team:
        query = query.where(Incident.team.in_(team))
    if since:
        query = query.where(Incident.declared_at >= since)
    if until:
        query = query.where(Incident.declared_at < until)
    if search:
        # The text is literal: ``%`` and ``_`` are escaped, not LIKE wildcards.
        text = search.strip().lower()
        text = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{text}%"
        query = query.where(
            or_(
                func.lower(Incident.title).like(pattern, escape="\\"),
                func.lower(Incident.summary).like(pattern, escape="\\"),
                func.lower(Incident.ref).like(pattern, escape="\\"),
            )
        )
    return query


async def search(
    session: AsyncSession, actor: Actor, *, limit: int = 50, offset: int = 0, **filters: Any
) -> tuple[list[Incident], int]:
    """Incidents the actor may see, newest first, and how many match in all."""
    base = _filtered(visible(select(Incident), actor), **filters)
    total = int(await session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = await session.scalars(
        base.order_by(Incident.declared_at.desc(), Incident.id.desc()).limit(limit).offset(offset)
    )
    return list(rows.all()), total


async def teams(session: AsyncSession, actor: Actor) -> list[str]:
    """The teams named on incidents the actor may see (a list's team filter)."""
    query = visible(select(Incident.team).distinct(), actor).where(Incident.team.is_not(None))
    return sorted(t for t in (await session.scalars(query)).all() if t)


_Child = TypeVar("_Child", IncidentRole, IncidentEvent, ChecklistItem)


async def _children(session: AsyncSession, model: type[_Child], incident: Incident) -> list[_Child]:
    """An incident's rows of one kind, in the order they were written."""
    query = select(model).where(model.incident_id == incident.id).order_by(model.id)
    return list((await session.scalars(query)).all())


async def _roles(session: AsyncSession, incident: Incident) -> list[IncidentRole]:
    return await _children(session, IncidentRole, incident)


async def timeline(session: AsyncSession, actor: Actor, ref: str) -> list[IncidentEvent]:
    return await _children(session, IncidentEvent, await get(session, actor, ref))


async def checklist(session: AsyncSession, incident: Incident) -> list[ChecklistItem]:
    return await _children(session, ChecklistItem, incident)


# --- describing -------------------------------------------------------------------------


async def maintenance_now(session: AsyncSession, *, clock: Clock) -> list[MaintenanceWindowOut]:
    """The maintenance windows in force now (shown with incident lists)."""
    from tocsin.alerts import maintenance  # alerts declare incidents: imported late

    return await maintenance.active(session, now=clock.now())


#: ``session.info`` key: the roles, people and alerts :func:`describe` read, by incident,
#: kept while a declaration describes its new incident more than once (for each comms
#: message, then for the answer) and nothing in between changes them; also the new
#: incident's checklist items and, under ``("fresh", id)``, the one person it names yet
#: (its declarer; no roles, no alerts).
_DESCRIBE_MEMO = "tocsin.describe_memo"


async def describe(
    session: AsyncSession,
    incident: Incident,
    *,
    clock: Clock,
    detail: bool = False,
    at: datetime | None = None,
    windows: Sequence[MaintenanceWindowOut] | None = None,
) -> schemas.IncidentOut:
    """The incident as the API and ``--json`` show it, SLA verdicts as of ``at`` (now);
    ``windows``: the maintenance windows in force (looked up when not given)."""
    from tocsin.alerts import links

    memo = session.info.get(_DESCRIBE_MEMO) if windows is None else None
    loaded = memo.get(incident.id) if memo is not None else None
    if loaded is None:
        # An incident this declaration made has no roles or alerts yet, and names only
        # its declarer: nothing to read.
        fresh: Mapping[int, Named] | None = memo.get(("fresh", incident.id)) if memo else None
        if fresh is not None:
            roles, people = [], fresh
        else:
            roles = await _roles(session, incident)
            people = await auth.users_by_id(session, _people_of(incident, roles))
        if windows is None:
            windows = await maintenance_now(session, clock=clock)
        alerts = (
            links.of_new_incident(incident, windows)
            if fresh is not None
            else await links.of_incident(session, incident, windows)
        )
        if memo is not None:
            memo[incident.id] = (roles, people, alerts)
    else:
        roles, people, alerts = loaded
    version = await policies.get_version(session, incident.policy_version_id)
    fields = _fields(incident, roles, version, people, alerts, at or clock.now())
    if not detail:
        return schemas.IncidentOut(**fields)
    items = memo.get(("checklist", incident.id)) if memo is not None else None
    if items is None:
        items = await checklist(session, incident)
    return schemas.IncidentDetailOut(
        **fields,
        role_history=[_holder(r, people) for r in roles],
        checklists=[schemas.ChecklistItemOut.model_validate(i) for i in items],
    )


def _people_of(incident: Incident, roles: Sequence[IncidentRole]) -> list[int]:
    """The users an incident's description names: role holders, declarer, acknowledger."""
    named = (incident.declared_by_id, incident.acknowledged_by_id)
    return [r.user_id for r in roles] + [i for i in named if i]


class Named(Protocol):
    """Who a description names: a user row, or the actor declaring (no read needed)."""

    @property
    def email(self) -> str: ...

    @property
    def name(self) -> str: ...


def _holder(row: IncidentRole, people: Mapping[int, Named]) -> schemas.RoleHolderOut:
    user = people[row.user_id]
    return schemas.RoleHolderOut(
        role=row.role,
        email=user.email,
        name=user.name,
        assumed_at=row.assumed_at,
        relieved_at=row.relieved_at,
    )


def _fields(
    incident: Incident,
    roles: Sequence[IncidentRole],
    version: PolicyVersion,
    people: Mapping[int, Named],
    alerts: tuple[int, list[MaintenanceWindowOut]],
    at: datetime,
) -> dict[str, Any]:
    """What :func:`describe` shows, from rows already loaded (no I/O)."""
    policy = policies.policy_of(version)

    def email(user_id: int | None) -> str | None:
        return people[user_id].email if user_id is not None and user_id in people else None

    severity = policy.severity(incident.severity)
    return {
        "id": incident.ref,
        "title": incident.title,
        "summary": incident.summary,
        "severity": incident.severity,
        "severity_name": severity.name if severity else incident.severity,
        "type": incident.type,
        "status": incident.status,
        "restricted": incident.restricted,
        "components": list(incident.components),
        "impact": schemas.Impact(
            users_affected=incident.users_affected,
            users_affected_pct=incident.users_affected_pct,
            business_impact=incident.business_impact,
        ),
        "policy_version": version.version,
        "declared_by": email(incident.declared_by_id),
        "acknowledged_by": email(incident.acknowledged_by_id),
        "started_at": incident.started_at,
        "service": incident.service,
        "team": incident.team,
        "detected_at": incident.detected_at,
        "declared_at": incident.declared_at,
        "acknowledged_at": incident.acknowledged_at,
        "identified_at": incident.identified_at,
        "mitigated_at": incident.mitigated_at,
        "resolved_at": incident.resolved_at,
        "closed_at": incident.closed_at,
        "roles": [_holder(r, people) for r in roles if r.relieved_at is None],
        "sla": stage_clock.sla_states(incident, roles, at),
        "alert_count": alerts[0],
        "maintenance": alerts[1],
    }


async def describe_many(
    session: AsyncSession,
    incidents: Sequence[Incident],
    *,
    clock: Clock,
    windows: Sequence[MaintenanceWindowOut] | None = None,
) -> list[schemas.IncidentOut]:
    """Many incidents as :func:`describe` shows them (without detail), in a fixed number
    of queries however many there are (an incident list)."""
    from tocsin.alerts import links

    if not incidents:
        return []
    ids = [i.id for i in incidents]
    roles: dict[int, list[IncidentRole]] = {i: [] for i in ids}
    query = select(IncidentRole).where(IncidentRole.incident_id.in_(ids)).order_by(IncidentRole.id)
    for row in (await session.scalars(query)).all():
        roles[row.incident_id].append(row)
    wanted = {i.policy_version_id for i in incidents}
    versions = {
        v.id: v
        for v in (
            await session.scalars(select(PolicyVersion).where(PolicyVersion.id.in_(wanted)))
        ).all()
    }
    people = await auth.users_by_id(
        session, [u for i in incidents for u in _people_of(i, roles[i.id])]
    )
    if windows is None:
        windows = await maintenance_now(session, clock=clock)
    alerts = await links.of_incidents(session, incidents, windows)
    now = clock.now()
    return [
        schemas.IncidentOut(
            **_fields(i, roles[i.id], versions[i.policy_version_id], people, alerts[i.id], now)
        )
        for i in incidents
    ]


# --- writing ----------------------------------------------------------------------------


def _severity(policy: Policy, key: str) -> Severity:
    severity = policy.severity(key)
    if severity is None:
        known = ", ".join(s.key for s in policy.severities)
        raise InvalidInput(
            f"unknown severity {key!r} (known: {known})",
            details={"field": "severity", "value": key},
        )
    return severity


def _check_type(policy: Policy, key: str | None) -> bool:
    """Validate an incident type; returns whether it is restricted."""
    if key is None:
        return False
    itype = policy.incident_type(key)
    if itype is None:
        known = ", ".join(t.key for t in policy.incident_types) or "none defined"
        raise InvalidInput(
            f"unknown incident type {key!r} (known: {known})",
            details={"field": "type", "value": key},
        )
    return itype.restricted


def _check_ladder(policy: Policy, key: str | None) -> None:
    if key is not None and policy.ladder(key) is None:
        known = ", ".join(ladder.key for ladder in policy.escalation) or "none defined"
        raise InvalidInput(
            f"unknown escalation ladder {key!r} (known: {known})",
            details={"field": "escalation", "value": key},
        )


def _check_started(started: datetime | None, detected: datetime) -> None:
    if started is not None and started > detected:
        raise InvalidInput(
            "started_at (when the impact began) lies after detected_at",
            details={"field": "started_at", "detected_at": detected.isoformat()},
        )


def _check_components(policy: Policy, keys: Sequence[str]) -> list[str]:
    known = {c.key for c in policy.components}
    unknown = sorted(set(keys) - known)
    if unknown:
        raise InvalidInput(
            f"unknown component(s) {', '.join(unknown)} (known: {', '.join(sorted(known)) or 'none defined'})",
            details={"field": "components", "unknown": unknown},
        )
    return list(dict.fromkeys(keys))


async def _add_participant(
    session: AsyncSession, incident: Incident, user_id: int | None, *, clock: Clock
) -> None:
    if user_id is None:
        return
    exists = await session.get(IncidentParticipant, (incident.id, user_id))
    if exists is None:
        session.add(
            IncidentParticipant(incident_id=incident.id, user_id=user_id, added_at=clock.now())
        )
        await session.flush()


async def join_paged(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    handles: Sequence[str],
    *,
    clock: Clock,
) -> None:
    """Whoever the escalation engine pages takes part in the incident: they see it, also
    when it is restricted, and may acknowledge it (:func:`_was_paged`)."""
    for handle in handles:
        person = policy.person(handle)
        user = await auth.user_by_email(session, person.email) if person is not None else None
        if user is not None:
            await _add_participant(session, incident, user.id, clock=clock)


async def _instantiate_checklists(
    session: AsyncSession, incident: Incident, policy: Policy, *, present: set[str] | None = None
) -> int:
    """Add the checklists that apply and are not on the incident yet (``present``, looked
    up unless given); returns how many."""
    if present is None:
        query = select(ChecklistItem.checklist).where(ChecklistItem.incident_id == incident.id)
        present = set(await session.scalars(query.distinct()))
    added = 0
    items: list[ChecklistItem] = []
    for spec in policy.checklists_for(incident.severity, incident.type):
        if spec.key in present:
            continue
        for position, text in enumerate(spec.items, start=1):
            items.append(
                ChecklistItem(
                    incident_id=incident.id,
                    checklist=spec.key,
                    checklist_name=spec.name,
                    phase=spec.phase,
                    position=position,
                    text=text,
                )
            )
        added += 1
    session.add_all(items)
    await session.flush()
    memo = session.info.get(_DESCRIBE_MEMO)
    if memo is not None and not present:  # a new incident: these are all its items
        memo[("checklist", incident.id)] = items
    return added


async def declare(
    session: AsyncSession, actor: Actor, data: schemas.DeclareIn, *, clock: Clock
) -> Incident:
    """Declare an incident: everything it starts is written in this transaction, under a
    provisional reference; the day's number is taken last (``incidents/numbering.py``)."""
    with numbering.Provisional(session) as provisional:
        incident, day = await _declare(session, actor, data, provisional.ref, clock=clock)
        incident.ref = await provisional.assign(day)
    return incident


async def declare_described(
    session: AsyncSession, actor: Actor, data: schemas.DeclareIn, *, clock: Clock
) -> tuple[Incident, schemas.IncidentDetailOut]:
    """Declare, and describe the incident for the answer before its number is taken: the
    day's counter row stays locked from then until commit, so every read that can run
    before it does."""
    session.info[_DESCRIBE_MEMO] = {}
    try:
        with numbering.Provisional(session) as provisional:
            incident, day = await _declare(session, actor, data, provisional.ref, clock=clock)
            shown = await describe(session, incident, clock=clock, detail=True)
            incident.ref = await provisional.assign(day)
    finally:
        session.info.pop(_DESCRIBE_MEMO, None)
    assert isinstance(shown, schemas.IncidentDetailOut)
    return incident, shown.model_copy(update={"id": incident.ref})


async def _declare(
    session: AsyncSession, actor: Actor, data: schemas.DeclareIn, ref: str, *, clock: Clock
) -> tuple[Incident, str]:
    version, policy = await policies.current(session)
    require(policy, actor, "declare")
    severity = _severity(policy, data.severity)
    restricted = _check_type(policy, data.type)
    components = _check_components(policy, data.components)
    _check_ladder(policy, data.escalation)
    now = clock.now()
    detected = data.detected_at or now
    if detected > now:
        raise InvalidInput("detected_at lies in the future", details={"field": "detected_at"})
    _check_started(data.started_at, detected)
    day = now.astimezone(ZoneInfo(policy.organization.timezone)).date().isoformat()
    incident = Incident(
        ref=ref,
        title=data.title,
        summary=data.summary,
        severity=severity.key,
        type=data.type,
        status="investigating",
        restricted=restricted,
        policy_version_id=version.id,
        components=components,
        users_affected=data.impact.users_affected,
        users_affected_pct=data.impact.users_affected_pct,
        business_impact=data.impact.business_impact,
        declared_by_id=actor.user_id,
        detected_at=detected,
        declared_at=now,
        started_at=data.started_at,
        service=data.service or (components[0] if components else None),
        team=data.team,
        sla_due={},
        ladder_key=data.escalation,
    )
    stage_clock.refresh_due(incident, policy, [])
    session.add(incident)
    await session.flush()
    memo = session.info.get(_DESCRIBE_MEMO)
    if memo is not None:  # declare_described: roles and alerts come later, if ever
        memo[("fresh", incident.id)] = {} if actor.user_id is None else {actor.user_id: actor}
    if actor.user_id is not None:  # a new incident has no participants to look up
        session.add(
            IncidentParticipant(incident_id=incident.id, user_id=actor.user_id, added_at=now)
        )
    await _log(
        session,
        actor,
        incident,
        "declared",
        f"Declared {incident.ref} ({severity.key} {severity.name}): {incident.title}",
        clock=clock,
        after={
            "title": incident.title,
            "severity": incident.severity,
            "type": incident.type,
            "status": incident.status,
            "detected_at": detected.isoformat(),
            "components": components,
            "policy_version": version.version,
        },
    )
    if await _instantiate_checklists(session, incident, policy, present=set()):
        await _log(
            session,
            actor,
            incident,
            "checklists",
            "Checklists added from the policy",
            clock=clock,
            audited=False,
        )
    await _escalation_sync(session, incident, clock=clock, fresh=True)
    return incident, day


class _Change(NamedTuple):
    incident: Incident
    #: The policy version the incident started under (SLA targets, checklists).
    policy: Policy
    roles: list[IncidentRole]
    #: The current policy (permissions, role definitions).
    current: Policy


async def _for_change(session: AsyncSession, actor: Actor, ref: str, permission: str) -> _Change:
    """Load an incident for a write and check the permission (standing + incident roles;
    being paged for the incident grants ``acknowledge`` on it)."""
    incident = await get(session, actor, ref)
    _, current = await policies.current(session)
    roles = await _roles(session, incident)
    own = await incident_policy(session, incident)
    held = [r.role for r in roles if r.user_id == actor.user_id and r.relieved_at is None]
    if not (
        permission == "acknowledge"
        and not allowed(current, actor, permission, held)
        and await _was_paged(session, incident, actor, (current, own))
    ):
        require(current, actor, permission, held)
    return _Change(incident, own, roles, current)


async def _was_paged(
    session: AsyncSession, incident: Incident, actor: Actor, policies_: Sequence[Policy]
) -> bool:
    """Whether the escalation engine paged ``actor`` for ``incident`` (a ``page`` event on
    its timeline names them). Whoever is paged may acknowledge what they were paged for,
    whatever their roles, as in every pager: else the page's own link would be refused."""
    handles = {p.handle for policy in policies_ if (p := policy.person(actor.email)) is not None}
    if not handles:
        return False
    pages = await session.scalars(
        select(IncidentEvent.data).where(
            IncidentEvent.incident_id == incident.id, IncidentEvent.kind == "page"
        )
    )
    return any(
        handles & set(data.get("after", {}).get("effect", {}).get("resolved_to", []))
        for data in pages
    )


async def _escalation_sync(
    session: AsyncSession, incident: Incident, *, clock: Clock, fresh: bool = False
) -> None:
    """Escalation, SLA and cadence timers and comms routes follow every change, in the
    same transaction; ``fresh`` in the one that declared the incident."""
    from tocsin.comms import routing  # comms reads incidents (its context): imported late

    await escalation.sync(session, incident, clock=clock, fresh=fresh)
    policy = await incident_policy(session, incident)
    await routing.sync(session, policy, incident, clock=clock, fresh=fresh)


async def _comms_event(
    session: AsyncSession,
    incident: Incident,
    event: str,
    *,
    clock: Clock,
    update: dict[str, str] | None = None,
) -> None:
    """Comms routes ``on: update`` / ``severity_changed`` / ``mitigation_proposed`` fire on
    each such change."""
    from tocsin.comms import routing

    policy = await incident_policy(session, incident)
    await routing.fire_event(session, policy, incident, event, clock=clock, update=update)


async def incident_policy(session: AsyncSession, incident: Incident) -> Policy:
    """The policy version the incident started under (parsed once per process)."""
    return await policies.policy_by_id(session, incident.policy_version_id)


async def acknowledge(
    session: AsyncSession, actor: Actor, ref: str, *, clock: Clock, via: str | None = None
) -> Incident:
    """Acknowledge; ``via`` is the door it came through (``link``, ``sms``, ``api``,
    ``cli``), recorded on the timeline event."""
    incident, policy, roles, _ = await _for_change(session, actor, ref, "acknowledge")
    if incident.acknowledged_at is not None:
        return incident  # acknowledging twice changes nothing, as in every pager
    await _acknowledge(session, actor, incident, policy, roles, clock=clock, implied=False, via=via)
    await _escalation_sync(session, incident, clock=clock)
    return incident


async def _acknowledge(
    session: AsyncSession,
    actor: Actor,
    incident: Incident,
    policy: Policy,
    roles: Sequence[IncidentRole],
    *,
    clock: Clock,
    implied: bool,
    via: str | None = None,
) -> None:
    incident.acknowledged_at = clock.now()
    incident.acknowledged_by_id = actor.user_id
    stage_clock.refresh_due(incident, policy, roles)
    how = " (implied by a status change)" if implied else (f" via {via}" if via else "")
    after = {"acknowledged_at": incident.acknowledged_at.isoformat()}
    if via:
        after["via"] = via
    await _log(
        session,
        actor,
        incident,
        "acknowledged",
        f"Acknowledged by {actor.name}{how}",
        clock=clock,
        after=after,
    )


async def set_status(
    session: AsyncSession, actor: Actor, ref: str, status: str, *, clock: Clock, note: str = ""
) -> Incident:
    incident, policy, roles, _ = await _for_change(session, actor, ref, "update-status")
    current = incident.status
    if status not in STATUSES:
        raise InvalidInput(
            f"unknown status {status!r} (known: {', '.join(STATUSES)})",
            details={"field": "status", "value": status},
        )
    if not can_move(current, status):
        allowed = sorted(TRANSITIONS[current])  # type: ignore[index]
        raise Conflict(
            f"{incident.ref} is {current!r} and cannot move to {status!r}"
            + (f" (allowed: {', '.join(allowed)})" if allowed else " (closed is final)"),
            code="invalid_transition",
            details={"current": current, "requested": status, "allowed": allowed},
        )
    now = clock.now()
    if incident.acknowledged_at is None and status != "investigating":
        await _acknowledge(session, actor, incident, policy, roles, clock=clock, implied=True)
    reopened = current == "resolved" and status == "investigating"
    if reopened:
        incident.resolved_at = None
        incident.mitigated_at = None
    if (
        status in ("identified", "monitoring", "resolved", "closed")
        and incident.identified_at is None
    ):
        incident.identified_at = now
    if status in ("monitoring", "resolved", "closed") and incident.mitigated_at is None:
        incident.mitigated_at = now
    if status == "resolved":
        incident.resolved_at = now
    if status == "closed":
        incident.closed_at = now
    incident.status = status
    stage_clock.refresh_due(incident, policy, roles)
    kind = "reopened" if reopened else "status"
    summary = f"Reopened ({current} → {status})" if reopened else f"Status {current} → {status}"
    if note:
        summary += f": {note}"
    await _log(
        session,
        actor,
        incident,
        kind,
        summary,
        clock=clock,
        before={"status": current},
        after={"status": status, "note": note} if note else {"status": status},
    )
    await _escalation_sync(session, incident, clock=clock)
    if status == "resolved":
        from tocsin.postmortems import service as postmortems  # it reads incidents: late

        await postmortems.on_resolved(session, actor, incident, clock=clock)
    return incident


async def change_severity(
    session: AsyncSession,
    actor: Actor,
    ref: str,
    severity_key: str,
    *,
    clock: Clock,
    reason: str = "",
) -> Incident:
    incident, policy, roles, _ = await _for_change(session, actor, ref, "change-severity")
    new = _severity(policy, severity_key)
    old = incident.severity
    if new.key == old:
        return incident
    direction = (
        "Escalated" if policy.severity_rank(new.key) < policy.severity_rank(old) else "De-escalated"
    )
    incident.severity = new.key
    stage_clock.refresh_due(incident, policy, roles)
    summary = f"{direction} {old} → {new.key}" + (f": {reason}" if reason else "")
    await _log(
        session,
        actor,
        incident,
        "severity",
        summary,
        clock=clock,
        before={"severity": old},
        after={"severity": new.key, "reason": reason},
    )
    if await _instantiate_checklists(session, incident, policy):
        await _log(
            session,
            actor,
            incident,
            "checklists",
            f"Checklists for {new.key} added",
            clock=clock,
            audited=False,
        )
    await _escalation_sync(session, incident, clock=clock)
    await _comms_event(session, incident, "severity_changed", clock=clock)
    return incident


async def update(
    session: AsyncSession, actor: Actor, ref: str, data: schemas.UpdateIn, *, clock: Clock
) -> Incident:
    incident, policy, _, _ = await _for_change(session, actor, ref, "edit-incident")
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    def change(field: str, value: Any) -> None:
        if getattr(incident, field) != value:
            before[field], after[field] = getattr(incident, field), value
            setattr(incident, field, value)

    if data.title is not None:
        change("title", data.title.strip())
    if data.summary is not None:
        change("summary", data.summary)
    if data.components is not None:
        change("components", _check_components(policy, data.components))
    if data.impact is not None:
        change("users_affected", data.impact.users_affected)
        change("users_affected_pct", data.impact.users_affected_pct)
        change("business_impact", data.impact.business_impact)
    given = data.model_fields_set
    if "started_at" in given:
        _check_started(data.started_at, incident.detected_at)
        change("started_at", data.started_at)
    for field in ("service", "team"):
        if field in given:
            change(field, getattr(data, field))
    type_changed = "type" in given and data.type != incident.type
    if type_changed:
        restricted = _check_type(policy, data.type)
        change("type", data.type)
        change("restricted", restricted)
    if not after:
        return incident
    await _log(
        session,
        actor,
        incident,
        "updated",
        "Updated " + ", ".join(sorted(after)),
        clock=clock,
        before=_plain(before),
        after=_plain(after),
    )
    if type_changed and await _instantiate_checklists(session, incident, policy):
        await _log(
            session,
            actor,
            incident,
            "checklists",
            f"Checklists for type {incident.type} added",
            clock=clock,
            audited=False,
        )
    await _escalation_sync(session, incident, clock=clock)
    return incident


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Values as the timeline's JSON keeps them (times in ISO text)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


async def assign_role(
    session: AsyncSession, actor: Actor, ref: str, role_key: str, email: str, *, clock: Clock
) -> Incident:
    incident, policy, roles, current = await _for_change(session, actor, ref, "assign-roles")
    role = current.role(role_key)
    if role is None:
        known = ", ".join(r.key for r in current.roles) or "none defined"
        raise InvalidInput(
            f"unknown role {role_key!r} (known: {known})",
            details={"field": "role", "value": role_key},
        )
    user = await auth.get_user(session, email)
    active = [r for r in roles if r.role == role.key and r.relieved_at is None]
    if any(r.user_id == user.id for r in active):
        return incident
    now = clock.now()
    if role.exclusive:
        for row in active:
            await _relieve(session, actor, incident, row, clock=clock, handover=True)
    row = IncidentRole(
        incident_id=incident.id,
        role=role.key,
        user_id=user.id,
        exclusive=role.exclusive,
        assumed_at=now,
        assigned_by=actor.label,
    )
    session.add(row)
    incident_ref = incident.ref  # readable after a failed flush expires the session
    try:
        await session.flush()
    except IntegrityError as exc:  # the one-holder index: a concurrent assignment won
        raise Conflict(
            f"{role.key} of {incident_ref} was just assigned by someone else; reload and try again",
            code="role_taken",
            details={"role": role.key},
        ) from exc
    await _add_participant(session, incident, user.id, clock=clock)
    stage_clock.refresh_due(incident, policy, [*roles, row])
    await _log(
        session,
        actor,
        incident,
        "role_assigned",
        f"{user.name} is now {role.name}",
        clock=clock,
        after={"role": role.key, "user": user.email},
    )
    await _escalation_sync(session, incident, clock=clock)
    return incident


async def _relieve(
    session: AsyncSession,
    actor: Actor,
    incident: Incident,
    row: IncidentRole,
    *,
    clock: Clock,
    handover: bool = False,
) -> None:
    row.relieved_at = clock.now()
    await session.flush()
    user = await session.get(User, row.user_id)
    name = user.name if user else str(row.user_id)
    why = " (handover)" if handover else ""
    await _log(
        session,
        actor,
        incident,
        "role_relieved",
        f"{name} relieved as {row.role}{why}",
        clock=clock,
        before={"role": row.role, "user": user.email if user else None},
    )


async def relieve_role(
    session: AsyncSession, actor: Actor, ref: str, role_key: str, email: str | None, *, clock: Clock
) -> Incident:
    incident, _, roles, _ = await _for_change(session, actor, ref, "assign-roles")
    active = [r for r in roles if r.role == role_key and r.relieved_at is None]
    if email is not None:
        user = await auth.get_user(session, email)
        active = [r for r in active if r.user_id == user.id]
    if not active:
        raise NotFound(
            f"nobody holds {role_key!r} on {incident.ref}" + (f" as {email}" if email else ""),
            details={"role": role_key},
        )
    if len(active) > 1:
        raise InvalidInput(
            f"several people hold {role_key!r}; name one with an e-mail", details={"field": "email"}
        )
    await _relieve(session, actor, incident, active[0], clock=clock)
    await _escalation_sync(session, incident, clock=clock)
    return incident


async def add_note(
    session: AsyncSession, actor: Actor, ref: str, text: str, *, clock: Clock
) -> IncidentEvent:
    return await _text_event(session, actor, ref, "note", text, clock=clock)


async def post_update(
    session: AsyncSession, actor: Actor, ref: str, text: str, *, clock: Clock
) -> IncidentEvent:
    """A stakeholder status update: restarts the severity's update-cadence clock."""
    return await _text_event(session, actor, ref, "update", text, clock=clock)


async def _text_event(
    session: AsyncSession, actor: Actor, ref: str, kind: str, text: str, *, clock: Clock
) -> IncidentEvent:
    incident, _, _, _ = await _for_change(session, actor, ref, "add-note")
    if not text.strip():
        raise InvalidInput(
            f"a{'n' if kind == 'update' else ''} {kind} needs text", details={"field": "text"}
        )
    body = text.strip()
    event = await _log(session, actor, incident, kind, body, clock=clock, after={"text": body})
    if kind == "update":
        await _escalation_sync(session, incident, clock=clock)
        await _comms_event(session, incident, "update", clock=clock, update={"progress": body})
    return event


async def propose_mitigation(
    session: AsyncSession, actor: Actor, ref: str, data: schemas.MitigationIn, *, clock: Clock
) -> IncidentEvent:
    """Propose a mitigation for the incident commander to approve: a
    ``mitigation_proposed`` timeline event (needs ``add-note``, like an update), and the
    comms routes ``on: mitigation_proposed`` fire with its fields as ``update.*``."""
    incident, _, _, _ = await _for_change(session, actor, ref, "add-note")
    if incident.status not in OPEN_STATUSES:
        raise Conflict(
            f"{incident.ref} is {incident.status}: there is nothing left to mitigate",
            code="incident_not_open",
            details={"status": incident.status},
        )
    proposal = {key: value for key, value in data.model_dump().items() if value}
    summary = f"Mitigation proposed: {data.action}" + (f" (risk {data.risk})" if data.risk else "")
    event = await _log(
        session, actor, incident, "mitigation_proposed", summary, clock=clock, after=proposal
    )
    await _comms_event(session, incident, "mitigation_proposed", clock=clock, update=proposal)
    return event


async def approve_mitigation(
    session: AsyncSession, actor: Actor, ref: str, proposal_id: int, *, clock: Clock
) -> IncidentEvent:
    """Approve a proposed mitigation (seed 004: "Incident Commander approval obtained"): a
    ``mitigation_approved`` timeline event naming the proposal. Needs ``approve-rollback``
    (the commander's, as the seeds' matrices give it), on an open incident; a proposal is
    approved once."""
    incident, _, _, _ = await _for_change(session, actor, ref, APPROVE_PERMISSION)
    if incident.status not in OPEN_STATUSES:
        raise Conflict(
            f"{incident.ref} is {incident.status}: there is nothing left to mitigate",
            code="incident_not_open",
            details={"status": incident.status},
        )
    events = await _children(session, IncidentEvent, incident)
    proposal = next(
        (e for e in events if e.id == proposal_id and e.kind == "mitigation_proposed"), None
    )
    if proposal is None:
        raise NotFound(
            f"{incident.ref} has no mitigation proposal {proposal_id}",
            details={"field": "proposal", "proposal": proposal_id},
        )
    if any(e.kind == "mitigation_approved" and approved_of(e) == proposal_id for e in events):
        raise Conflict(
            f"mitigation proposal {proposal_id} is approved already",
            code="mitigation_approved",
            details={"field": "proposal", "proposal": proposal_id},
        )
    action = str(proposal.data.get("after", {}).get("action", ""))
    return await _log(
        session,
        actor,
        incident,
        "mitigation_approved",
        f"Mitigation approved: {action}",
        clock=clock,
        after={"proposal": proposal_id, "action": action},
    )


def approved_of(event: IncidentEvent) -> int | None:
    """The proposal a ``mitigation_approved`` event approves."""
    value = event.data.get("after", {}).get("proposal")
    return value if isinstance(value, int) else None


async def set_checked(
    session: AsyncSession, actor: Actor, ref: str, item_id: int, checked: bool, *, clock: Clock
) -> ChecklistItem:
    incident, _, _, _ = await _for_change(session, actor, ref, "check-items")
    item = await session.scalar(
        select(ChecklistItem).where(
            ChecklistItem.id == item_id, ChecklistItem.incident_id == incident.id
        )
    )
    if item is None:
        raise NotFound(f"{incident.ref} has no checklist item {item_id}", details={"item": item_id})
    if (item.checked_at is not None) == checked:
        return item
    item.checked_at = clock.now() if checked else None
    item.checked_by = actor.label if checked else None
    verb = "Checked" if checked else "Unchecked"
    await _log(
        session,
        actor,
        incident,
        "checklist",
        f"{verb} [{item.checklist_name}] {item.text}",
        clock=clock,
        after={"item": item.id, "checked": checked},
    )
    return item


async def add_participant(
    session: AsyncSession, actor: Actor, ref: str, email: str, *, clock: Clock
) -> Incident:
    """Let someone see a restricted incident (needs ``assign-roles``)."""
    incident, _, _, _ = await _for_change(session, actor, ref, "assign-roles")
    user = await auth.get_user(session, email)
    await _add_participant(session, incident, user.id, clock=clock)
    await _log(
        session,
        actor,
        incident,
        "participant",
        f"{user.name} added as participant",
        clock=clock,
        after={"user": user.email},
    )
    return incident
