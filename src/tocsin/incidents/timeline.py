"""The incident timeline: one event per change, plus an audit row for writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit import service as audit
from tocsin.auth.actor import Actor
from tocsin.clock import Clock
from tocsin.incidents.models import Incident, IncidentEvent


async def log(
    session: AsyncSession,
    actor: Actor,
    incident: Incident,
    kind: str,
    summary: str,
    *,
    clock: Clock,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    audited: bool = True,
) -> IncidentEvent:
    """One timeline event and (for writes) one audit row."""
    data: dict[str, Any] = {}
    if before is not None:
        data["before"] = before
    if after is not None:
        data["after"] = after
    event = IncidentEvent(
        incident_id=incident.id,
        at=clock.now(),
        actor_id=actor.user_id,
        actor=actor.label,
        kind=kind,
        summary=summary,
        data=data,
    )
    session.add(event)
    if audited:
        await audit.record(
            session,
            actor,
            f"incident.{kind}",
            "incident",
            incident.ref,
            clock=clock,
            before=before,
            after=after,
        )
    await session.flush()
    return event
