"""The engine's jobs: fire an escalation step, an SLA or role timer, a cadence reminder.

Each runs in its job's transaction and is idempotent: a step fires only by moving its
row from pending to fired; a reminder only by inserting its mark. A second run of the same
job (a worker died after the work but before the lease ended) changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import ENGINE
from tocsin.auth.models import User
from tocsin.clock import Clock
from tocsin.escalation import service
from tocsin.escalation.conditions import holds
from tocsin.escalation.effects import emit, once
from tocsin.escalation.models import EscalationStep
from tocsin.escalation.targets import handle_of, resolve
from tocsin.incidents import service as incidents
from tocsin.incidents import stage_clock
from tocsin.incidents.models import ChecklistItem, Incident, IncidentEvent, IncidentRole
from tocsin.incidents.timeline import log
from tocsin.jobs.models import Job
from tocsin.jobs.registry import handler
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy
from tocsin.policy.schema_escalation import Step
from tocsin.policy.spans import format_timedelta

REQUIRED_CHECKLIST = "escalation"


async def _open_incident(session: AsyncSession, incident_id: int) -> Incident | None:
    incident = await session.get(Incident, incident_id)
    if incident is None or incident.status in ("resolved", "closed"):
        return None
    return incident


@handler(service.STEP_JOB)
async def fire_step(session: AsyncSession, job: Job, clock: Clock) -> None:
    row = await session.get(EscalationStep, job.payload["step"])
    if row is None or row.status != "pending":
        return
    incident = await session.get(Incident, row.incident_id)
    assert incident is not None
    step = Step.model_validate(row.spec)
    if not holds(step.condition, incident):
        await service.sync(session, incident, clock=clock)  # cancels it, with the reason
        return
    reason = service.step_reason(row.ladder_key, row, step)
    won = await session.execute(
        update(EscalationStep)
        .where(EscalationStep.id == row.id, EscalationStep.status == "pending")
        .values(status="fired", settled_at=clock.now(), reason=reason)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return
    policy = await policies.current_policy(session)
    now = clock.now()
    marker = {"step": row.id, "due_at": row.due_at.isoformat()}
    if step.page is not None or step.notify is not None:
        kind = "page" if step.page is not None else "notify"
        for target in step.targets:
            people = await resolve(session, policy, incident, target, now)
            await emit(
                session, policy, incident, kind, target, people, reason, clock=clock, extra=marker
            )
    elif step.assign is not None:
        await _assign(session, policy, incident, step, reason, clock=clock)
    elif step.require is not None:
        await _require(session, policy, incident, step, reason, clock=clock)


async def _assign(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    step: Step,
    reason: str,
    *,
    clock: Clock,
) -> None:
    assert step.assign is not None
    role, target = step.assign.role, step.assign.to
    held = await session.scalar(
        select(func.count())
        .select_from(IncidentRole)
        .where(
            IncidentRole.incident_id == incident.id,
            IncidentRole.role == role,
            IncidentRole.relieved_at.is_(None),
        )
    )
    if held:
        await _note(session, incident, f"{role} already held; {reason} not needed", clock=clock)
        return
    people = await resolve(session, policy, incident, target, clock.now())
    person = policy.person(people[0]) if people else None
    user = (
        await session.scalar(select(User).where(User.email == person.email.lower()))
        if person
        else None
    )
    if user is None:
        await emit(
            session,
            policy,
            incident,
            "assign",
            target,
            [],
            f"nobody to assign as {role}; {reason}",
            clock=clock,
        )
        return
    await incidents.assign_role(session, ENGINE, incident.ref, role, user.email, clock=clock)
    await emit(
        session,
        policy,
        incident,
        "assign",
        target,
        [people[0]],
        f"{role}: {reason}",
        clock=clock,
        extra={"role": role},
    )


async def _require(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    step: Step,
    reason: str,
    *,
    clock: Clock,
) -> None:
    assert step.require is not None
    position = await session.scalar(
        select(func.max(ChecklistItem.position)).where(
            ChecklistItem.incident_id == incident.id, ChecklistItem.checklist == REQUIRED_CHECKLIST
        )
    )
    session.add(
        ChecklistItem(
            incident_id=incident.id,
            checklist=REQUIRED_CHECKLIST,
            checklist_name="Required by escalation",
            phase="response",
            position=(position or 0) + 1,
            text=step.require.task,
        )
    )
    target = f"role:{step.require.role}" if step.require.role else "channel:incident"
    people = await resolve(session, policy, incident, target, clock.now())
    await emit(
        session,
        policy,
        incident,
        "task",
        target,
        people,
        f"{step.require.task} ({reason})",
        clock=clock,
    )


async def _note(session: AsyncSession, incident: Incident, text: str, *, clock: Clock) -> None:
    await log(session, ENGINE, incident, "escalation", text, clock=clock, audited=False)


async def responsible(
    session: AsyncSession, policy: Policy, incident: Incident
) -> tuple[str, list[str]]:
    """Who answers for the incident right now: the commander (any exclusive role holder),
    else who acknowledged, else who was paged last, else who declared."""
    rows = await session.execute(
        select(IncidentRole.role, User.email)
        .join(User, User.id == IncidentRole.user_id)
        .where(
            IncidentRole.incident_id == incident.id,
            IncidentRole.exclusive.is_(True),
            IncidentRole.relieved_at.is_(None),
        )
        .order_by(IncidentRole.assumed_at)
    )
    holders = list(rows)
    if holders:
        role = holders[0][0]
        return f"role:{role}", [handle_of(policy, email) for r, email in holders if r == role]
    acknowledged = await _user_target(session, policy, incident.acknowledged_by_id)
    if acknowledged is not None:
        return acknowledged
    last_page = await session.scalar(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident.id, IncidentEvent.kind == "page")
        .order_by(IncidentEvent.id.desc())
        .limit(1)
    )
    if last_page is not None:
        effect = last_page.data.get("after", {}).get("effect", {})
        return str(effect.get("target")), list(effect.get("resolved_to", []))
    declared = await _user_target(session, policy, incident.declared_by_id)
    return declared or ("channel:incident", [])


async def _user_target(
    session: AsyncSession, policy: Policy, user_id: int | None
) -> tuple[str, list[str]] | None:
    """``("user:<handle>", [handle])`` for a user id, if there is that user."""
    user = await session.get(User, user_id) if user_id is not None else None
    if user is None:
        return None
    handle = handle_of(policy, user.email)
    return f"user:{handle}", [handle]


def _local(policy: Policy, moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(policy.organization.timezone)).strftime("%H:%M %Z")


@handler(service.SLA_JOB)
async def sla_timer(session: AsyncSession, job: Job, clock: Clock) -> None:
    payload = job.payload
    incident = await _open_incident(session, payload["incident"])
    target, phase, due_text = payload["target"], payload["phase"], payload["due"]
    if incident is None or incident.sla_due.get(target) != due_text:
        return  # resolved, or the due time moved and a newer job covers it
    roles = list(
        await session.scalars(select(IncidentRole).where(IncidentRole.incident_id == incident.id))
    )
    if stage_clock.reached(target, stage_clock.stage_stamps(incident, roles)) is not None:
        return
    if not await once(session, incident, f"sla:{target}:{phase}:{due_text}", clock=clock):
        return
    policy = await policies.current_policy(session)
    own = await policies.policy_by_id(session, incident.policy_version_id)
    due = datetime.fromisoformat(due_text)
    if phase == "warning":
        left = format_timedelta(max(due - clock.now(), timedelta(0)))
        who, people = await responsible(session, policy, incident)
        reason = f"{target} due at {_local(policy, due)} ({left} left)"
        await emit(session, policy, incident, "sla_warning", who, people, reason, clock=clock)
    elif phase == "breach":
        who, people = await responsible(session, policy, incident)
        reason = f"{target} target missed (was due at {_local(policy, due)})"
        await emit(session, policy, incident, "sla_breach", who, people, reason, clock=clock)
    else:
        await _role_timer(session, policy, own, incident, target, phase, due, clock=clock)


async def _role_timer(
    session: AsyncSession,
    policy: Policy,
    own: Policy,
    incident: Incident,
    target: str,
    phase: str,
    due: datetime,
    *,
    clock: Clock,
) -> None:
    role = target.removeprefix("role:")
    severity = own.severity(incident.severity)
    rule = next((r for r in (severity.required_roles if severity else []) if r.role == role), None)
    if rule is None:
        return
    within = f" within {rule.within}" if rule.within else ""
    if phase == "remind":
        reason = f"{role} must be assigned{within} (deadline {_local(policy, due)} passed)"
        refs = list(rule.remind)
        for ref in refs:
            people = await resolve(session, policy, incident, ref, clock.now())
            await emit(session, policy, incident, "reminder", ref, people, reason, clock=clock)
        if not refs:
            who, people = await responsible(session, policy, incident)
            await emit(session, policy, incident, "reminder", who, people, reason, clock=clock)
    else:
        reason = f"still no {role} since {_local(policy, due)}"
        for ref in rule.escalate_to:
            people = await resolve(session, policy, incident, ref, clock.now())
            await emit(session, policy, incident, "escalate", ref, people, reason, clock=clock)


@handler(service.CADENCE_JOB)
async def cadence(session: AsyncSession, job: Job, clock: Clock) -> None:
    incident = await _open_incident(session, job.payload["incident"])
    if incident is None:
        return
    own = await policies.policy_by_id(session, incident.policy_version_id)
    severity = own.severity(incident.severity)
    every = severity.update_every.time if severity and severity.update_every else None
    if every is None or every <= timedelta(0):
        return
    last = await service.last_update_at(session, incident)
    now = clock.now()
    missed = (now - last) // every
    if missed >= 1 and await once(
        session, incident, f"cadence:{last.isoformat()}:{missed}", clock=clock
    ):
        policy = await policies.current_policy(session)
        ago = format_timedelta(now - last)
        reason = f"status update due every {format_timedelta(every)}; last one {ago} ago"
        who, people = "", []
        for ref in policy.reminders.updates_to:
            people = await resolve(session, policy, incident, ref, now)
            if people:
                who = ref
                break
        if not people:
            who, people = await responsible(session, policy, incident)
        await emit(session, policy, incident, "reminder", who, people, reason, clock=clock)
    await service.reschedule_cadence(
        session, incident, last + (max(missed, 0) + 1) * every, clock=clock
    )
