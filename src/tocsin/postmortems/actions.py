"""Action items: follow-up tasks of an incident with an owner, a team, a priority and a
due date, tracked to done (or won't do); their reminders are jobs.

The owner is reminded ``postmortems.action_items.remind_before`` the due date, and told
(with ``escalate_to``) once it has passed; moving the due date moves both reminders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import Actor
from tocsin.clock import Clock
from tocsin.errors import InvalidInput, NotFound
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.timeline import log
from tocsin.jobs import service as jobs
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy
from tocsin.postmortems import document, schemas
from tocsin.postmortems.access import writable
from tocsin.postmortems.models import CLOSED_ACTION_STATUSES, OPEN_ACTION_STATUSES, ActionItem

ACTION_JOB = "postmortems.action_item"


async def items_of(session: AsyncSession, incident: Incident) -> list[ActionItem]:
    rows = await session.scalars(
        select(ActionItem).where(ActionItem.incident_id == incident.id).order_by(ActionItem.number)
    )
    return list(rows)


def _owner(policy: Policy, ref: str) -> str:
    person = policy.person(ref.strip().removeprefix("@"))
    if person is None:
        raise InvalidInput(
            f"unknown owner {ref!r}: not a person of the policy (handle or e-mail)",
            details={"field": "owner", "value": ref},
        )
    return person.handle


def _team(policy: Policy, key: str | None, owner: str) -> str | None:
    if key is None:
        person = policy.person(owner)
        return person.teams[0] if person and person.teams else None
    if policy.team(key) is None:
        known = ", ".join(t.key for t in policy.teams) or "none defined"
        raise InvalidInput(
            f"unknown team {key!r} (known: {known})", details={"field": "team", "value": key}
        )
    return key


def _priority(policy: Policy, value: str | None) -> str:
    known = policy.postmortems.action_items.priorities
    if value is None:
        return known[len(known) // 2]
    if value.lower() not in known:
        raise InvalidInput(
            f"unknown priority {value!r} (known: {', '.join(known)})",
            details={"field": "priority", "value": value},
        )
    return value.lower()


async def add(
    session: AsyncSession, actor: Actor, ref: str, data: schemas.ActionItemIn, *, clock: Clock
) -> ActionItem:
    incident, current = await writable(session, actor, ref, "add-note")
    owner = _owner(current, data.owner)
    now = clock.now()
    rules = current.postmortems.action_items
    due = _due(current, data.due_at, data.due_on)
    if due is None and rules.default_due is not None:
        due = current.organization.calendar().add(now, rules.default_due)
    number = await session.scalar(
        select(func.coalesce(func.max(ActionItem.number), 0)).where(
            ActionItem.incident_id == incident.id
        )
    )
    item = ActionItem(
        incident_id=incident.id,
        number=int(number or 0) + 1,
        title=document.one_line(data.title),
        description=data.description,
        status="open",
        owner=owner,
        team=_team(current, data.team, owner),
        priority=_priority(current, data.priority),
        url=data.url,
        due_at=due,
        created_at=now,
        updated_at=now,
        created_by=actor.label,
    )
    session.add(item)
    await session.flush()
    await log(
        session,
        actor,
        incident,
        "action_item",
        f"Action item #{item.number} for @{owner}: {item.title}",
        clock=clock,
        after=_item_view(item),
    )
    await _plan_item(session, current, item, clock=clock)
    return item


def _due(policy: Policy, at: datetime | None, day: date | None) -> datetime | None:
    """An instant as given, or the end of a business day (``due_on``) in the policy's zone."""
    if at is not None and day is not None:
        raise InvalidInput("give due_at or due_on, not both", details={"field": "due_on"})
    if day is None:
        return at
    closes = policy.organization.business_hours.end
    return datetime.combine(day, closes, ZoneInfo(policy.organization.timezone)).astimezone(UTC)


def _item_view(item: ActionItem) -> dict[str, Any]:
    return {
        "number": item.number,
        "title": item.title,
        "status": item.status,
        "owner": item.owner,
        "team": item.team,
        "priority": item.priority,
        "due_at": None if item.due_at is None else item.due_at.isoformat(),
        "url": item.url,
    }


async def _plan_item(
    session: AsyncSession, policy: Policy, item: ActionItem, *, clock: Clock
) -> None:
    """The owner's reminder before the due date and the overdue notice, as jobs; an item
    closed or without a due date has none (a pending job finds nothing to do)."""
    if item.due_at is None or item.status not in OPEN_ACTION_STATUSES:
        return
    before = policy.postmortems.action_items.remind_before
    moments = [("overdue", item.due_at)]
    if before is not None and before.time and item.due_at > clock.now():
        # Due sooner than the lead time: the reminder goes now. Already due: only the
        # overdue notice.
        moments.insert(0, ("remind", item.due_at - before.time))
    for phase, due in moments:
        await jobs.schedule(
            session,
            ACTION_JOB,
            {"item": item.id, "phase": phase, "due": item.due_at.isoformat()},
            clock=clock,
            due_at=max(due, clock.now()),
            dedup_key=f"action:{item.id}:{phase}",
        )


