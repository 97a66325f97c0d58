"""Status page operations: components, public incidents and their updates, scheduled
maintenance, and drafting a public update from an internal incident.

Publishing needs the policy's ``update-status-page`` permission. A public incident has its
own wording: it links to an internal incident (never a restricted one) but takes nothing
from it unless a publisher drafts from it and reviews the draft. Every change that alters
what the public sees bumps the page's version (:func:`bump`), writes an audit row and,
where it changes a component's status, a history row, all in the caller's transaction.
Subscribers hear of it through the notification outbox (:mod:`tocsin.statuspage.subscribers`).
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit import service as audit
from tocsin.auth.actor import ENGINE, Actor
from tocsin.auth.permissions import allowed, require
from tocsin.clock import Clock
from tocsin.comms import render
from tocsin.comms.context import incident_context
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.timeline import log
from tocsin.jobs import service as jobs
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy
from tocsin.statuspage import public, rules, schemas, subscribers
from tocsin.statuspage.models import (
    ComponentChange,
    PublicIncident,
    PublicUpdate,
    StatusComponent,
    StatusPageState,
)

PERMISSION = "update-status-page"
#: Who may have subscribers told of a change (seed 004: not every publisher may).
NOTIFY_PERMISSION = "send-subscriber-email"
#: The job that moves a maintenance on at its start and end.
MAINTENANCE_JOB = "statuspage.maintenance"
#: What an automatic maintenance step says when the publisher wrote nothing.
AUTO_BODY = {
    "en": {
        "in_progress": "Scheduled maintenance is currently in progress. We will provide "
        "updates as necessary.",
        "completed": "The scheduled maintenance has been completed.",
    },
    "nl": {
        "in_progress": "Het geplande onderhoud is nu bezig. We houden je op de hoogte.",
        "completed": "Het geplande onderhoud is afgerond.",
    },
}
#: The comms template that drafts a public update of each status.
DRAFT_TEMPLATES = {
    "investigating": "status-investigating",
    "identified": "status-identified",
    "monitoring": "status-monitoring",
    "resolved": "status-resolved",
}
#: What a draft proposes for the incident's components (the publisher reviews it).
DRAFT_COMPONENT_STATUS = {
    "investigating": "partial_outage",
    "identified": "partial_outage",
    "monitoring": "degraded_performance",
    "resolved": "operational",
}
#: Fields of the internal incident a draft never sees: people and internal links.
_PRIVATE_FIELDS = ("declared_by", "acknowledged_by", "commander", "url")
_ALPHABET = string.ascii_lowercase + string.digits
_SLUG = re.compile(r"[^a-z0-9]+")


def new_public_id() -> str:
    """12 random lower-case letters and digits, like Statuspage's ids."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


def group_key(name: str) -> str:
    """A group's public id, from its name."""
    return "group-" + (_SLUG.sub("-", name.lower()).strip("-") or "unnamed")[:60]


# --- the page's version ------------------------------------------------------------------


async def bump(session: AsyncSession, *, clock: Clock) -> None:
    """Count one public change: the page's version goes up in this transaction (one
    upsert on the counter row, so concurrent changes each count)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(StatusPageState).values(id=1, version=1, updated_at=clock.now())
    statement = statement.on_conflict_do_update(
        index_elements=[StatusPageState.id],
        set_={"version": StatusPageState.version + 1, "updated_at": clock.now()},
    )
    await session.execute(statement)


async def state(session: AsyncSession) -> StatusPageState | None:
    """The counter row as stored now (:func:`bump` writes it without the ORM)."""
    row: StatusPageState | None = await session.scalar(
        select(StatusPageState)
        .where(StatusPageState.id == 1)
        .execution_options(populate_existing=True)
    )
    return row


# --- components --------------------------------------------------------------------------


async def _components(session: AsyncSession, *, removed: bool = False) -> list[StatusComponent]:
    query = select(StatusComponent).order_by(StatusComponent.position, StatusComponent.id)
    if not removed:
        query = query.where(StatusComponent.removed_at.is_(None))
    return list((await session.scalars(query)).all())


async def _record(
    session: AsyncSession,
    component: StatusComponent,
    new: str,
    *,
    actor: Actor,
    clock: Clock,
    incident: PublicIncident | None = None,
) -> dict[str, Any]:
    """Set a component's status (a history row when it changes); its Statuspage
    ``affected_components`` entry."""
    old = component.status
    entry = {"code": component.key, "name": component.name, "old_status": old, "new_status": new}
    if old != new:
        now = clock.now()
        component.status = new
        component.updated_at = now
        session.add(
            ComponentChange(
                component_id=component.id,
                at=now,
                old_status=old,
                new_status=new,
                incident_id=incident.id if incident is not None else None,
                actor=actor.label,
            )
        )
    return entry


def _new_component(
    key: str, name: str, *, now: datetime, source: str, position: int, **extra: Any
) -> StatusComponent:
    return StatusComponent(
        key=key,
        name=name,
        status="operational",
        source=source,
        position=position,
        created_at=now,
        updated_at=now,
        **extra,
    )


async def _first_status(session: AsyncSession, component: StatusComponent, actor: Actor) -> None:
    """The history's first row: from here on the component exists (for uptime)."""
    await session.flush()
    session.add(
        ComponentChange(
            component_id=component.id,
            at=component.created_at,
            old_status=None,
            new_status=component.status,
            actor=actor.label,
        )
    )


