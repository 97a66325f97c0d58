"""The post-incident jobs: a follow-up deadline's reminder and overdue notice, and an
action item's reminder before its due date and its overdue notice.

Each is idempotent: it acts only if what it was planned for still holds (the incident
resolved at the same moment, the item still open with the same due date) and only once
(a mark per incident and key). What it tells people is a timeline event with its
messages in the outbox (``escalation/effects.emit``), in the job's transaction.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.escalation.effects import emit, once
from tocsin.escalation.handlers import responsible
from tocsin.escalation.targets import resolve
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.jobs.models import Job
from tocsin.jobs.registry import handler
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy
from tocsin.policy.spans import format_timedelta
from tocsin.postmortems import actions, deadlines, service
from tocsin.postmortems.models import OPEN_ACTION_STATUSES, ActionItem


def _local(policy: Policy, moment_iso: str) -> str:
    moment = datetime.fromisoformat(moment_iso)
    return moment.astimezone(ZoneInfo(policy.organization.timezone)).strftime("%Y-%m-%d %H:%M %Z")


async def _tell(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    kind: str,
    refs: list[str],
    reason: str,
    *,
    clock: Clock,
) -> None:
    """Tell each target; with none, whoever answered for the incident."""
    if not refs:
        who, people = await responsible(session, policy, incident)
        await emit(session, policy, incident, kind, who, people, reason, clock=clock)
        return
    for ref in refs:
        people = await resolve(session, policy, incident, ref, clock.now())
        await emit(session, policy, incident, kind, ref, people, reason, clock=clock)


@handler(service.DEADLINE_JOB)
async def deadline(session: AsyncSession, job: Job, clock: Clock) -> None:
    payload = job.payload
    incident = await session.get(Incident, payload["incident"])
    if (
        incident is None
        or incident.resolved_at is None
        or incident.resolved_at.isoformat() != payload["anchor"]
    ):
        return  # reopened (and perhaps resolved again: a newer job covers that)
    own = await incidents.incident_policy(session, incident)
    severity = own.severity(incident.severity)
    if severity is None:
        return
    planned = next(
        (
            p
            for p in deadlines.plan(severity, incident.resolved_at, own.organization.calendar())
            if p.key == payload["deadline"]
        ),
        None,
    )
    if planned is None:
        return
    if deadlines.met(planned.done_when, await service.progress(session, incident)):
        return
    phase = payload["phase"]
    if not await once(
        session, incident, f"postmortem:{planned.key}:{phase}:{payload['anchor']}", clock=clock
    ):
        return
    policy = await policies.current_policy(session)
    due = _local(policy, planned.due_at.isoformat())
    if phase == "remind":
        left = format_timedelta(planned.due_at - clock.now())
        reason = f"{planned.name} due {due} ({left} left)"
        await _tell(
            session, policy, incident, "reminder", list(planned.remind), reason, clock=clock
        )
        return
    reason = f"{planned.name} overdue (was due {due})"
    await _tell(session, policy, incident, "reminder", list(planned.remind), reason, clock=clock)
    for ref in planned.escalate_to:
        people = await resolve(session, policy, incident, ref, clock.now())
        await emit(session, policy, incident, "escalate", ref, people, reason, clock=clock)


@handler(actions.ACTION_JOB)
async def action_item(session: AsyncSession, job: Job, clock: Clock) -> None:
    payload = job.payload
    item = await session.get(ActionItem, payload["item"])
    if (
        item is None
        or item.status not in OPEN_ACTION_STATUSES
        or item.due_at is None
        or item.due_at.isoformat() != payload["due"]
    ):
        return  # closed, or its due date moved (a newer job covers that)
    incident = await session.get(Incident, item.incident_id)
    assert incident is not None
    phase = payload["phase"]
    if not await once(session, incident, f"action:{item.id}:{phase}:{payload['due']}", clock=clock):
        return
    policy = await policies.current_policy(session)
    due = _local(policy, payload["due"])
    what = f"action item #{item.number} {item.title!r}"
    if phase == "remind":
        reason = f"{what} is due {due}"
        await _tell(
            session, policy, incident, "reminder", [f"user:{item.owner}"], reason, clock=clock
        )
        return
    reason = f"{what} is overdue (was due {due})"
    refs = [f"user:{item.owner}"]
    await _tell(session, policy, incident, "reminder", refs, reason, clock=clock)
    for ref in policy.postmortems.action_items.escalate_to:
        people = await resolve(session, policy, incident, ref, clock.now())
        await emit(session, policy, incident, "escalate", ref, people, reason, clock=clock)
