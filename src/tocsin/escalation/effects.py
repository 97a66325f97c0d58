"""What the engine does to people: each page, notice, reminder or warning is a timeline
event with the target, who it reached, how and why, and the messages that tell them
(:mod:`tocsin.notify.pages`), queued in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import ENGINE
from tocsin.clock import Clock
from tocsin.escalation.models import EscalationMark
from tocsin.escalation.targets import contact_methods
from tocsin.incidents.models import Incident, IncidentEvent
from tocsin.incidents.timeline import log
from tocsin.notify import pages
from tocsin.policy.schema import Policy

#: The kinds of effect ``tocsin simulate`` reports, besides ``status``.
EFFECT_KINDS = (
    "page",
    "notify",
    "reminder",
    "sla_warning",
    "sla_breach",
    "escalate",
    "assign",
    "task",
)
_VERB = {
    "page": "Paged",
    "notify": "Notified",
    "reminder": "Reminded",
    "sla_warning": "SLA warning to",
    "sla_breach": "SLA breached; told",
    "escalate": "Escalated to",
    "assign": "Assigned",
    "task": "Task for",
}


async def emit(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    kind: str,
    target: str,
    people: Sequence[str],
    reason: str,
    *,
    clock: Clock,
    extra: dict[str, Any] | None = None,
) -> IncidentEvent:
    """Record one effect on the timeline (append-only, in the caller's transaction) and
    queue the pages or notices it sends."""
    via = contact_methods(policy, people) if people and kind != "assign" else []
    reached = ", ".join(people) or "nobody"
    summary = f"{_VERB[kind]} {target} → {reached}" + (f" via {', '.join(via)}" if via else "")
    effect = {"target": target, "resolved_to": list(people), "via": via, "reason": reason}
    event = await log(
        session,
        ENGINE,
        incident,
        kind,
        f"{summary}: {reason}",
        clock=clock,
        after={"effect": effect, **(extra or {})},
        audited=False,
    )
    if kind in pages.PAGE_KINDS:
        from tocsin.incidents import service as incidents  # it runs escalation: imported late

        await incidents.join_paged(session, policy, incident, people, clock=clock)
    await pages.on_effect(
        session, policy, incident, kind, people, reason, clock=clock, cause=f"e{event.id}"
    )
    return event


async def once(session: AsyncSession, incident: Incident, key: str, *, clock: Clock) -> bool:
    """True the first time ``key`` is marked for the incident: the database decides."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(EscalationMark)
        .values(incident_id=incident.id, key=key[:200], at=clock.now())
        .on_conflict_do_nothing()
        .returning(EscalationMark.key)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None