async def _group(
    session: AsyncSession,
    name: str,
    existing: dict[str, StatusComponent],
    *,
    now: datetime,
    source: str,
    position: int,
    actor: Actor,
) -> StatusComponent:
    key = group_key(name)
    group = existing.get(key)
    if group is None:
        group = _new_component(key, name, now=now, source=source, position=position, is_group=True)
        session.add(group)
        await _first_status(session, group, actor)
        existing[key] = group
    else:
        group.removed_at = None
        group.name = name
    return group


async def sync_components(
    session: AsyncSession, policy: Policy, policy_version_id: int, *, clock: Clock
) -> None:
    """Bring the policy's ``components:`` (and their groups) into the table: new ones
    appear operational, changed names, order and groups follow, ones the policy dropped
    leave the page (their history stays). Components made through the API are left
    alone. A new policy may also rename or move the page: its version goes up."""
    now = clock.now()
    rows = {c.key: c for c in await _components(session, removed=True)}
    wanted: set[str] = set()
    for position, spec in enumerate(policy.components, start=1):
        group = None
        if spec.group:
            group = await _group(
                session,
                spec.group,
                rows,
                now=now,
                source="policy",
                position=position,
                actor=ENGINE,
            )
            if group.key not in wanted:  # a group stands where its first component does
                group.position, group.source = position, "policy"
            wanted.add(group.key)
        row = rows.get(spec.key)
        if row is None:
            row = _new_component(spec.key, spec.name, now=now, source="policy", position=position)
            session.add(row)
            await _first_status(session, row, ENGINE)
            rows[spec.key] = row
        row.name, row.description, row.source = spec.name, spec.description, "policy"
        row.group_id = group.id if group is not None else None
        row.position, row.removed_at = position, None
        wanted.add(spec.key)
    for row in rows.values():
        if row.source == "policy" and row.key not in wanted and row.removed_at is None:
            row.removed_at = now
    await session.flush()
    await bump(session, clock=clock)
    await session.execute(
        update(StatusPageState)
        .where(StatusPageState.id == 1)
        .values(policy_version_id=policy_version_id)
    )


async def _policy(session: AsyncSession, *, clock: Clock) -> Policy:
    """The current policy, with its components brought into the table if they are not
    yet (a database that had its policy before the status page existed)."""
    version, policy = await policies.current(session)
    row = await state(session)
    if row is None or row.policy_version_id != version.id:
        await sync_components(session, policy, version.id, clock=clock)
    return policy


async def _allowed(session: AsyncSession, actor: Actor, *, clock: Clock) -> Policy:
    policy = await _policy(session, clock=clock)
    require(policy, actor, PERMISSION)
    return policy


def _deliver(policy: Policy, actor: Actor, wanted: bool | None) -> bool:
    """Whether subscribers hear of a change: by default when the publisher may have them
    told (``send-subscriber-email``); asked for, only by one who may."""
    if wanted is None:
        return allowed(policy, actor, NOTIFY_PERMISSION)
    if wanted:
        require(policy, actor, NOTIFY_PERMISSION)
    return wanted


