"""Keep an incident's escalation and reminders in step with the incident.

``sync`` runs in the transaction of every incident change (and of every step that fires).
It starts escalation on the ladder for the incident's severity, snapshotting it; swaps
ladders when the severity changes, keeping the time already elapsed; cancels steps whose
condition no longer holds; stops everything on resolution; and moves the SLA, role and
update-cadence timers. Every timer is a job, so a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import ENGINE
from tocsin.clock import Clock
from tocsin.escalation.conditions import DESCRIBED, holds, why_not
from tocsin.escalation.models import Escalation, EscalationStep
from tocsin.incidents import stage_clock
from tocsin.incidents.models import Incident, IncidentEvent, IncidentRole
from tocsin.incidents.timeline import log
from tocsin.jobs import service as jobs
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy
from tocsin.policy.schema_escalation import Ladder, Step

STEP_JOB = "escalation.step"
SLA_JOB = "escalation.sla"
CADENCE_JOB = "escalation.cadence"
#: Timeline kinds that count as a posted status update.
UPDATE_KINDS = ("update", "status", "declared")


def _closed(incident: Incident) -> bool:
    return incident.status in ("resolved", "closed")


async def sync(
    session: AsyncSession, incident: Incident, *, clock: Clock, fresh: bool = False
) -> None:
    """Bring the incident's escalation and timers in line with its current state.

    ``fresh``: the incident was declared in this transaction, so it has no escalation,
    roles or timers yet and nothing needs looking up or cancelling (a declaration is the
    hot path of an alert storm)."""
    policy = await policies.policy_by_id(session, incident.policy_version_id)
    escalation = None if fresh else await session.get(Escalation, incident.id)
    if _closed(incident):
        if escalation is not None and escalation.status == "active":
            await _stop(session, incident, escalation, "incident resolved", clock=clock)
    else:
        await _follow_ladder(session, policy, incident, escalation, clock=clock, fresh=fresh)
        if not fresh:  # a new incident's conditions all hold: nothing is moot yet
            await _cancel_moot(session, incident, clock=clock)
    await _plan_sla(session, policy, incident, clock=clock, fresh=fresh)
    await _plan_cadence(session, policy, incident, clock=clock, fresh=fresh)


def _ladder(policy: Policy, incident: Incident) -> Ladder | None:
    """The ladder chosen at declaration, else the first for the severity and type."""
    chosen = policy.ladder(incident.ladder_key) if incident.ladder_key else None
    return chosen or policy.ladder_for(incident.severity, incident.type)


async def _follow_ladder(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    escalation: Escalation | None,
    *,
    clock: Clock,
    fresh: bool = False,
) -> None:
    ladder = _ladder(policy, incident)
    now = clock.now()
    if escalation is None:
        if ladder is None:
            return
        escalation = Escalation(
            incident_id=incident.id,
            ladder_key=ladder.key,
            ladder=ladder.model_dump(mode="json", by_alias=True, exclude_none=True),
            started_at=incident.declared_at,
            status="active",
        )
        session.add(escalation)
        await session.flush()
        planned = await _plan_steps(
            session, incident, ladder, escalation.started_at, clock=clock, fresh=fresh
        )
        await _note(
            session,
            incident,
            f"Escalation started on {_label(ladder)} ({planned} steps planned)",
            clock=clock,
            data={"ladder": ladder.key, "steps": planned},
        )
        return
    if escalation.status != "active":
        if ladder is None:
            return
        # Reopened: the ladder runs again from now.
        escalation.status, escalation.stopped_at, escalation.stop_reason = "active", None, None
        escalation.started_at = now
        await _switch(session, incident, escalation, ladder, "reopened", clock=clock)
        return
    if ladder is None:
        await _stop(
            session,
            incident,
            escalation,
            f"no escalation ladder for {incident.severity}",
            clock=clock,
        )
    elif ladder.key != escalation.ladder_key:
        await _switch(
            session,
            incident,
            escalation,
            ladder,
            f"severity changed to {incident.severity}",
            clock=clock,
        )


async def _switch(
    session: AsyncSession,
    incident: Incident,
    escalation: Escalation,
    ladder: Ladder,
    why: str,
    *,
    clock: Clock,
) -> None:
    """Replace the ladder: pending steps of the old one end, the new one counts from the
    original start (steps already due fire now, unless the same thing was already done)."""
    old = escalation.ladder_key
    cancelled = await _cancel_pending(session, incident, lambda _: True, why, clock=clock)
    escalation.ladder_key = ladder.key
    escalation.ladder = ladder.model_dump(mode="json", by_alias=True, exclude_none=True)
    planned = await _plan_steps(session, incident, ladder, escalation.started_at, clock=clock)
    await _note(
        session,
        incident,
        f"Escalation moved from ladder {old} to {_label(ladder)} ({why}): "
        f"{cancelled} pending steps ended, {planned} planned from the original start",
        clock=clock,
        data={"from": old, "to": ladder.key, "reason": why},
    )


async def _stop(
    session: AsyncSession, incident: Incident, escalation: Escalation, why: str, *, clock: Clock
) -> None:
    cancelled = await _cancel_pending(session, incident, lambda _: True, why, clock=clock)
    escalation.status, escalation.stopped_at, escalation.stop_reason = "stopped", clock.now(), why
    await _note(
        session,
        incident,
        f"Escalation stopped ({why})"
        + (f"; {cancelled} pending steps cancelled" if cancelled else ""),
        clock=clock,
        data={"reason": why},
    )


async def _plan_steps(
    session: AsyncSession,
    incident: Incident,
    ladder: Ladder,
    start: datetime,
    *,
    clock: Clock,
    fresh: bool = False,
) -> int:
    """Write every run of the ladder as pending steps, each with its job (``fresh``: the
    incident's first, nothing run before)."""
    now = clock.now()
    first, done = 0, set()
    if not fresh:
        first_cycle = await session.scalar(
            select(func.max(EscalationStep.cycle)).where(
                EscalationStep.incident_id == incident.id,
                EscalationStep.ladder_key == ladder.key,
            )
        )
        first = 0 if first_cycle is None else first_cycle + 1
        done = await _fired_signatures(session, incident)
    planned = 0
    for run in range(ladder.repeat + 1):
        base = start + run * ladder.cycle()
        for position, (step, offset) in enumerate(zip(ladder.steps, ladder.offsets(), strict=True)):
            due = base + offset
            row = EscalationStep(
                incident_id=incident.id,
                ladder_key=ladder.key,
                cycle=first + run,
                position=position,
                spec=step.model_dump(mode="json", by_alias=True, exclude_none=True),
                due_at=due,
                status="pending",
            )
            if due <= now and _signature(step) in done:
                row.status, row.settled_at = "skipped", now
                row.reason = "already done earlier in this incident"
                session.add(row)
                continue
            session.add(row)
            await session.flush()
            await jobs.enqueue(
                session,
                STEP_JOB,
                {"step": row.id},
                clock=clock,
                due_at=max(due, now),
                dedup_key=f"esc-step:{row.id}",
            )
            planned += 1
    await session.flush()
    return planned


def _signature(step: Step) -> tuple[str, tuple[str, ...]]:
    return step.action, tuple(sorted(step.targets))


async def _fired_signatures(
    session: AsyncSession, incident: Incident
) -> set[tuple[str, tuple[str, ...]]]:
    rows = await session.scalars(
        select(EscalationStep).where(
            EscalationStep.incident_id == incident.id, EscalationStep.status == "fired"
        )
    )
    return {_signature(Step.model_validate(row.spec)) for row in rows}


async def _cancel_moot(session: AsyncSession, incident: Incident, *, clock: Clock) -> None:
    """End the pending steps whose condition no longer holds (acknowledged, identified...)."""
    await _cancel_pending(
        session,
        incident,
        lambda step: not holds(step.condition, incident),
        None,
        clock=clock,
    )


async def _cancel_pending(
    session: AsyncSession,
    incident: Incident,
    applies: Any,
    why: str | None,
    *,
    clock: Clock,
) -> int:
    """Cancel pending steps for which ``applies(step)``; one timeline event lists them."""
    rows = await session.scalars(
        select(EscalationStep)
        .where(EscalationStep.incident_id == incident.id, EscalationStep.status == "pending")
        .order_by(EscalationStep.due_at, EscalationStep.id)
    )
    ended: list[dict[str, Any]] = []
    for row in rows:
        step = Step.model_validate(row.spec)
        if not applies(step):
            continue
        reason = why or why_not(step.condition, incident)
        row.status, row.settled_at, row.reason = "cancelled", clock.now(), reason
        await jobs.cancel(session, f"esc-step:{row.id}")
        ended.append(
            {
                "step": row.position + 1,
                "cycle": row.cycle,
                "action": step.action,
                "targets": step.targets,
                "due_at": row.due_at.isoformat(),
                "reason": reason,
            }
        )
    if ended:
        reasons = sorted({e["reason"] for e in ended})
        listed = "; ".join(
            f"step {e['step']} {e['action']} {', '.join(e['targets']) or '-'}" for e in ended
        )
        await log(
            session,
            ENGINE,
            incident,
            "escalation_cancelled",
            f"Escalation steps cancelled ({', '.join(reasons)}): {listed}",
            clock=clock,
            after={"steps": ended},
            audited=False,
        )
    await session.flush()
    return len(ended)


async def _note(
    session: AsyncSession, incident: Incident, summary: str, *, clock: Clock, data: dict[str, Any]
) -> None:
    await log(
        session, ENGINE, incident, "escalation", summary, clock=clock, after=data, audited=False
    )


def _label(ladder: Ladder) -> str:
    return f"{ladder.name} ({ladder.key})" if ladder.name else ladder.key


def step_reason(ladder_key: str, row: EscalationStep, step: Step) -> str:
    """``p0 escalation step 2: not acknowledged`` (with the repeat, if any)."""
    repeat = f", repeat {row.cycle}" if row.cycle else ""
    name = f" ({step.name})" if step.name else ""
    return f"{ladder_key} escalation step {row.position + 1}{name}{repeat}: {DESCRIBED[step.condition]}"


# --- SLA, role and cadence timers ----------------------------------------------------------


async def _roles(session: AsyncSession, incident: Incident) -> list[IncidentRole]:
    return list(
        await session.scalars(select(IncidentRole).where(IncidentRole.incident_id == incident.id))
    )


def sla_key(incident: Incident, target: str, phase: str) -> str:
    return f"sla:{incident.id}:{target}:{phase}"


async def _plan_sla(
    session: AsyncSession, policy: Policy, incident: Incident, *, clock: Clock, fresh: bool
) -> None:
    """A warning ahead of each open SLA due time and a breach check at it; for a required
    role, a reminder at its deadline and an escalation after it."""
    roles = [] if fresh else await _roles(session, incident)
    stamps = stage_clock.stage_stamps(incident, roles)
    severity = policy.severity(incident.severity)
    for target, due_text in incident.sla_due.items():
        phases = _sla_phases(policy, severity, target, due_text)
        live = not _closed(incident) and stage_clock.reached(target, stamps) is None
        for phase, due in phases.items():
            key = sla_key(incident, target, phase)
            if live and due is not None:
                payload = {
                    "incident": incident.id,
                    "target": target,
                    "phase": phase,
                    "due": due_text,
                }
                await jobs.schedule(
                    session, SLA_JOB, payload, clock=clock, due_at=due, dedup_key=key
                )
            elif not fresh:
                await jobs.cancel(session, key)


def _sla_phases(
    policy: Policy, severity: Any, target: str, due_text: str | None
) -> dict[str, datetime | None]:
    """When each phase of one target's timer is due (None: not applicable)."""
    due = None if due_text is None else datetime.fromisoformat(due_text)
    if not target.startswith("role:"):
        if due is None:
            return {"warning": None, "breach": None}
        length = _target_length(severity, target)
        ahead = policy.reminders.warn_ahead(length) if length else timedelta(0)
        return {"warning": due - ahead if ahead > timedelta(0) else None, "breach": due}
    rule = next(
        (r for r in (severity.required_roles if severity else []) if f"role:{r.role}" == target),
        None,
    )
    if due is None or rule is None:
        return {"remind": None, "escalate": None}
    after = rule.escalate_after or rule.within
    escalate = due + after.time if rule.escalate_to and after is not None else None
    return {"remind": due, "escalate": escalate}


def _target_length(severity: Any, target: str) -> timedelta | None:
    spec = getattr(severity.sla, target, None) if severity else None
    if spec is None or spec.business_hours or spec.within.business_days:
        return None  # business-time targets: warn by a share of clock time would mislead
    length: timedelta = spec.within.time
    return length


async def last_update_at(session: AsyncSession, incident: Incident) -> datetime:
    latest = await session.scalar(
        select(func.max(IncidentEvent.at)).where(
            IncidentEvent.incident_id == incident.id, IncidentEvent.kind.in_(UPDATE_KINDS)
        )
    )
    return latest or incident.declared_at


def cadence_key(incident: Incident) -> str:
    return f"cadence:{incident.id}"


async def _plan_cadence(
    session: AsyncSession, policy: Policy, incident: Incident, *, clock: Clock, fresh: bool
) -> None:
    severity = policy.severity(incident.severity)
    every = severity.update_every if severity else None
    if _closed(incident) or every is None or every.time <= timedelta(0):
        if not fresh:
            await jobs.cancel(session, cadence_key(incident))
        return
    last = incident.declared_at if fresh else await last_update_at(session, incident)
    due = last + every.time
    await reschedule_cadence(session, incident, due, clock=clock)


async def reschedule_cadence(
    session: AsyncSession, incident: Incident, due: datetime, *, clock: Clock
) -> None:
    await jobs.schedule(
        session,
        CADENCE_JOB,
        {"incident": incident.id},
        clock=clock,
        due_at=due,
        dedup_key=cadence_key(incident),
    )


async def state(
    session: AsyncSession, incident: Incident
) -> tuple[Escalation | None, list[EscalationStep]]:
    """The incident's escalation and all its steps, in due order."""
    escalation = await session.get(Escalation, incident.id)
    steps = await session.scalars(
        select(EscalationStep)
        .where(EscalationStep.incident_id == incident.id)
        .order_by(EscalationStep.due_at, EscalationStep.id)
    )
    return escalation, list(steps)
