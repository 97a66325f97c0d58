"""The incident timeline: one event per change, plus an audit row for writes."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit import service as audit
from tocsin.auth.actor import Actor
from tocsin.clock import Clock
from tocsin.incidents.models import Incident, IncidentEvent

_EVENTS = cast(Table, IncidentEvent.__table__)


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
    event = IncidentEvent(
        **_event(actor, incident.id, kind, summary, clock=clock, before=before, after=after)
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


def entry(
    actor: Actor,
    incident_id: int,
    kind: str,
    summary: str,
    *,
    clock: Clock,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A timeline event that is not a write to the incident (no audit row), by the
    incident's id (what the engine reports, a delivery, needs no read of the incident);
    written by :func:`notes`."""
    return _event(actor, incident_id, kind, summary, clock=clock, after=after)


async def notes(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    """Write :func:`entry` events in one Core statement (a fraction of the ORM's CPU;
    a batch of deliveries reports all its outcomes at once)."""
    if entries:
        await (await session.connection()).execute(insert(_EVENTS), entries)


def _event(
    actor: Actor,
    incident_id: int,
    kind: str,
    summary: str,
    *,
    clock: Clock,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if before is not None:
        data["before"] = before
    if after is not None:
        data["after"] = after
    return {
        "incident_id": incident_id,
        "at": clock.now(),
        "actor_id": actor.user_id,
        "actor": actor.label,
        "kind": kind,
        "summary": summary,
        "data": data,
    }