async def _item(session: AsyncSession, incident: Incident, number: int) -> ActionItem:
    item: ActionItem | None = await session.scalar(
        select(ActionItem).where(ActionItem.incident_id == incident.id, ActionItem.number == number)
    )
    if item is None:
        raise NotFound(
            f"{incident.ref} has no action item #{number}", details={"action_item": number}
        )
    return item


async def update(
    session: AsyncSession,
    actor: Actor,
    ref: str,
    number: int,
    data: schemas.ActionItemPatch,
    *,
    clock: Clock,
) -> ActionItem:
    incident, current = await writable(session, actor, ref, "add-note")
    item = await _item(session, incident, number)
    before = _item_view(item)
    given = data.model_fields_set
    if data.title is not None:
        item.title = document.one_line(data.title)
    if data.description is not None:
        item.description = data.description
    if data.owner is not None:
        item.owner = _owner(current, data.owner)
    if "team" in given:
        item.team = _team(current, data.team, item.owner)
    if data.priority is not None:
        item.priority = _priority(current, data.priority)
    if "due_at" in given or "due_on" in given:
        item.due_at = _due(current, data.due_at, data.due_on)
    if "url" in given:
        item.url = data.url
    if data.status is not None and data.status != item.status:
        item.status = data.status
        item.done_at = clock.now() if data.status in CLOSED_ACTION_STATUSES else None
    after = _item_view(item)
    if after == before:
        return item
    item.updated_at = clock.now()
    changed = sorted(k for k in after if after[k] != before[k])
    await log(
        session,
        actor,
        incident,
        "action_item",
        f"Action item #{item.number} {', '.join(changed)} changed"
        + (f": now {item.status}" if "status" in changed else ""),
        clock=clock,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    await _plan_item(session, current, item, clock=clock)
    return item


@dataclass(frozen=True)
class ItemRow:
    item: ActionItem
    incident: str
    overdue: bool


def row_of(item: ActionItem, ref: str, now: datetime) -> ItemRow:
    """The item with its incident's id and whether it is overdue at ``now``."""
    late = item.status in OPEN_ACTION_STATUSES and item.due_at is not None and item.due_at < now
    return ItemRow(item=item, incident=ref, overdue=late)


async def list_all(
    session: AsyncSession,
    actor: Actor,
    *,
    now: datetime,
    owner: str | None = None,
    team: str | None = None,
    ref: str | None = None,
    statuses: Sequence[str] = OPEN_ACTION_STATUSES,
    overdue_only: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[ItemRow], int]:
    """Action items across the incidents the actor may see: open ones by default,
    soonest due first (undated last)."""
    joined = select(ActionItem, Incident.ref).join(Incident, Incident.id == ActionItem.incident_id)
    query = incidents.visible(cast("Select[Any]", joined), actor)
    if statuses:
        query = query.where(ActionItem.status.in_(statuses))
    if owner:
        policy = await policies.current_policy(session)
        person = policy.person(owner.removeprefix("@"))
        query = query.where(ActionItem.owner == (person.handle if person else owner))
    if team:
        query = query.where(ActionItem.team == team)
    if ref:
        query = query.where(Incident.id == (await incidents.get(session, actor, ref)).id)
    if overdue_only:
        query = query.where(ActionItem.due_at < now, ActionItem.status.in_(OPEN_ACTION_STATUSES))
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = await session.execute(
        query.order_by(
            ActionItem.due_at.is_(None),
            ActionItem.due_at,
            ActionItem.incident_id,
            ActionItem.number,
        )
        .limit(limit)
        .offset(offset)
    )
    out = [row_of(item, incident_ref, now) for item, incident_ref in rows]
    return out, total


def item_out(row: ItemRow) -> schemas.ActionItemOut:
    item = row.item
    return schemas.ActionItemOut(
        id=item.id,
        incident=row.incident,
        number=item.number,
        title=item.title,
        description=item.description,
        status=item.status,
        owner=item.owner,
        team=item.team,
        priority=item.priority,
        url=item.url,
        due_at=item.due_at,
        done_at=item.done_at,
        created_at=item.created_at,
        overdue=row.overdue,
    )


def markdown(items: Sequence[ActionItem], style: str, zone: ZoneInfo) -> str:
    def due(item: ActionItem) -> str:
        return "" if item.due_at is None else f"{item.due_at.astimezone(zone):%Y-%m-%d}"

    if not items:
        return "[No action items yet: tocsin actions add]"
    if style == "list":
        return "\n".join(
            f"- [{'x' if i.status in CLOSED_ACTION_STATUSES else ' '}] #{i.number} {i.title}"
            f" - Owner: @{i.owner} - Due: {due(i) or '-'} - {i.priority} - {i.status}"
            for i in items
        )
    rows = [
        "| # | Action | Priority | Owner | Deadline | Status |",
        "|---|--------|----------|-------|----------|--------|",
    ]
    rows += [
        f"| {i.number} | {document.one_line(i.title).replace('|', '/')} | {i.priority} "
        f"| @{i.owner} | {due(i)} | {i.status} |"
        for i in items
    ]
    return "\n".join(rows)