def component_out(row: StatusComponent, groups: Mapping[int, str]) -> schemas.ComponentOut:
    return schemas.ComponentOut(
        key=row.key,
        name=row.name,
        description=row.description,
        status=row.status,
        group=groups.get(row.group_id) if row.group_id is not None else None,
        is_group=row.is_group,
        source=row.source,
        position=row.position,
        updated_at=row.updated_at,
    )


async def list_components(session: AsyncSession) -> list[schemas.ComponentOut]:
    """Every component on the page (anyone signed in)."""
    rows = await _components(session)
    groups = {c.id: c.key for c in rows if c.is_group}
    return [component_out(c, groups) for c in rows]


async def _component(session: AsyncSession, key: str) -> StatusComponent:
    row: StatusComponent | None = await session.scalar(
        select(StatusComponent).where(
            StatusComponent.key == key, StatusComponent.removed_at.is_(None)
        )
    )
    if row is None:
        known = ", ".join(c.key for c in await _components(session) if not c.is_group)
        raise NotFound(
            f"no component {key!r} on the status page (known: {known or 'none'})",
            details={"component": key},
        )
    return row


async def create_component(
    session: AsyncSession, actor: Actor, data: schemas.ComponentIn, *, clock: Clock
) -> schemas.ComponentOut:
    """A component of the API's own (the policy's come from the policy)."""
    await _allowed(session, actor, clock=clock)
    taken = await session.scalar(select(StatusComponent).where(StatusComponent.key == data.key))
    if taken is not None and taken.removed_at is None:
        raise Conflict(f"component {data.key!r} exists already", details={"component": data.key})
    now = clock.now()
    rows = {c.key: c for c in await _components(session, removed=True)}
    position = max((c.position for c in rows.values()), default=0) + 1
    group = None
    if data.group:
        group = await _group(
            session, data.group, rows, now=now, source="api", position=position, actor=actor
        )
    if taken is not None:
        row = taken
        row.removed_at, row.source, row.position = None, "api", position
    else:
        row = _new_component(data.key, data.name, now=now, source="api", position=position)
        session.add(row)
        await _first_status(session, row, actor)
    row.name, row.description = data.name, data.description
    row.only_show_if_degraded = data.only_show_if_degraded
    row.group_id = group.id if group is not None else None
    await session.flush()
    await audit.record(
        session,
        actor,
        "statuspage.component.create",
        "component",
        row.key,
        clock=clock,
        after=data.model_dump(),
    )
    await bump(session, clock=clock)
    return component_out(row, {group.id: group.key} if group is not None else {})


async def remove_component(session: AsyncSession, actor: Actor, key: str, *, clock: Clock) -> None:
    """Take an API-made component off the page; its history stays."""
    await _allowed(session, actor, clock=clock)
    row = await _component(session, key)
    if row.source == "policy":
        raise Conflict(
            f"component {key!r} comes from the policy: remove it there",
            details={"component": key},
        )
    row.removed_at = clock.now()
    await audit.record(session, actor, "statuspage.component.remove", "component", key, clock=clock)
    await bump(session, clock=clock)


async def set_component_status(
    session: AsyncSession, actor: Actor, key: str, status: str, *, clock: Clock
) -> schemas.ComponentOut:
    """Set one component's status by hand (outside any incident)."""
    await _allowed(session, actor, clock=clock)
    row = await _component(session, key)
    if row.is_group:
        raise InvalidInput(
            f"{key!r} is a group: its status is the worst of its components'",
            details={"component": key},
        )
    change = await _record(session, row, status, actor=actor, clock=clock)
    await audit.record(
        session,
        actor,
        "statuspage.component.status",
        "component",
        key,
        clock=clock,
        before={"status": change["old_status"]},
        after={"status": status},
    )
    await bump(session, clock=clock)
    group = await session.get(StatusComponent, row.group_id) if row.group_id else None
    return component_out(row, {group.id: group.key} if group is not None else {})


