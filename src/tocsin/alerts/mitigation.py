"""When every alert of an incident is resolved at its source, the incident is mitigated.

Through the incidents service, so the timeline, the audit log, escalation and the comms
routes follow: an incident still investigating or identified moves to ``monitoring``
(mitigated), and whoever answers for it (the commander, else who acknowledged, else who
was paged) gets a notice asking them to confirm it is resolved. With
``resolve_incident_when_alerts_resolve`` (in ``alerts:`` or on the route of the incident's
first alert) the incident is resolved instead. Two alerts of one incident resolved at once
by two workers cannot both miss the moment: the check runs under a lock on the incident.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.alerts import matching
from tocsin.alerts.models import Alert, Integration
from tocsin.alerts.routing import facts, integration_actor, lock
from tocsin.clock import Clock
from tocsin.escalation.effects import emit
from tocsin.escalation.handlers import responsible
from tocsin.incidents import service as incidents
from tocsin.incidents.lifecycle import OPEN_STATUSES
from tocsin.incidents.models import Incident
from tocsin.policy import service as policies

#: Stages before mitigated: only these move to ``monitoring``.
BEFORE_MITIGATED = ("investigating", "identified")


async def _resolves(session: AsyncSession, incident: Incident) -> bool:
    """Whether the route of the incident's first alert resolves incidents outright."""
    first = await session.scalar(
        select(Alert).where(Alert.incident_id == incident.id).order_by(Alert.id).limit(1)
    )
    integration = await session.get(Integration, first.integration_id) if first else None
    if first is None or integration is None:
        return False
    policy = await policies.current_policy(session)
    return matching.decide(policy, facts(first, integration)).resolve_incident


async def on_resolved(
    session: AsyncSession, alert: Alert, integration: Integration, *, clock: Clock
) -> Incident | None:
    """After ``alert`` was resolved: mitigate (or resolve) its incident if no alert of it
    is open any more. Returns the incident when it changed."""
    if alert.incident_id is None:
        return None
    await lock(session, "tocsin.alerts.incident", str(alert.incident_id))
    still_open = await session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(Alert.incident_id == alert.incident_id, Alert.status != "resolved")
    )
    incident = await session.get(Incident, alert.incident_id, populate_existing=True)
    if still_open or incident is None or incident.status not in OPEN_STATUSES:
        return None
    total = await session.scalar(
        select(func.count()).select_from(Alert).where(Alert.incident_id == incident.id)
    )
    why = f"all {total} alert(s) resolved at their sources"
    actor = integration_actor(integration)
    if await _resolves(session, incident):
        return await incidents.set_status(
            session, actor, incident.ref, "resolved", note=why, clock=clock
        )
    if incident.status not in BEFORE_MITIGATED:
        return None
    await incidents.set_status(session, actor, incident.ref, "monitoring", note=why, clock=clock)
    policy = await policies.current_policy(session)
    target, people = await responsible(session, policy, incident)
    reason = (
        f"{why}; {incident.ref} is marked mitigated. Confirm it is resolved: "
        f"tocsin incident resolve {incident.ref}"
    )
    await emit(session, policy, incident, "reminder", target, people, reason, clock=clock)
    return incident