async def component_history(
    session: AsyncSession, key: str, *, limit: int = 200
) -> list[schemas.ComponentChangeOut]:
    row = await _component(session, key)
    query = (
        select(ComponentChange, PublicIncident.public_id)
        .outerjoin(PublicIncident, PublicIncident.id == ComponentChange.incident_id)
        .where(ComponentChange.component_id == row.id)
        .order_by(ComponentChange.at.desc(), ComponentChange.id.desc())
        .limit(limit)
    )
    return [
        schemas.ComponentChangeOut(
            at=change.at,
            old_status=change.old_status,
            new_status=change.new_status,
            incident=public_id,
            actor=change.actor,
        )
        for change, public_id in (await session.execute(query)).all()
    ]


# --- public incidents --------------------------------------------------------------------


async def _leaves(session: AsyncSession, keys: Sequence[str]) -> list[StatusComponent]:
    """The components named, each once; a group or an unknown key is an error."""
    out = []
    for key in dict.fromkeys(keys):
        row = await _component(session, key)
        if row.is_group:
            raise InvalidInput(
                f"{key!r} is a group: name its components", details={"component": key}
            )
        out.append(row)
    return out


async def _linked(session: AsyncSession, actor: Actor, ref: str) -> Incident:
    """The internal incident a public one reports on; a restricted one never."""
    incident = await incidents.get(session, actor, ref)
    if incident.restricted:
        raise Forbidden(
            f"{incident.ref} is restricted: a restricted incident is never linked to the "
            "public status page",
            code="restricted_incident",
            details={"incident": incident.ref},
        )
    return incident


async def _get(
    session: AsyncSession, public_id: str, kind: str, *, lock: bool = False
) -> PublicIncident:
    """A public incident or maintenance; ``lock``: held until the transaction ends, so two
    updates of one incident follow each other."""
    query = select(PublicIncident).where(
        PublicIncident.public_id == public_id.strip().lower(), PublicIncident.kind == kind
    )
    if lock:
        query = query.with_for_update()
    row: PublicIncident | None = await session.scalar(query)
    if row is None:
        what = "public incident" if kind == "incident" else "scheduled maintenance"
        raise NotFound(f"no {what} {public_id!r}", details={"id": public_id})
    return row


async def _post(
    session: AsyncSession,
    actor: Actor,
    row: PublicIncident,
    status: str,
    body: str,
    changes: Mapping[str, str],
    *,
    clock: Clock,
    deliver: bool,
) -> PublicUpdate:
    """One update: component changes, the incident's own fields, version, audit."""
    now = clock.now()
    affected = [
        await _record(
            session, component, changes[component.key], actor=actor, clock=clock, incident=row
        )
        for component in await _leaves(session, list(changes))
    ]
    for key in changes:
        if key not in row.components:
            row.components = [*row.components, key]
    row.status = status
    row.updated_at = now
    if status == "monitoring" and row.monitoring_at is None:
        row.monitoring_at = now
    if status in ("resolved", "postmortem", "completed") and row.resolved_at is None:
        row.resolved_at = now
    if row.kind == "incident" and row.impact_override is None:
        row.impact = rules.worst_impact([row.impact, rules.impact_of(changes.values())])
    posted = PublicUpdate(
        public_id=new_public_id(),
        incident_id=row.id,
        status=status,
        body=body,
        created_at=now,
        display_at=now,
        affected_components=affected,
        deliver_notifications=deliver,
        posted_by=actor.label,
    )
    session.add(posted)
    await session.flush()
    await audit.record(
        session,
        actor,
        f"statuspage.{row.kind}.update",
        row.kind,
        row.public_id,
        clock=clock,
        after={"status": status, "components": dict(changes)},
    )
    await bump(session, clock=clock)
    return posted


async def _others_claim(session: AsyncSession, row: PublicIncident) -> set[str]:
    """Components another unresolved incident or active maintenance still affects."""
    query = select(PublicIncident.components).where(
        PublicIncident.id != row.id,
        PublicIncident.status.in_((*rules.UNRESOLVED, *rules.ACTIVE_MAINTENANCE)),
    )
    return {key for keys in (await session.scalars(query)).all() for key in keys}


async def _restore(
    session: AsyncSession, row: PublicIncident, given: Mapping[str, str]
) -> dict[str, str]:
    """At the end of an incident or maintenance: its components not named otherwise go
    back to operational, unless another open incident or maintenance still has them."""
    held = await _others_claim(session, row)
    return {
        **{key: "operational" for key in row.components if key not in held},
        **given,
    }


async def _on_timeline(
    session: AsyncSession,
    actor: Actor,
    incident: Incident,
    row: PublicIncident,
    what: str,
    *,
    clock: Clock,
) -> None:
    """What was published, on the internal incident's timeline (audited as the change)."""
    await log(
        session,
        actor,
        incident,
        "statuspage",
        f"{what}: {row.name} ({row.status})",
        clock=clock,
        after={"public_incident": row.public_id, "status": row.status},
        audited=False,
    )


async def publish(
    session: AsyncSession, actor: Actor, data: schemas.PublishIn, *, clock: Clock
) -> PublicIncident:
    """A new public incident and its first update (permission ``update-status-page``)."""
    policy = await _allowed(session, actor, clock=clock)
    deliver = _deliver(policy, actor, data.deliver_notifications)
    linked = await _linked(session, actor, data.incident) if data.incident else None
    if data.status in ("resolved", "postmortem"):
        raise InvalidInput(
            "a new public incident starts investigating, identified or monitoring",
            details={"field": "status", "value": data.status},
        )
    await _leaves(session, list(data.components))
    now = clock.now()
    row = PublicIncident(
        public_id=new_public_id(),
        kind="incident",
        incident_id=linked.id if linked is not None else None,
        name=data.name,
        status=data.status,
        impact=data.impact or "none",
        impact_override=data.impact,
        components=list(data.components),
        created_at=now,
        updated_at=now,
        started_at=now,
        created_by=actor.label,
    )
    session.add(row)
    await session.flush()
    update_row = await _post(
        session,
        actor,
        row,
        data.status,
        data.body,
        data.components,
        clock=clock,
        deliver=deliver,
    )
    if linked is not None:
        await _on_timeline(session, actor, linked, row, "Published on the status page", clock=clock)
    if deliver:
        await subscribers.announce_later(session, update_row, "incident.created", clock=clock)
    return row


async def post_update(
    session: AsyncSession, actor: Actor, public_id: str, data: schemas.UpdateIn, *, clock: Clock
) -> PublicIncident:
    """A new update of a public incident. Resolving it puts its components back to
    operational unless the update says otherwise (or another incident still has them)."""
    policy = await _allowed(session, actor, clock=clock)
    deliver = _deliver(policy, actor, data.deliver_notifications)
    row = await _get(session, public_id, "incident", lock=True)
    if row.status == "postmortem" or (row.status == "resolved" and data.status in rules.UNRESOLVED):
        raise Conflict(
            f"public incident {row.public_id} is {row.status}: it takes a postmortem only",
            code="incident_resolved",
            details={"status": row.status},
        )
    if data.status == "postmortem" and row.status != "resolved":
        raise Conflict(
            "a postmortem follows the resolution: resolve the incident first",
            code="not_resolved",
            details={"status": row.status},
        )
    changes: Mapping[str, str] = data.components
    if data.status == "resolved" and row.status != "resolved":
        changes = await _restore(session, row, data.components)
    if data.impact is not None:
        row.impact = row.impact_override = data.impact
    was = row.status
    update_row = await _post(
        session,
        actor,
        row,
        data.status,
        data.body,
        changes,
        clock=clock,
        deliver=deliver,
    )
    if row.incident_id is not None:
        linked = await session.get(Incident, row.incident_id)
        if linked is not None:
            await _on_timeline(session, actor, linked, row, "Status page update", clock=clock)
    if deliver:
        resolving = data.status == "resolved" and was != "resolved"
        event = "incident.resolved" if resolving else "incident.updated"
        await subscribers.announce_later(session, update_row, event, clock=clock)
    return row


# --- scheduled maintenance ---------------------------------------------------------------


def _job_key(row: PublicIncident, step: str) -> str:
    return f"statuspage:maintenance:{row.id}:{step}"


async def _plan(session: AsyncSession, row: PublicIncident, *, clock: Clock) -> None:
    """The timers that move an automatic maintenance on at its start and end."""
    for step, due in (("start", row.scheduled_for), ("end", row.scheduled_until)):
        assert due is not None
        await jobs.schedule(
            session,
            MAINTENANCE_JOB,
            {"maintenance": row.id, "step": step},
            clock=clock,
            due_at=due,
            dedup_key=_job_key(row, step),
        )


async def schedule_maintenance(
    session: AsyncSession, actor: Actor, data: schemas.MaintenanceIn, *, clock: Clock
) -> PublicIncident:
    """Announce maintenance; with ``auto_transition`` it starts and completes by itself
    (subscribers hear of that if they were to hear of the announcement)."""
    policy = await _allowed(session, actor, clock=clock)
    deliver = _deliver(policy, actor, data.deliver_notifications)
    await _leaves(session, data.components)
    now = clock.now()
    row = PublicIncident(
        public_id=new_public_id(),
        kind="maintenance",
        name=data.name,
        status="scheduled",
        impact="maintenance",
        components=list(dict.fromkeys(data.components)),
        created_at=now,
        updated_at=now,
        started_at=now,
        scheduled_for=data.scheduled_for,
        scheduled_until=data.scheduled_until,
        auto_transition=data.auto_transition,
        created_by=actor.label,
    )
    session.add(row)
    await session.flush()
    await _post(
        session,
        actor,
        row,
        "scheduled",
        data.body,
        {},
        clock=clock,
        deliver=deliver,
    )
    if data.auto_transition:
        await _plan(session, row, clock=clock)
    return row


async def _locale(session: AsyncSession) -> str:
    policy = await policies.current_policy(session)
    return policy.status_page.locale or policy.organization.locale


async def move_maintenance(
    session: AsyncSession,
    actor: Actor,
    public_id: str,
    data: schemas.MaintenanceUpdateIn,
    *,
    clock: Clock,
) -> PublicIncident:
    """Move a maintenance on: in progress (its components under maintenance), verifying,
    completed (back to operational). A hand-made step cancels the timer it replaces."""
    policy = await _allowed(session, actor, clock=clock)
    deliver = _deliver(policy, actor, data.deliver_notifications)
    row = await _get(session, public_id, "maintenance", lock=True)
    return await _move(session, actor, row, data.status, data.body, clock=clock, deliver=deliver)


async def _move(
    session: AsyncSession,
    actor: Actor,
    row: PublicIncident,
    status: str,
    body: str | None,
    *,
    clock: Clock,
    deliver: bool,
) -> PublicIncident:
    order = rules.MAINTENANCE_STATUSES
    if row.status == "completed" or order.index(status) < order.index(row.status):
        raise Conflict(
            f"maintenance {row.public_id} is {row.status}; it cannot become {status}",
            code="maintenance_order",
            details={"status": row.status, "wanted": status},
        )
    changes: Mapping[str, str] = {}
    if status in rules.ACTIVE_MAINTENANCE and row.status == "scheduled":
        changes = {key: "under_maintenance" for key in row.components}
    elif status == "completed":
        changes = await _restore(session, row, {})
    if body is None:
        body = AUTO_BODY[await _locale(session)].get(status) or AUTO_BODY["en"].get(status, status)
    was = row.status
    update_row = await _post(
        session, actor, row, status, body, changes, clock=clock, deliver=deliver
    )
    if was == "scheduled" and status != "scheduled":
        await jobs.cancel(session, _job_key(row, "start"), clock=clock)
    if status == "completed":
        await jobs.cancel(session, _job_key(row, "end"), clock=clock)
    if deliver and was != status:
        if was == "scheduled":
            await subscribers.announce_later(
                session, update_row, "maintenance.started", clock=clock
            )
        if status == "completed":
            await subscribers.announce_later(
                session, update_row, "maintenance.completed", clock=clock
            )
    return row


async def advance_maintenance(
    session: AsyncSession, maintenance_id: int, step: str, *, clock: Clock
) -> None:
    """The timer's work: start or complete a maintenance whose time has come (a no-op
    when someone moved it on by hand already)."""
    row = await session.get(PublicIncident, maintenance_id, with_for_update=True)
    if row is None or row.kind != "maintenance" or not row.auto_transition:
        return
    # Subscribers hear of it if they heard of its announcement.
    announced = await session.scalar(
        select(PublicUpdate.deliver_notifications)
        .where(PublicUpdate.incident_id == row.id)
        .order_by(PublicUpdate.created_at, PublicUpdate.id)
        .limit(1)
    )
    deliver = bool(announced)
    if step == "start" and row.status == "scheduled":
        await _move(session, ENGINE, row, "in_progress", None, clock=clock, deliver=deliver)
    elif step == "end" and row.status != "completed":
        await _move(session, ENGINE, row, "completed", None, clock=clock, deliver=deliver)


# --- reading (publishers) ----------------------------------------------------------------


async def describe(session: AsyncSession, row: PublicIncident) -> schemas.PublicIncidentOut:
    """A public incident as its publishers see it: with the internal link."""
    ref = None
    if row.incident_id is not None:
        ref = await session.scalar(select(Incident.ref).where(Incident.id == row.incident_id))
    updates = (await public.updates_of(session, [row.id]))[row.id]
    return schemas.PublicIncidentOut(
        id=row.public_id,
        kind=row.kind,
        name=row.name,
        status=row.status,
        impact=row.impact,
        components=list(row.components),
        created_at=row.created_at,
        started_at=row.started_at,
        resolved_at=row.resolved_at,
        scheduled_for=row.scheduled_for,
        scheduled_until=row.scheduled_until,
        auto_transition=row.auto_transition,
        incident=ref,
        created_by=row.created_by,
        updates=[
            schemas.UpdateOut(
                id=u.public_id,
                status=u.status,
                body=u.body,
                created_at=u.created_at,
                affected_components=list(u.affected_components),
                posted_by=u.posted_by,
            )
            for u in updates
        ],
    )


async def get_public(
    session: AsyncSession, public_id: str, kind: str = "incident"
) -> schemas.PublicIncidentOut:
    return await describe(session, await _get(session, public_id, kind))


async def list_public(
    session: AsyncSession, *, kind: str = "incident", open_only: bool = False, limit: int = 50
) -> list[schemas.PublicIncidentOut]:
    query = select(PublicIncident).where(PublicIncident.kind == kind)
    if open_only:
        query = query.where(
            PublicIncident.status.in_(
                rules.UNRESOLVED if kind == "incident" else ("scheduled", *rules.ACTIVE_MAINTENANCE)
            )
        )
    query = query.order_by(PublicIncident.created_at.desc(), PublicIncident.id.desc()).limit(limit)
    return [await describe(session, row) for row in (await session.scalars(query)).all()]


async def open_for_incident(session: AsyncSession, incident: Incident) -> PublicIncident | None:
    """The newest unresolved public incident reporting on ``incident`` (the one a new
    update from the incident room goes to), if any."""
    query = (
        select(PublicIncident)
        .where(
            PublicIncident.kind == "incident",
            PublicIncident.incident_id == incident.id,
            PublicIncident.status.in_(rules.UNRESOLVED),
        )
        .order_by(PublicIncident.id.desc())
        .limit(1)
    )
    row: PublicIncident | None = await session.scalar(query)
    return row


# --- drafting ----------------------------------------------------------------------------


async def draft(
    session: AsyncSession, actor: Actor, data: schemas.DraftIn, *, clock: Clock
) -> schemas.DraftOut:
    """A public update drafted from an internal incident with the policy's status-page
    template for ``status`` (``status-investigating``, ...), for a person to review.

    The template sees the incident's public-safe fields only: no people, no internal
    link. Nothing is published or stored.
    """
    policy = await _allowed(session, actor, clock=clock)
    incident = await _linked(session, actor, data.incident)
    template = DRAFT_TEMPLATES.get(data.status)
    if template is None:
        raise InvalidInput(
            f"there is no template to draft a {data.status} update: write it yourself",
            details={"field": "status", "value": data.status},
        )
    locale = data.locale or policy.status_page.locale or policy.organization.locale
    context = await incident_context(session, policy, incident, clock=clock, update=data.fields)
    shown = context["incident"]
    for name in _PRIVATE_FIELDS:
        shown[name] = None
    shown["roles"] = {key: None for key in shown["roles"]}
    rendered = render.render(policy, template, context, locale=locale)
    keys = {c.key for c in await _components(session) if not c.is_group}
    status_of = DRAFT_COMPONENT_STATUS[data.status]
    return schemas.DraftOut(
        incident=incident.ref,
        status=data.status,
        template=template,
        locale=rendered.locale,
        name=incident.title,
        body=rendered.text,
        components={key: status_of for key in incident.components if key in keys},
    )
